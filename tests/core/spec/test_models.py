"""The draft and account models: what the user is told for each good and bad value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from core.openconnectors.hosts import ApiRootError, api_root
from core.spec.connectors import CONNECTORS
from core.spec.models import (
    Account,
    InstanceDraft,
    account_name_problem,
    check_draft,
    field_errors,
    field_hints,
    form_values_from,
    normalized_text,
)
from tests.seed import SEED_BODY, SEED_VALUES

SEED: dict[str, Any] = SEED_VALUES


def errors_for(**changes: Any) -> dict[str, str]:
    return check_draft({**SEED, **changes}).errors


def test_seed_values_make_the_seed_body() -> None:
    assert InstanceDraft(**SEED).request_body() == SEED_BODY


def test_masked_body_hides_every_secret() -> None:
    body = InstanceDraft(**SEED).request_body(mask_secrets=True)
    config = body["configuration"]
    assert config["helpdesk.connectwise.password"] == "********"
    assert config["event.notification.signature.key"] == "********"
    assert config["helpdesk.connectwise.username"] == "xxxxxxxx"


def test_defaults_filter_nulls_on_events_off() -> None:
    draft = InstanceDraft(
        name="Minimal",
        server_url="api-na.myconnectwise.net",
        company="acme",
        username="u",
        password="p",
    )
    assert draft.filter_nulls is True
    assert draft.events_enabled is False
    assert draft.request_body() == {
        "element": {"key": "connectwisehd"},
        "configuration": {
            "helpdesk.connectwise.server.url": "api-na.myconnectwise.net",
            "helpdesk.connectwise.company": "acme",
            "helpdesk.connectwise.username": "u",
            "helpdesk.connectwise.password": "p",
        },
        "name": "Minimal",
    }


def test_filter_nulls_off_is_sent_as_json_false() -> None:
    body = InstanceDraft(**{**SEED, "filter_nulls": False}).request_body()
    assert body["configuration"]["filter.response.nulls"] is False


def test_events_off_drops_callback_and_key_even_if_typed() -> None:
    body = InstanceDraft(
        **{**SEED, "events_enabled": False, "callback_url": "not a url"}
    ).request_body()
    assert "event.notification.callback.url" not in body["configuration"]
    assert "event.notification.signature.key" not in body["configuration"]
    assert "event.notification.enabled" not in body["configuration"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Name is required."),
        ("name", "   ", "Name is required."),
        ("name", "x" * 256, "Name must be at most 255 characters."),
        ("name", "two\nlines", "Name must not contain control characters or line breaks."),
        ("tags", ["a", " "], "Tags must not be empty: remove the extra comma."),
        ("tags", "a,,b", "Tags must not be empty: remove the extra comma."),
        ("tags", ["prod", "Prod"], 'The tag "Prod" is listed twice.'),
        ("server_url", "", "Server URL is required."),
        ("server_url", "api na.example.com", "Server URL must not contain spaces."),
        (
            "server_url",
            "https://api-na.example.com/v4_6_release",
            "Server URL must be just the site address, without a path.",
        ),
        (
            "server_url",
            "ftp://api-na.example.com",
            "Server URL must start with https://, http:// or the host name.",
        ),
        (
            "server_url",
            "https://user:pw@api-na.example.com",
            "Server URL must not contain a user name or password.",
        ),
        (
            "server_url",
            "https://-bad-.example.com",
            "Server URL must be a host name such as api-na.myconnectwise.net.",
        ),
        ("company", "", "Company is required."),
        ("username", "  ", "Username is required."),
        ("password", "", "Password is required."),
        (
            "wsdl_path",
            "v2017_2/apis",
            "WSDL path must look like /v2017_2/apis/2.0/, with your version.",
        ),
        (
            "wsdl_path",
            "v2017_3apis2.0",
            "WSDL path must look like /v2017_2/apis/2.0/, with your version.",
        ),
        (
            "wsdl_path",
            "apis/2.0",
            "WSDL path must look like /v2017_2/apis/2.0/, with your version.",
        ),
        (
            "wsdl_path",
            "//v2017_3//apis/2.0/",
            "WSDL path must look like /v2017_2/apis/2.0/, with your version.",
        ),
        (
            "wsdl_path",
            "v2019_4/apis/3.0",
            "WSDL path must look like /v2017_2/apis/2.0/: the SOAP connectors use apis/2.0 "
            "(apis/3.0 is ConnectWise's REST API).",
        ),
        (
            "server_url",
            "javascript:alert(1)",
            "Server URL must start with https://, http:// or the host name.",
        ),
        ("server_url", "ftp://x", "Server URL must start with https://, http:// or the host name."),
        (
            "server_url",
            "mailto:me@example.com",
            "Server URL must start with https://, http:// or the host name.",
        ),
        ("server_url", "api-na.example.com:http", "Server URL has an invalid port."),
        ("callback_url", "javascript:alert(1)", "Callback URL must start with https://."),
        (
            "wsdl_path",
            "https://my.connectwise.com/ConnectWise.aspx",
            "WSDL path: that address has no version folder such as /v2017_2/. Paste the address ConnectWise shows right after you log in.",
        ),
        ("callback_url", "", "Callback URL is required."),
        ("callback_url", "mycoolapp.com/events", "Callback URL must start with https://."),
        (
            "callback_url",
            "http://mycoolapp.com/events",
            "Callback URL must use https:// (http:// only for this machine).",
        ),
        (
            "callback_url",
            "https://u:p@mycoolapp.com/events",
            "Callback URL must not contain a user name or password.",
        ),
        ("signature_key", "short", "Signature key must be at least 16 characters."),
        ("events_enabled", "maybe", "Enable events must be on or off."),
    ],
)
def test_bad_values_get_our_message_on_their_field(field: str, value: Any, message: str) -> None:
    assert errors_for(**{field: value}) == {field: message}


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("name", "  Acme prod  ", "Acme prod"),
        ("tags", " a , b ", ("a", "b")),
        ("tags", "", ()),
        ("server_url", "api-na.myconnectwise.net", "api-na.myconnectwise.net"),
        ("server_url", "https://api-na.myconnectwise.net/", "https://api-na.myconnectwise.net"),
        (
            "server_url",
            "https://api-eu.myconnectwise.net:8443",
            "https://api-eu.myconnectwise.net:8443",
        ),
        ("wsdl_path", "/v2017_2/apis/2.0/", "/v2017_2/apis/2.0/"),
        ("wsdl_path", "v2017_3/apis/2.0", "/v2017_3/apis/2.0/"),
        ("wsdl_path", "/v2017_3/apis/2.0", "/v2017_3/apis/2.0/"),
        ("wsdl_path", "V2017_3/APIS/2.0/", "/v2017_3/apis/2.0/"),
        ("wsdl_path", "v2017_3", "/v2017_3/apis/2.0/"),
        ("wsdl_path", "/v4_6_release/apis/2.0/", "/v4_6_release/apis/2.0/"),
        (
            "wsdl_path",
            "https://na.myconnectwise.net/v4_6_release/services/system_io/router/"
            "openrecord.rails?recordType=ServiceFv&recid=42",
            "/v4_6_release/apis/2.0/",
        ),
        ("wsdl_path", "https://api-na.myconnectwise.net/v2017_3/apis/2.0/", "/v2017_3/apis/2.0/"),
        (
            "wsdl_path",
            "https://my.connectwise.com/v2017_2/ConnectWise.aspx?locale=en_US&session=abc",
            "/v2017_2/apis/2.0/",
        ),
        ("callback_url", "http://127.0.0.1:8765/events", "http://127.0.0.1:8765/events"),
        ("callback_url", "http://localhost/events", "http://localhost/events"),
        ("signature_key", "", ""),
    ],
)
def test_good_values_are_normalised(field: str, value: Any, kept: Any) -> None:
    result = check_draft({**SEED, field: value})
    assert result.errors == {}
    assert result.draft is not None
    got = (
        result.draft.name
        if field == "name"
        else result.draft.tags
        if field == "tags"
        else getattr(result.draft, field)
    )
    assert got == kept


def test_pasted_login_address_is_sent_as_the_path() -> None:
    pasted = "https://na.myconnectwise.net/v2019_4/ConnectWise.aspx?locale=en_US&session=xyz"
    body = InstanceDraft(**{**SEED, "wsdl_path": pasted}).request_body()
    assert body["configuration"]["helpdesk.connectwise.wsdl.path"] == "/v2019_4/apis/2.0/"
    hints = check_draft({**SEED, "wsdl_path": pasted}).hints
    assert hints["wsdl_path"] == "Path taken from the address: /v2019_4/apis/2.0/"


def test_server_url_without_api_prefix_is_a_hint_not_an_error() -> None:
    result = check_draft({**SEED, "server_url": "na.myconnectwise.net"})
    assert result.ok
    assert "api-" in result.hints["server_url"]
    assert "server_url" not in field_hints("connectwisehd", SEED)


def test_every_problem_is_reported_at_once() -> None:
    errors = check_draft({"connector": "connectwisehd", "events_enabled": True}).errors
    assert set(errors) == {"name", "server_url", "company", "username", "password", "callback_url"}


def test_unknown_field_and_connector_are_named() -> None:
    assert errors_for(colour="blue") == {
        "colour": "ConnectWise Help Desk (SOAP) has no field called colour."
    }
    assert errors_for(connector="salesforce") == {
        "connector": "Choose one of the listed connectors."
    }


def test_rest_connector_fields_and_polling_interval() -> None:
    draft = InstanceDraft(
        connector="connectwisecrmrest",
        name="REST",
        base_url="https://api-na.myconnectwise.net",
        company="acme",
        public_key="pub",
        private_key="priv",
        client_id="cid",
        events_enabled=True,
        callback_url="https://example.com/hook",
    )
    assert draft.request_body()["configuration"] == {
        "baseUrl": "https://api-na.myconnectwise.net",
        "company": "acme",
        "public.key": "pub",
        "private.key": "priv",
        "connectwise.clientID": "cid",
        "event.notification.enabled": True,
        "event.notification.callback.url": "https://example.com/hook",
        "event.poller.refresh_interval": 15,
    }
    errors = check_draft({"connector": "connectwisecrmrest", "name": "x", "server_url": "a"}).errors
    assert errors["server_url"] == "ConnectWise CRM (REST) has no field called server_url."
    assert errors["client_id"] == "Client ID is required."


def test_secrets_never_show_in_repr_str_or_errors() -> None:
    sentinel = "SENTINEL-PW-98765"
    draft = InstanceDraft(**{**SEED, "password": sentinel, "signature_key": sentinel + "-SIG"})
    assert isinstance(draft.password, SecretStr)
    assert sentinel not in repr(draft) and sentinel not in str(draft)
    assert draft.secret_values() == [sentinel, sentinel + "-SIG"]
    with pytest.raises(ValidationError) as info:
        InstanceDraft(
            **{**SEED, "password": sentinel, "signature_key": "x" + sentinel[:5], "name": ""}
        )
    assert sentinel[:5] not in str(info.value)
    assert sentinel not in repr(info.value.errors())
    assert (
        field_errors(info.value)["signature_key"] == "Signature key must be at least 16 characters."
    )


def test_account_forms_the_api_root_and_checks_secrets() -> None:
    account = Account(
        api_root="api.openconnectors.us2.ext.hana.ondemand.com",
        user_secret="u1",
        organization_secret="o1",
    )
    assert (
        account.api_root == "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2"
    )
    assert account.name == "api.openconnectors.us2.ext.hana.ondemand.com"
    local = Account(
        api_root="http://127.0.0.1:8080/elements/api-v2",
        user_secret="u",
        organization_secret="o",
        name="Sandbox",
    )
    assert local.api_root == "http://127.0.0.1:8080/elements/api-v2"
    with pytest.raises(ValidationError) as info:
        Account(api_root="http://example.com", user_secret="has space", organization_secret="")
    assert field_errors(info.value) == {
        "host": "Plain http:// is only allowed for this machine; use https://.",
        "user_secret": "User secret must not contain spaces, commas or line breaks.",
        "organization_secret": "Organization secret is required.",
    }
    assert "has space" not in str(info.value)


FIELD_NAMES = sorted(
    {f.name for spec in CONNECTORS.values() for f in spec.fields} | {"name", "tags"}
)


@settings(max_examples=300)
@given(
    connector=st.sampled_from(sorted(CONNECTORS)),
    values=st.dictionaries(
        st.sampled_from(FIELD_NAMES),
        st.one_of(
            st.text(), st.booleans(), st.integers(), st.none(), st.lists(st.text(), max_size=4)
        ),
    ),
)
def test_any_input_gives_a_draft_or_our_messages(connector: str, values: dict[str, Any]) -> None:
    result = check_draft({"connector": connector, **values})
    if result.draft is None:
        assert result.errors
        assert all(isinstance(m, str) and m.endswith((".", "in.")) for m in result.errors.values())
    else:
        body = result.draft.request_body()
        assert body["element"]["key"] == connector


BAD = "SENTINEL-ACCOUNT-3"
NOT_ASCII = (
    "must contain only ASCII letters, digits and punctuation "
    "(no accented letters, typographic quotes or signs such as the euro)."
)
SPLITS_THE_HEADER = "must not contain spaces, commas or line breaks."


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (f"{BAD}€", NOT_ASCII),
        (f"{BAD}”", NOT_ASCII),
        (f"{BAD}é", NOT_ASCII),
        (f"{BAD}\x00", "must not contain a NUL character (\\0)."),
        (f"{BAD}\x7f", NOT_ASCII),
        (f"{BAD}\nmore", SPLITS_THE_HEADER),
        (f"{BAD},more", SPLITS_THE_HEADER),
        (f"{BAD}, Element x", SPLITS_THE_HEADER),
        (f"{BAD}\u00a0more", SPLITS_THE_HEADER),  # a no-break space is a space too
    ],
    ids=["euro", "curly-quote", "accented", "nul", "delete", "newline", "comma", "element", "nbsp"],
)
def test_account_secrets_must_fit_in_the_authorization_header(secret: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        Account(api_root="api.example.com", user_secret=secret, organization_secret=secret)

    assert field_errors(info.value) == {
        "user_secret": f"User secret {problem}",
        "organization_secret": f"Organization secret {problem}",
    }
    shown = str(info.value) + repr(info.value) + repr(info.value.errors()) + repr(info.value.args)
    assert BAD not in shown


def test_account_secrets_lose_the_newline_of_the_file_they_came_from() -> None:
    account = Account(
        api_root="api.example.com", user_secret="u-1\n", organization_secret="\t o-2\r\n"
    )
    assert account.user_secret.get_secret_value() == "u-1"
    assert account.organization_secret.get_secret_value() == "o-2"


# --- what only the account rules out, and what a field shows once left ------------------------

LOCAL = Account(
    api_root="http://127.0.0.1:8080/elements/api-v2", user_secret="u", organization_secret="o"
)
REMOTE = Account(
    api_root="api.openconnectors.us2.ext.hana.ondemand.com",
    user_secret="u",
    organization_secret="o",
)
UNREACHABLE = (
    "Callback URL: Open Connectors cannot reach this machine; use the sandbox or a public URL."
)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8765/events",
        "http://127.0.0.1/events",
        "https://127.1.2.3/e",
        "http://[::1]:9/e",
    ],
)
def test_a_callback_on_this_machine_needs_an_account_on_this_machine(url: str) -> None:
    values = {**SEED, "events_enabled": True, "callback_url": url}
    assert check_draft(values).ok  # without an account, only the URL itself is checked
    assert check_draft(values, account=LOCAL).ok  # the sandbox reaches it
    remote = check_draft(values, account=REMOTE)
    assert not remote.ok
    assert remote.errors == {"callback_url": UNREACHABLE}


def test_a_public_callback_is_fine_on_any_account() -> None:
    values = {**SEED, "events_enabled": True, "callback_url": "https://hooks.example.com/e"}
    assert check_draft(values, account=REMOTE).ok
    # With events off the callback URL is neither checked nor sent.
    off = {**SEED, "events_enabled": False, "callback_url": "http://localhost/e"}
    assert check_draft(off, account=REMOTE).ok


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("v2017_3/apis/2.0", "/v2017_3/apis/2.0/"),
        ("v2017_3", "/v2017_3/apis/2.0/"),
        (
            "https://na.myconnectwise.net/v4_6_release/services/system_io/router/openrecord.rails?x=1",
            "/v4_6_release/apis/2.0/",
        ),
        ("https://api-na.myconnectwise.net/v2017_3/apis/2.0/", "/v2017_3/apis/2.0/"),
        ("/v2017_3/apis/2.0/", None),  # already as sent
        ("v2017_3apis2.0", None),  # wrong: the message says why, the text stays
        ("", None),
    ],
)
def test_what_the_wsdl_path_field_shows_once_left(typed: str, shown: str | None) -> None:
    assert normalized_text("connectwisehd", "wsdl_path", typed) == shown
    assert normalized_text("connectwisecrm", "wsdl_path", typed) == shown


def test_other_fields_are_left_as_typed() -> None:
    assert normalized_text("connectwisehd", "server_url", "https://api-na.example.com/") is None
    # The REST connector has no WSDL path: its base URL is sent as typed.
    assert normalized_text("connectwisecrmrest", "base_url", "v2017_3") is None
    assert normalized_text("connectwisecrmrest", "wsdl_path", "v2017_3") is None


@pytest.mark.parametrize("text", ["javascript:alert(1)", "ftp://api.example.com", "file:///etc"])
def test_an_account_address_with_another_scheme_says_so(text: str) -> None:
    with pytest.raises(ApiRootError) as raised:
        api_root(text)
    assert str(raised.value) == "Use an https:// address or a host name."


def test_form_values_from_an_instance_fill_every_non_secret_field_and_no_secret() -> None:
    configuration = {
        "helpdesk.connectwise.server.url": "https://api-na.myconnectwise.net",
        "helpdesk.connectwise.company": "acme",
        "helpdesk.connectwise.username": "integrator",
        "helpdesk.connectwise.password": "********",  # masked, as the platform sends it
        "event.notification.enabled": "true",
        "event.notification.signature.key": "sent-in-clear-by-mistake",
        "filter.response.nulls": "false",
    }
    values = form_values_from(
        "connectwisehd",
        name="Acme (copy)",
        tags=("acme",),
        configuration=configuration,
        known={"callback_url": "https://hooks.example.com/events"},
    )
    assert values == {
        "connector": "connectwisehd",
        "name": "Acme (copy)",
        "tags": ["acme"],
        "server_url": "https://api-na.myconnectwise.net",
        "company": "acme",
        "username": "integrator",
        "events_enabled": True,
        "filter_nulls": False,
        "callback_url": "https://hooks.example.com/events",  # not in the configuration: known
    }
    # What the form then makes of it: the password (a secret) is still needed.
    assert set(check_draft(values).errors) == {"password"}


def test_form_values_from_an_unknown_connector_are_its_name_and_tags() -> None:
    assert form_values_from("other", name="X", configuration=[("a.b", "c")]) == {
        "connector": "other",
        "name": "X",
        "tags": [],
    }


# --- hosts and names a person can tell apart ---------------------------------------------------

LOOK_ALIKE_HOST = "api.openconnectors.us2.ext.h\u0430na.ondemand.com"  # Cyrillic а
LOOK_ALIKE_PUNYCODE = "api.openconnectors.us2.ext.xn--hna-6cd.ondemand.com"


def test_an_account_host_with_a_look_alike_letter_is_refused_with_its_punycode_beside() -> None:
    for typed in (LOOK_ALIKE_HOST, f"https://{LOOK_ALIKE_HOST}/elements/api-v2"):
        with pytest.raises(ValidationError) as info:
            Account(api_root=typed, user_secret="u", organization_secret="o")
        message = field_errors(info.value)["host"]
        assert message.startswith("The host has letters outside ASCII")
        assert "“а” (U+0430 CYRILLIC SMALL LETTER A)" in message
        assert f"Its real address is {LOOK_ALIKE_PUNYCODE}" in message
    typed_as_punycode = Account(
        api_root=LOOK_ALIKE_PUNYCODE, user_secret="u", organization_secret="o"
    )
    assert typed_as_punycode.host == LOOK_ALIKE_PUNYCODE  # shown as what it is


@pytest.mark.parametrize(
    ("typed", "real"),
    [
        ("api-na.myc\u043ennectwise.net", "api-na.xn--mycnnectwise-6fk.net"),  # Cyrillic о
        ("https://müller-it.de", "xn--mller-it-65a.de"),
    ],
)
def test_a_connectwise_site_outside_ascii_is_refused_with_its_punycode_beside(
    typed: str, real: str
) -> None:
    message = errors_for(server_url=typed)["server_url"]
    assert message.startswith("Server URL has letters outside ASCII")
    assert f"Its real address is {real} (type that if you mean it)" in message
    assert errors_for(server_url=f"https://{real}") == {}  # typed as punycode: accepted


def test_the_rest_base_url_outside_ascii_is_refused_with_its_punycode_beside() -> None:
    rest = {
        "connector": "connectwisecrmrest",
        "name": "Rest",
        "base_url": "https://api-na.myc\u043ennectwise.net/v2025_1/apis/3.0",
        "company": "acme",
        "public_key": "pub",
        "private_key": "priv",
        "client_id": "cid",
    }
    message = check_draft(rest).errors["base_url"]
    assert message.startswith("Base URL has letters outside ASCII")
    assert "Its real address is api-na.xn--mycnnectwise-6fk.net" in message


@pytest.mark.parametrize(
    ("typed", "unsafe"),
    [
        ("invoice\u202egpj.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Acme\u200b", "U+200B ZERO WIDTH SPACE"),
        ("Acme\u2067Prod", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ],
)
def test_a_typed_instance_name_with_an_invisible_character_is_refused(
    typed: str, unsafe: str
) -> None:
    assert errors_for(name=typed) == {
        "name": f"Name must not contain {unsafe}: it is invisible and can make a name look "
        "like another or read backwards. Type the name again without it."
    }
    assert errors_for(name="می\u200cخواهم") == {}  # ZWNJ inside a Persian word is writing


def test_a_typed_account_name_with_an_invisible_character_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Account(
            name="Prod\u202e", api_root="api.example.com", user_secret="u", organization_secret="o"
        )
    assert field_errors(info.value) == {
        "name": "Account name must not contain U+202E RIGHT-TO-LEFT OVERRIDE: it is invisible "
        "and can make a name look like another or read backwards. Type the name again without it."
    }


@pytest.mark.parametrize(
    ("typed", "taken", "problem"),
    [
        (
            "production",
            ["Production"],
            "An account is already named “Production”: choose another name.",
        ),
        ("Cafe\u0301", ["Café"], "An account is already named “Café”: choose another name."),
        (" Local  SANDBOX", [], "“Local sandbox” is the built-in sandbox: choose another name."),
        ("Staging", ["Production"], None),
    ],
)
def test_account_names_are_unique_by_the_one_same_name_rule(
    typed: str, taken: list[str], problem: str | None
) -> None:
    assert account_name_problem(typed, taken) == problem


# --- ConnectWise addresses: https://, http:// only to this machine ---------------------------

HTTPS_ONLY = (
    "{label} must start with https://: ConnectWise answers plain http:// with “SSL is "
    "required.” (http:// only for this machine)."
)


def test_a_connectwise_address_over_plain_http_to_another_machine_is_refused() -> None:
    assert errors_for(server_url="http://api-na.myconnectwise.net") == {
        "server_url": HTTPS_ONLY.format(label="Server URL")
    }
    rest = {
        "connector": "connectwisecrmrest",
        "name": "Rest",
        "base_url": "http://api-na.myconnectwise.net/v2025_1/apis/3.0",
        "company": "acme",
        "public_key": "pub",
        "private_key": "priv",
        "client_id": "cid",
    }
    assert check_draft(rest).errors == {"base_url": HTTPS_ONLY.format(label="Base URL")}
    with pytest.raises(ValidationError):
        InstanceDraft(**{**SEED, "server_url": "HTTP://api-na.myconnectwise.net"})


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("localhost:9000/", "http://localhost:9000"),
        ("[::1]:8000", "http://[::1]:8000"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://127.0.0.1:8765", "https://127.0.0.1:8765"),
        ("api-na.myconnectwise.net", "api-na.myconnectwise.net"),  # https:// by the platform
    ],
)
def test_a_server_url_on_this_machine_without_a_scheme_gets_http(typed: str, sent: str) -> None:
    draft = InstanceDraft(**{**SEED, "server_url": typed})
    assert draft.request_body()["configuration"]["helpdesk.connectwise.server.url"] == sent


def test_leaving_a_server_url_on_this_machine_shows_the_http_it_is_reached_by() -> None:
    assert normalized_text("connectwisehd", "server_url", "127.0.0.1:8765") == (
        "http://127.0.0.1:8765"
    )
    assert normalized_text("connectwisehd", "server_url", "api-na.example.com") is None


@pytest.mark.parametrize(
    ("typed", "root"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765/elements/api-v2"),
        ("localhost:9000", "http://localhost:9000/elements/api-v2"),
        ("[::1]:8000", "http://[::1]:8000/elements/api-v2"),
        ("api.example.com", "https://api.example.com/elements/api-v2"),
        ("api.example.com:8443", "https://api.example.com:8443/elements/api-v2"),
    ],
)
def test_an_account_host_on_this_machine_without_a_scheme_gets_http(typed: str, root: str) -> None:
    assert api_root(typed) == root


def test_a_nul_in_a_password_has_its_own_message() -> None:
    assert errors_for(password="pass\x00word") == {
        "password": "Password must not contain a NUL character (\\0)."
    }
    assert errors_for(password="pass\nword") == {
        "password": "Password must not contain line breaks."
    }
    assert errors_for(signature_key="a-long-signature\x00key") == {
        "signature_key": "Signature key must not contain a NUL character (\\0)."
    }
