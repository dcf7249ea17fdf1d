"""Words for the person at the keyboard, the same in the window and in ``cwdesk``.

- `UserFacingError`: what every error of ours says: a title, a message and a next step. The
  window's problem panel shows the three; ``cwdesk`` prints them on one line (`one_line`). An
  error that carries a server's answer (`FromServer`) adds what ConnectWise said and the
  request ID (`said`). Nothing else about an error is read: a new error kind needs no new
  branch in either reader, only these attributes.
- `where_the_token_went(save, audience)`: where a new instance's token went, for the window
  (the token is shown beside the text, with Retry) or a terminal (the token is not printed; a
  command fetches it again). Both say the same facts; only what the reader can do differs.

Every text here is built from our own words and the errors' own messages, which are written
never to hold a secret.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable


@runtime_checkable
class UserFacingError(Protocol):
    """An error a person reads: `title` names what failed ("Secrets not accepted"),
    `message` says what happened, `next_step` what to do ("" when there is nothing to do)."""

    @property
    def title(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def next_step(self) -> str: ...


@runtime_checkable
class FromServer(Protocol):
    """An error that carries a server's answer: the provider's own words (ConnectWise's,
    passed on by the platform) and the request ID support asks for; either may be None."""

    @property
    def provider_message(self) -> str | None: ...

    @property
    def request_id(self) -> str | None: ...


class WordedError(Exception):
    """A base for an error whose whole text is its message, in our own words (a file that
    cannot be read, a settings file too large): a subclass names its `title`."""

    title = "Something went wrong"
    next_step = ""

    @property
    def message(self) -> str:
        return str(self)


def provider_said(provider_message: str) -> str:
    """ConnectWise's words, introduced once: "ConnectWise said: …", without the "ConnectWise:"
    the platform often puts before them, and as they are when they name ConnectWise
    themselves ("ConnectWise rejected the login: …")."""
    text = " ".join(provider_message.split())
    if text.casefold().startswith("connectwise:"):
        text = text[len("connectwise:") :].lstrip()
    elif text.casefold().startswith("connectwise "):
        return text
    return f"ConnectWise said: {text}"


def server_words(error: object) -> tuple[str | None, str | None]:
    """What the provider said and the request ID, when `error` carries a server's answer."""
    if isinstance(error, FromServer):
        return error.provider_message, error.request_id
    return None, None


def said(error: UserFacingError) -> str:
    """The message, then what ConnectWise said and the request ID, as one text:
    ``Instance not created — ConnectWise said: invalid login — Request ID: 5a1b``."""
    provider, request_id = server_words(error)
    parts = [error.message]
    if provider:
        parts.append(provider_said(provider))
    if request_id:
        parts.append(f"Request ID: {request_id}")
    return " — ".join(parts)


def sentence(text: str) -> str:
    """`text` on one line, ending as a sentence does (a full stop added when it has none)."""
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def headline(error: UserFacingError) -> str:
    """The title and all that was said, without the next step (for a caller that says its
    own, as a batch row does): ``Too many requests: … — Request ID: 7``."""
    return " ".join(f"{error.title}: {said(error)}".split())


def one_line(error: UserFacingError) -> str:
    """The whole error on one line, as a terminal shows it: title, what was said, next step."""
    return " ".join(f"{error.title}: {sentence(said(error))} {error.next_step}".split())


# --- where the token went --------------------------------------------------------------------


class Audience(StrEnum):
    """Who reads where a token went, which decides what they are told they can do."""

    WINDOW = "window"  # the result panel: the token is shown, Retry stores it
    TERMINAL = "terminal"  # cwdesk: the token is not printed; a command fetches it again


class PasswordManager(Protocol):
    """Where a token went (`core.storage.vault.BackendInfo`)."""

    @property
    def name(self) -> str: ...

    @property
    def warning(self) -> str: ...


class TokenSave(Protocol):
    """What came of storing a token (`core.storage.instance_store.SaveResult`): where it went,
    or, when it went nowhere, the reasons in our own words."""

    @property
    def stored_in(self) -> PasswordManager | None: ...

    @property
    def messages(self) -> tuple[str, ...]: ...


_WINDOW_NOT_STORED = (
    "The token is shown here: copy it now if you need it. "
    "Use “Retry” to store it once the password manager is ready."
)


def token_not_stored(why: str, audience: Audience, *, fetch_again: str = "") -> str:
    """The token is not in the password manager, `why` (sentences of our own): for the window,
    with what the panel offers; for a terminal, with the command that fetches it later."""
    if audience is Audience.WINDOW:
        return f"Not saved: {sentence(why)} {_WINDOW_NOT_STORED}"
    fetch = f" Fetch the token again later: {fetch_again}" if fetch_again else ""
    return f"{sentence(why)}{fetch}"


def where_the_token_went(save: TokenSave, audience: Audience, *, fetch_again: str = "") -> str:
    """Where the token of a new (or re-authenticated) instance went: the password manager
    named, or every reason it is not there (the record first, then the password manager).
    `fetch_again`: for a terminal, the command that fetches the token later."""
    if save.stored_in is not None:
        warning = f" ({save.stored_in.warning})" if save.stored_in.warning else ""
        if audience is Audience.WINDOW:
            return f"Saved in {save.stored_in.name}{warning}."
        return f"Its token is stored in {save.stored_in.name}{warning}."
    why = " ".join(sentence(m) for m in save.messages) or "The token is not saved."
    return token_not_stored(why, audience, fetch_again=fetch_again)
