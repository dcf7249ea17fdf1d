"""What a ConnectWise check means for the instance form: which values it looks up, what it
fills in, and the note shown next to each field. No Qt: the window runs `run_check` off the
GUI thread and shows the `FormCheck` it returns.

- The look-up (`GET /login/companyinfo/{company}`) needs the site and the company only; it
  sends nothing secret and runs by itself when the user leaves either field.
- The REST connector's keys and client ID are checked (`GET …/apis/3.0/system/info`) only when
  all of them are filled in, and only at the site typed: where the create would log in.
- The SOAP connectors' password is never sent anywhere by a check.

A check never blocks Create: whatever it finds is information beside the fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.spec.connectors import ConnectorSpec, connector
from core.spec.validation import FieldProblem, host_url

# core.connectwise.check brings requests: loaded by the check itself, on its worker thread, so the
# window's first frame and a field left on the GUI thread never wait for it.
if TYPE_CHECKING:
    from core.connectwise.check import CheckKind, CheckOutcome, CompanyInfo

SERVER_URL = "server_url"  # the SOAP connectors' site
BASE_URL = "base_url"  # the REST connector's API root, which holds the site and the codebase
COMPANY = "company"
WSDL_PATH = "wsdl_path"
REST_KEYS = ("public_key", "private_key", "client_id")
# A REST base URL's path: /{codebase}apis/3.0
_REST_PATH = re.compile(r"^/(?P<codebase>[^/]+/)apis/3\.0/?$")

# Which field each failure (a CheckKind's value) is about: the note goes next to it.
_FIELD_OF_KIND: dict[str, str] = {
    "unknown_company": COMPANY,
    "credentials_refused": "private_key",
    "permission_missing": "public_key",
    "client_id_missing": "client_id",
    "client_id_refused": "client_id",
}


@dataclass(frozen=True)
class Note:
    """A line beside a field. `problem` notes show in the error colour, but never block."""

    text: str
    problem: bool = False


@dataclass(frozen=True)
class Suggestion:
    """A value the check proposes for a field the user typed otherwise."""

    field: str
    value: str

    @property
    def label(self) -> str:
        return f"Use {self.value}"


@dataclass(frozen=True)
class FormCheck:
    """One check's outcome for the form. `asked` is what it was run for: the window drops a
    result whose values the user has changed since."""

    asked: tuple[str, ...]
    kind: CheckKind
    summary: Note
    notes: dict[str, Note] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)  # field → value, into fields left free
    suggestion: Suggestion | None = None
    credentials_checked: bool = False
    # With the keys checked: the look-up's part alone, for a window whose keys were edited
    # while the check ran (what it found about the site and company still stands).
    lookup: FormCheck | None = None


def site_field(spec: ConnectorSpec) -> str | None:
    """The field that holds the ConnectWise site, or None for a connector without one."""
    for name in (SERVER_URL, BASE_URL):
        if spec.has_field(name):
            return name
    return None


def watched_fields(spec: ConnectorSpec) -> tuple[str, ...]:
    """Leaving one of these (changed) starts an automatic check."""
    site = site_field(spec)
    if site is None or not spec.has_field(COMPANY):
        return ()
    keys = REST_KEYS if site == BASE_URL else ()
    return (site, COMPANY, *keys)


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _site_and_codebase(spec: ConnectorSpec, values: Mapping[str, Any]) -> tuple[str, str | None]:
    """The site as typed (no path) and, for a REST base URL with one, its codebase."""
    name = site_field(spec)
    typed = _text(values, name) if name else ""
    if name != BASE_URL or not typed:
        return typed, None
    try:
        parts = urlsplit(typed if "://" in typed else "//" + typed)
    except ValueError:
        return typed, None
    site = f"{parts.scheme}://{parts.netloc}" if parts.scheme else parts.netloc
    if parts.path in ("", "/"):
        return site, None
    match = _REST_PATH.match(parts.path)
    return site, (match.group("codebase") if match else "")


def asked_for(key: str, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The connector, site and company a check of `values` is about (never a secret)."""
    spec = connector(key)
    site, _ = _site_and_codebase(spec, values)
    return (key, site, _text(values, COMPANY))


