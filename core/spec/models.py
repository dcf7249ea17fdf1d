"""The account and the instance draft: what a user typed, validated, and the body it becomes.

Validation errors are pydantic `ValidationError`s whose messages are our own and whose input
is never echoed (it may be a password). Use `field_errors()` to map them to form fields.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from core.openconnectors.errors import WSDL_MESSAGE_MARK, BadRequestError
from core.openconnectors.hosts import ApiRootError, api_root, host_of
from core.openconnectors.instance import SECRET_MASK
from core.outside_text import marked, name_key
from core.spec import validation as v
from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR, ConnectorSpec, FieldKind, FieldSpec
from core.spec.secret import reveal
from core.storage.accounts import SANDBOX_ACCOUNT

MASK = SECRET_MASK  # how the platform shows a secret; the preview shows it so too
_HIDDEN_INPUT = "<hidden>"  # what pydantic's str() shows instead of the typed value

# Keys of the draft itself, as opposed to the connector's fields.
NAME, TAGS, CONNECTOR = "name", "tags", "connector"


def _problem(name: str, message: str) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("form", "{message}", {"message": message}),
        loc=(name,),
        input=_HIDDEN_INPUT,
    )


def _raise_if(title: str, problems: list[InitErrorDetails]) -> None:
    if problems:
        raise ValidationError.from_exception_data(title, problems)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Map a validation error to ``{field name: message}``; the first message per field wins."""
    result: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        loc = item.get("loc") or ("",)
        result.setdefault(str(loc[0]), str(item["msg"]))
    return result


def _check_value(spec: FieldSpec, raw: Any) -> Any:
    """Validate one field's raw value; returns the value to keep ('' or None when empty)."""
    label = spec.label
    if spec.kind is FieldKind.BOOL:
        return spec.default if raw is None else v.boolean(raw, label)
    if spec.kind is FieldKind.INT:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if spec.required and spec.default is None:
                raise v.FieldProblem(f"{label} is required.")
            return spec.default
        return v.integer(raw, label, minimum=spec.minimum, maximum=spec.maximum)
    raw = reveal(raw)
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise v.FieldProblem(f"{label} must be text.")
    checks: dict[FieldKind, Callable[[], str]] = {
        FieldKind.TEXT: lambda: v.text(raw, label, required=spec.required),
        FieldKind.HOST_URL: lambda: v.host_url(raw, label, required=spec.required),
        FieldKind.URL: lambda: v.site_url(raw, label, required=spec.required),
        FieldKind.CALLBACK_URL: lambda: v.callback_url(raw, label, required=spec.required),
        FieldKind.WSDL_PATH: lambda: v.wsdl_path(raw, label, required=spec.required),
        FieldKind.SECRET: lambda: v.secret(
            raw, label, required=spec.required, min_length=spec.min_length
        ),
    }
    return checks[spec.kind]()


