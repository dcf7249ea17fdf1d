"""Where a ``cwdesk`` command sends: a saved account (its secrets from the password manager),
an API root with the secrets in the environment, or the local sandbox, and how to say it again
in a command the user is told to run."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from core.cli.console import (
    FAILED,
    ORGANIZATION_SECRET_ENV,
    USER_SECRET_ENV,
    CliError,
    Console,
    word,
)
from core.user_facing import sentence

if TYPE_CHECKING:
    from core.sandbox.on_demand import OnDemandSandbox
    from core.spec.models import Account
    from core.storage.accounts import SavedAccount
    from core.workspace import Workspace


def resolve_account(
    args: argparse.Namespace,
    console: Console,
    workspace: Workspace,
    stack: contextlib.ExitStack,
    *,
    required: bool = True,
) -> Account | None:
    """The account `--account`, `--api-root` or `--sandbox` names (a sandbox is started and
    stopped with `stack`); None when none is given and none is `required`."""
    if args.sandbox:
        return _sandbox_account(stack)
    if args.api_root:
        user = console.env.get(USER_SECRET_ENV, "")
        organization = console.env.get(ORGANIZATION_SECRET_ENV, "")
        if not user or not organization:
            raise CliError(
                f"--api-root needs the account's secrets in {USER_SECRET_ENV} and "
                f"{ORGANIZATION_SECRET_ENV}: set both, or use --account NAME."
            )
        return validated_account(
            api_root=args.api_root, user_secret=user, organization_secret=organization
        )
    if args.account:
        saved = saved_account(args.account)
        loaded = workspace.load_account(saved.name, saved.api_root)
        if loaded is None:
            raise secrets_not_stored(saved)
        return loaded
    if required:
        raise CliError(
            "Say where to send: --account NAME (see cwdesk accounts list), --api-root URL "
            f"with {USER_SECRET_ENV} and {ORGANIZATION_SECRET_ENV}, or --sandbox."
        )
    return None


def _sandbox_account(stack: contextlib.ExitStack) -> Account:
    """The window's local sandbox, kept in the data folder: served in this process for the
    command (stopped with `stack`), or, while the window serves it, that window's."""
    from core.sandbox.on_demand import sandbox_account

    return sandbox_account(stack.enter_context(open_local_sandbox()))


def open_local_sandbox() -> OnDemandSandbox:
    """The local sandbox the window uses (`SandboxHome.default()`), served here when no other
    process serves it; the caller stops it. Never taken over (cwdesk ends soon). Why it could
    not be opened as a CliError (exit 1)."""
    from core.sandbox.home import SandboxHome, SandboxUnavailable
    from core.sandbox.on_demand import OnDemandSandbox

    try:
        return OnDemandSandbox(home=SandboxHome.default(), take_over=False)
    except SandboxUnavailable as exc:
        raise CliError(str(exc), FAILED) from None
    except OSError as exc:
        raise CliError(
            f"The local sandbox could not start: {exc.strerror or exc}.", FAILED
        ) from None


def where_words(args: argparse.Namespace) -> str:
    """The connection option of this run, to repeat in a command the user is told to run."""
    if args.account:
        return f"--account {word(args.account)}"
    if args.api_root:
        return f"--api-root {word(args.api_root)}"
    return "--sandbox" if args.sandbox else ""


def validated_account(**values: str) -> Account:
    """An account from what was given, or its problems in our words (pydantic's would repeat
    the values, secrets included)."""
    from pydantic import ValidationError

    from core.spec.models import Account, field_errors

    try:
        return Account(**values)
    except ValidationError as exc:
        problems = " ".join(sentence(m) for m in field_errors(exc).values())
        raise CliError(f"{problems} Fix it and run again.") from None


def saved_account(name: str) -> SavedAccount:
    """The saved account called `name` (as ``cwdesk accounts list`` shows it)."""
    from core.storage.window_settings import accounts_for_cwdesk

    wanted = name.strip()
    for saved in accounts_for_cwdesk().accounts():
        if saved.name == wanted:
            return saved
    raise CliError(f"No saved account is named “{wanted}”: see cwdesk accounts list.")


def secrets_not_stored(saved: SavedAccount) -> CliError:
    """A saved account whose secrets are gone from the password manager: add it again."""
    return CliError(
        f"The secrets of account “{saved.name}” are not in the password manager: remove the "
        f"account and add it again (cwdesk accounts add {word(saved.name)} --host …).",
        FAILED,
    )