def can_look_up(key: str, values: Mapping[str, Any]) -> bool:
    """The site and company are there and the site is an address a check can use."""
    spec = connector(key)
    site, _ = _site_and_codebase(spec, values)
    if not site or not _text(values, COMPANY):
        return False
    try:
        host_url(site, "site", required=True)  # as core.connectwise.check.site_root takes it
    except FieldProblem:
        return False
    return True


def can_check_keys(key: str, values: Mapping[str, Any]) -> bool:
    """The REST connector's keys and client ID are all filled in."""
    spec = connector(key)
    return site_field(spec) == BASE_URL and all(_text(values, k) for k in REST_KEYS)


def run_check(
    key: str,
    values: Mapping[str, Any],
    *,
    credentials: bool,
    filled: Mapping[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
) -> FormCheck:
    """Look the company up and, with `credentials` and a REST connector whose keys are all
    filled in, check the keys. `filled` holds the values an earlier check put in fields and
    still shown there: those may be replaced; a value the user typed is only suggested.

    Blocking (up to 15 s per call, two calls at most): the window runs it off the GUI thread.
    Never raises for what ConnectWise answers; every outcome is a `FormCheck`.
    """
    from core.connectwise.check import (
        CheckKind,
        ConnectWiseCheckError,
        check_rest_credentials,
        company_info,
    )

    spec = connector(key)
    credentials = credentials and can_check_keys(key, values)
    asked = asked_for(key, values)
    site_name = site_field(spec)
    site, typed_codebase = _site_and_codebase(spec, values)
    company = _text(values, COMPANY)
    if site_name is None or not site or not company:
        label = spec.field(site_name).label if site_name else "site"
        return FormCheck(
            asked,
            CheckKind.INVALID_INPUT,
            Note(f"Enter the {label} and the Company first; then ConnectWise can be asked.", True),
        )
    extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    try:
        info = company_info(site, company, **extra)
    except ConnectWiseCheckError as exc:
        return _failed(asked, spec, site_name, values, exc.outcome)
    check = _looked_up(asked, spec, site_name, values, info, typed_codebase, filled or {})
    if not credentials:
        return check
    try:
        result = check_rest_credentials(
            site,
            info.codebase,
            company,
            _text(values, "public_key"),
            str(values.get("private_key") or ""),
            _text(values, "client_id"),
            **extra,
        )
    except ConnectWiseCheckError as exc:
        failed = _failed(asked, spec, site_name, values, exc.outcome)
        return FormCheck(
            asked,
            failed.kind,
            failed.summary,
            {**check.notes, **failed.notes},
            check.fills,
            check.suggestion or failed.suggestion,
            credentials_checked=True,
            lookup=check,
        )
    ok = result.outcome
    notes = dict(check.notes)
    notes["client_id"] = Note(ok.message)
    return FormCheck(
        asked, CheckKind.OK, Note(ok.message), notes, check.fills, check.suggestion, True, check
    )


def _sentence(outcome: CheckOutcome) -> str:
    return f"{outcome.message} {outcome.next_step}".strip()


def _failed(
    asked: tuple[str, ...],
    spec: ConnectorSpec,
    site_name: str,
    values: Mapping[str, Any],
    outcome: CheckOutcome,
) -> FormCheck:
    where = _FIELD_OF_KIND.get(outcome.kind.value, site_name)
    if outcome.kind.value == "codebase_retired" and spec.has_field(WSDL_PATH):
        where = WSDL_PATH
    if not spec.has_field(where):
        where = site_name
    note = Note(_sentence(outcome), problem=True)
    label = spec.field(where).label
    suggestion = None
    if outcome.suggested_site:
        typed = _text(values, site_name)
        better = typed.replace(_host_part(typed), _host_part(outcome.suggested_site), 1)
        suggestion = Suggestion(site_name, better)
    return FormCheck(
        asked,
        outcome.kind,
        Note(f"ConnectWise check: see {label}.", problem=True),
        {where: note},
        suggestion=suggestion,
    )


def _looked_up(
    asked: tuple[str, ...],
    spec: ConnectorSpec,
    site_name: str,
    values: Mapping[str, Any],
    info: CompanyInfo,
    typed_codebase: str | None,
    filled: Mapping[str, str],
) -> FormCheck:
    from core.connectwise.check import CheckKind, rest_base_url

    found = info.outcome.message
    version = f" (version {info.version})" if info.version else ""
    notes: dict[str, Note] = {COMPANY: Note(found)}
    fills: dict[str, str] = {}
    suggestion: Suggestion | None = None
    proposal: tuple[str, Note, str | None, Suggestion | None] | None = None
    site_typed = _text(values, site_name)

    def free(name: str) -> bool:
        current = _text(values, name)
        return not current or filled.get(name) == current

    if site_name == SERVER_URL and spec.has_field(WSDL_PATH):
        wanted = info.wsdl_path
        current = _text(values, WSDL_PATH)
        if wanted is None:
            notes[WSDL_PATH] = Note(
                f"ConnectWise's codebase {info.codebase} has no WSDL path of the form "
                "/vYYYY_N/apis/2.0/: leave the field empty or ask your ConnectWise partner.",
                problem=bool(current),
            )
        else:
            proposal = _propose(
                WSDL_PATH,
                "WSDL path",
                wanted,
                info,
                version,
                "Filled in from",
                matches=current == wanted,
                free=free(WSDL_PATH),
            )
    elif site_name == BASE_URL:
        wanted = rest_base_url(_site_and_codebase(spec, values)[0], info.codebase)
        # Keep the scheme-less form a user typed: the base URL is sent as typed.
        if "://" not in site_typed:
            wanted = wanted.split("://", 1)[1]
        proposal = _propose(
            BASE_URL,
            "base URL",
            wanted,
            info,
            version,
            "Completed with",
            matches=typed_codebase == info.codebase,
            free=typed_codebase is None or free(BASE_URL),
        )
    if proposal is not None:
        name, note, fill, suggestion = proposal
        notes[name] = note
        if fill is not None:
            fills[name] = fill
    api_host = _api_host_needed(info, site_typed)
    if api_host is not None and suggestion is None:
        target = fills.get(site_name) or site_typed
        better = target.replace(_host_part(site_typed), _host_part(api_host), 1)
        notes[site_name] = Note(
            f'Hosted ConnectWise answers API calls at "api-" hosts: use {_host_part(api_host)}.',
            problem=True,
        )
        suggestion = Suggestion(site_name, better)
    summary = Note(f"Found on ConnectWise{version}.")
    return FormCheck(asked, CheckKind.OK, summary, notes, fills, suggestion)


def _propose(
    name: str,
    what: str,
    wanted: str,
    info: CompanyInfo,
    version: str,
    verb: str,
    *,
    matches: bool,
    free: bool,
) -> tuple[str, Note, str | None, Suggestion | None]:
    """The note for a field the codebase decides: it matches, it is filled in (the field was
    free), or the right value is offered (the user typed another)."""
    if matches:
        return name, Note(f"Matches ConnectWise's codebase {info.codebase}."), None, None
    if free:
        return name, Note(f"{verb} ConnectWise's codebase {info.codebase}{version}."), wanted, None
    note = Note(
        f"ConnectWise says this company is on {info.codebase}: the {what} would be {wanted}.",
        problem=True,
    )
    return name, note, None, Suggestion(name, wanted)


def _host_part(site: str) -> str:
    return site.split("://", 1)[-1].split("/", 1)[0]


def _api_host_needed(info: CompanyInfo, site_typed: str) -> str | None:
    """The "api-" host of a hosted site typed without it (it answers the look-up, but not the
    API calls Open Connectors makes)."""
    from core.connectwise.check import CLOUD_DOMAINS, api_host_for

    if info.is_cloud is False:
        return None
    host = _host_part(site_typed).lower()
    if not any(host == d or host.endswith("." + d) for d in CLOUD_DOMAINS):
        return None
    return api_host_for(_host_part(site_typed))