class InstanceDraft(BaseModel):
    """A connector instance the user wants created.

    Built from keyword arguments named after the connector's fields::

        InstanceDraft(connector="connectwisehd", name="Acme", tags=["prod"],
                      server_url="https://api-na.myconnectwise.net", company="acme",
                      username="api1", password="...")

    Field values are readable as attributes (``draft.server_url``); secrets come back as
    ``SecretStr``.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    connector: str = DEFAULT_CONNECTOR
    name: str
    tags: tuple[str, ...] = ()
    # Filled in by the validator from the field keywords: callers never pass it themselves.
    values: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _validate_form(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError("form", "A draft is built from named values.")
        raw = dict(data)
        given_values = raw.pop("values", None) or {}
        raw = {**dict(given_values), **raw}
        problems: list[InitErrorDetails] = []

        key = raw.pop(CONNECTOR, None) or DEFAULT_CONNECTOR
        spec = CONNECTORS.get(str(key))
        if spec is None:
            _raise_if(
                "InstanceDraft", [_problem(CONNECTOR, "Choose one of the listed connectors.")]
            )
            return data  # unreachable, keeps type checkers calm
        name = ""
        try:
            raw_name = raw.pop(NAME, None)
            if raw_name is not None and not isinstance(raw_name, str):
                raise v.FieldProblem("Name must be text.")
            name = v.instance_name(raw_name or "")
        except v.FieldProblem as exc:
            problems.append(_problem(NAME, str(exc)))
        tags: tuple[str, ...] = ()
        try:
            raw_tags = raw.pop(TAGS, None) or ()
            tags = v.tags(raw_tags if isinstance(raw_tags, str | list | tuple) else [raw_tags])
        except v.FieldProblem as exc:
            problems.append(_problem(TAGS, str(exc)))

        unknown = sorted(n for n in raw if not spec.has_field(n))
        for name_ in unknown:
            problems.append(_problem(name_, f"{spec.label} has no field called {name_}."))

        values: dict[str, Any] = {}
        for fs in spec.fields:
            if fs.enabled_by and not values.get(fs.enabled_by):
                continue  # e.g. the callback URL while events are off: neither checked nor sent
            try:
                value = _check_value(fs, raw.get(fs.name))
            except v.FieldProblem as exc:
                problems.append(_problem(fs.name, str(exc)))
                continue
            if fs.kind is FieldKind.SECRET and value:
                value = SecretStr(value)
            values[fs.name] = value
        _raise_if("InstanceDraft", problems)
        return {CONNECTOR: spec.key, NAME: name, TAGS: tags, "values": values}

    def __getattr__(self, item: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and item in values:
            return values[item]
        return super().__getattr__(item)  # type: ignore[misc]

    @property
    def spec(self) -> ConnectorSpec:
        return CONNECTORS[self.connector]

    def configuration(self, *, mask_secrets: bool = False) -> dict[str, Any]:
        """The body's ``configuration``: only what is set and differs from the server default."""
        config: dict[str, Any] = {}
        for fs in self.spec.fields:
            if fs.name not in self.values:
                continue
            value = self.values[fs.name]
            if value is None or value == "":
                continue
            if fs.kind is FieldKind.BOOL and value == fs.default and not fs.send_default:
                continue  # the server's documented default: leaving it out keeps bodies minimal
            if isinstance(value, SecretStr):
                value = MASK if mask_secrets else reveal(value)
            config[fs.config_key] = value
        return config

    def request_body(self, *, mask_secrets: bool = False) -> dict[str, Any]:
        """Exactly the JSON body of ``POST /instances``."""
        body: dict[str, Any] = {
            "element": {"key": self.connector},
            "configuration": self.configuration(mask_secrets=mask_secrets),
        }
        if self.tags:
            body["tags"] = list(self.tags)
        body["name"] = self.name
        return body

    def reauthenticate_body(
        self, *, remove: Collection[str] = (), mask_secrets: bool = False
    ) -> dict[str, Any]:
        """The body of ``PUT /instances/{id}``: the create's body, in which an optional secret
        left empty is left out (the platform keeps the one it holds: README, re-authenticate)
        and each secret named in `remove` is sent empty, which removes it."""
        body = self.request_body(mask_secrets=mask_secrets)
        for name in self.removals(remove):
            body["configuration"][self.spec.field(name).config_key] = ""
        return body

    def removals(self, remove: Collection[str]) -> tuple[str, ...]:
        """`remove`, checked: each an optional secret of the connector this draft leaves empty
        (ValueError names the field otherwise, never a value)."""
        optional = {f.name for f in optional_secrets(self.spec)}
        for name in remove:
            if name not in optional:
                raise ValueError(f"{self.spec.label} has no optional secret called {name}.")
            if self.values.get(name):
                label = self.spec.field(name).label
                raise ValueError(f"{label} cannot be both typed and removed.")
        return tuple(f.name for f in self.spec.fields if f.name in set(remove))

    def kept_secrets(self, held: Collection[str], remove: Collection[str] = ()) -> tuple[str, ...]:
        """The optional secrets of `held` (those the platform holds) this draft leaves out of a
        re-authentication: the platform keeps them."""
        gone = set(remove)
        return tuple(
            f.name
            for f in optional_secrets(self.spec)
            if f.name in held and not self.values.get(f.name) and f.name not in gone
        )

    def secret_values(self) -> list[str]:
        """Every secret in the draft, so callers can make sure none leaks anywhere."""
        return [reveal(x) for x in self.values.values() if isinstance(x, SecretStr)]


def optional_secrets(spec: ConnectorSpec) -> tuple[FieldSpec, ...]:
    """The secrets a connector can do without (the webhook signature key): left empty in a
    re-authentication, the platform keeps what it holds."""
    return tuple(f for f in spec.fields if f.is_secret and not f.required)


def held_secrets(
    connector_key: str, configuration: Mapping[str, Any] | Iterable[tuple[str, Any]]
) -> frozenset[str]:
    """The optional secrets the platform holds for an instance, by field name: those its
    configuration (``config key → value``, as read back: masked) shows with a value."""
    spec = CONNECTORS.get(connector_key)
    if spec is None:
        return frozenset()
    config = dict(configuration.items() if isinstance(configuration, Mapping) else configuration)
    return frozenset(
        f.name for f in optional_secrets(spec) if config.get(f.config_key) not in (None, "")
    )


def problem_field(connector_key: str, error: BaseException) -> str | None:
    """The field a refusal is about, to show it beside that field: the WSDL path when the
    platform names it, else the connector's first required secret when ConnectWise refused
    the login (a 400 carrying ConnectWise's own words). None when it is about no one field."""
    spec = CONNECTORS.get(connector_key)
    if spec is None or not isinstance(error, BadRequestError):
        return None
    text = f"{error.message} {error.provider_message or ''}".lower()
    if WSDL_MESSAGE_MARK in text and spec.has_field("wsdl_path"):
        return "wsdl_path"
    if error.provider_message:
        return next((f.name for f in spec.fields if f.is_secret and f.required), None)
    return None


def field_hints(connector_key: str, raw: Mapping[str, Any]) -> dict[str, str]:
    """Advice that is not an error: a server address without "api-", a name or tags with
    HTML tags in them (Open Connectors stores them without: the hint says what it will store)."""
    spec = CONNECTORS.get(connector_key)
    hints: dict[str, str] = {}
    for key, what in ((NAME, "instance names"), (TAGS, "tags")):
        text = raw.get(key)
        if isinstance(text, list | tuple):
            text = ", ".join(t for t in text if isinstance(t, str))
        if isinstance(text, str) and (warning := v.markup_warning(text, what)):
            hints[key] = warning
    if spec is None:
        return hints
    for fs in spec.fields:
        value = raw.get(fs.name)
        if fs.kind is FieldKind.HOST_URL and isinstance(value, str):
            hint = v.host_url_hint(value)
            if hint:
                hints[fs.name] = hint
        if fs.kind is FieldKind.WSDL_PATH and isinstance(value, str) and v.is_address(value):
            with contextlib.suppress(v.FieldProblem):  # if so, the error says what is wrong
                hints[fs.name] = f"Path taken from the address: {v.wsdl_path(value)}"
    return hints


def normalized_text(connector_key: str, name: str, text: str) -> str | None:
    """What a field should show once the user leaves it, when that differs from what was
    typed: a WSDL path in its full shape (``v2017_3/apis/2.0`` → ``/v2017_3/apis/2.0/``), a
    pasted ConnectWise address turned into its path, a site on this machine typed without a
    scheme with the ``http://`` it is reached by. None when the text stays as it is (already
    normal, or wrong: the field's message says why)."""
    spec = CONNECTORS.get(connector_key)
    if spec is None or not spec.has_field(name):
        return None
    fs = spec.field(name)
    try:
        if fs.kind is FieldKind.WSDL_PATH:
            normal = v.wsdl_path(text, fs.label, required=False)
        elif fs.kind is FieldKind.HOST_URL and "://" not in text:
            normal = v.host_url(text, fs.label, required=False)
            normal = normal if "://" in normal else ""  # a remote host stays as typed
        else:
            return None
    except v.FieldProblem:
        return None
    return normal if normal and normal != text else None


def form_values_from(
    connector_key: str,
    *,
    name: str,
    tags: Iterable[str] = (),
    configuration: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
    known: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The form's values for an existing instance (re-authenticate it, or make another like
    it): its name and tags, and each non-secret field from the platform's configuration
    (``config key → value``), else from `known` (what this app remembers, by field name).
    Secrets are never filled in: the platform sends them masked, and they must be typed."""
    spec = CONNECTORS.get(connector_key)
    values: dict[str, Any] = {CONNECTOR: connector_key, NAME: name, TAGS: list(tags)}
    if spec is None:
        return values
    config = dict(configuration.items() if isinstance(configuration, Mapping) else configuration)
    for fs in spec.fields:
        if fs.is_secret:
            continue
        raw = config.get(fs.config_key)
        if raw is None or raw == SECRET_MASK:
            raw = (known or {}).get(fs.name)
        value = _form_value(fs, raw)
        if value is not None:
            values[fs.name] = value
    return values


def _form_value(fs: FieldSpec, raw: Any) -> Any:
    """A configuration value (the platform sends text) as the form's input takes it."""
    if raw is None:
        return None
    if fs.kind is FieldKind.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        return True if text == "true" else (False if text == "false" else None)
    if fs.kind is FieldKind.INT:
        try:
            return int(str(raw).strip())
        except ValueError:
            return None
    return str(raw)


@dataclass(frozen=True)
class DraftCheck:
    """The outcome of checking a whole form at once."""

    draft: InstanceDraft | None
    errors: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.draft is not None


def account_problems(draft: InstanceDraft, account: Account) -> dict[str, str]:
    """What keeps a valid draft from working on that account, by field: a callback URL on
    this machine cannot be reached by Open Connectors' servers (only by the local sandbox)."""
    problems: dict[str, str] = {}
    for fs in draft.spec.fields:
        value = draft.values.get(fs.name)
        if fs.kind is FieldKind.CALLBACK_URL and isinstance(value, str):
            try:
                v.reachable_callback(value, fs.label, api_root=account.api_root)
            except v.FieldProblem as exc:
                problems[fs.name] = str(exc)
    return problems


def check_draft(raw: Mapping[str, Any], *, account: Account | None = None) -> DraftCheck:
    """Validate form values; never raises for bad input. With the account the draft is for,
    also what only that account rules out (see `account_problems`)."""
    key = str(raw.get(CONNECTOR) or DEFAULT_CONNECTOR)
    hints = field_hints(key, raw)
    try:
        draft = InstanceDraft(**{str(k): val for k, val in raw.items()})
    except ValidationError as exc:
        return DraftCheck(None, field_errors(exc), hints)
    problems = account_problems(draft, account) if account is not None else {}
    return DraftCheck(None, problems, hints) if problems else DraftCheck(draft, {}, hints)


MAX_ACCOUNT_SECRET_LENGTH = 512
# What an HTTP header value can carry as one word of "User <secret>, Organization <secret>":
# visible ASCII (RFC 9110 field-vchar without obs-text) minus the comma that separates the parts.
_SECRET_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {","}


def account_secret(value: Any, label: str) -> str:
    """An account secret as it travels in the Authorization header, or `FieldProblem`.

    Surrounding whitespace (a file's trailing newline, a pasted space) is stripped; what is
    left must be visible ASCII without commas: a space, comma or line break would add parts to
    the header (", Element x"), and a character such as "€" or "”" cannot be sent in it at
    all. The message names the secret (`label`), never its value.
    """
    text = reveal(value)
    if not isinstance(text, str) or not text.strip():
        raise v.FieldProblem(f"{label} is required.")
    text = text.strip()
    if len(text) > MAX_ACCOUNT_SECRET_LENGTH:
        raise v.FieldProblem(f"{label} is too long.")
    if "\x00" in text:
        raise v.FieldProblem(f"{label} must not contain a NUL character (\\0).")
    if any(c.isspace() or c == "," for c in text):
        raise v.FieldProblem(f"{label} must not contain spaces, commas or line breaks.")
    if not _SECRET_CHARS.issuperset(text):
        raise v.FieldProblem(
            f"{label} must contain only ASCII letters, digits and punctuation "
            "(no accented letters, typographic quotes or signs such as the euro)."
        )
    return text


def account_name_problem(name: str, taken: Iterable[str]) -> str | None:
    """Why `name` cannot name a new account, or None: it is the built-in sandbox's, or an
    account in `taken` has it. The same name by `name_key` (case, Unicode normalisation and
    spaces aside), the one same-name rule: "Production" and "production" would be two
    accounts a person cannot tell apart in a list."""
    wanted = name_key(name)
    if wanted == name_key(SANDBOX_ACCOUNT):
        return f"“{SANDBOX_ACCOUNT}” is the built-in sandbox: choose another name."
    for other in taken:
        if name_key(other) == wanted:
            return f"An account is already named “{marked(other)}”: choose another name."
    return None


# A name to file records and password-manager entries under: like a host name, no port.
_FILES_AS = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")


class Account(BaseModel):
    """An Open Connectors account: where to call and with which secrets."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    name: str = ""  # optional: an account without a name is named after its host
    api_root: str
    user_secret: SecretStr
    organization_secret: SecretStr
    # The name its records and tokens are filed under when not its host: the local sandbox's,
    # which stays when its port changes (`core.sandbox.home.files_as`).
    files_as: str = ""

    @model_validator(mode="before")
    @classmethod
    def _validate_form(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError("form", "An account is built from named values.")
        raw = dict(data)
        problems: list[InitErrorDetails] = []
        out: dict[str, Any] = {}
        root_text = raw.get("api_root") or raw.get("host") or ""
        try:
            out["api_root"] = api_root(str(root_text))
        except ApiRootError as exc:
            problems.append(_problem("host", str(exc)))
        try:
            out["name"] = v.name(
                str(raw.get("name") or ""),
                "Account name",
                required=False,
                max_length=v.MAX_TEXT_LENGTH,
            )
        except v.FieldProblem as exc:
            problems.append(_problem("name", str(exc)))
        for key, label in (
            ("user_secret", "User secret"),
            ("organization_secret", "Organization secret"),
        ):
            try:
                out[key] = SecretStr(account_secret(raw.get(key), label))
            except v.FieldProblem as exc:
                problems.append(_problem(key, str(exc)))
        files_as = str(raw.get("files_as") or "").strip().lower()
        if files_as and not _FILES_AS.match(files_as):
            problems.append(_problem("files_as", "Not a name to file records under."))
        out["files_as"] = files_as
        _raise_if("Account", problems)
        if not out["name"]:
            out["name"] = host_of(out["api_root"])
        return out

    @property
    def host(self) -> str:
        return host_of(self.api_root)

    @property
    def storage_host(self) -> str:
        """What its instances' records and tokens are filed under: its host, or `files_as`."""
        return self.files_as or self.host
