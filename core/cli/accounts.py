"""``cwdesk accounts``: the saved accounts the window lists; their secrets in the password
manager, taken from the environment, standard input or a prompt without echo, never from the
command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from core.cli.console import (
    OK,
    ORGANIZATION_SECRET_ENV,
    USER_SECRET_ENV,
    CliError,
    Console,
    ask_first,
    word,
)
from core.cli.where import saved_account, secrets_not_stored, validated_account

if TYPE_CHECKING:
    from core.storage.accounts import SavedAccount
    from core.workspace import Workspace


def accounts_command(args: argparse.Namespace, console: Console, workspace: Workspace) -> int:
    """``cwdesk accounts list|add|remove|test``."""
    from core.openconnectors.hosts import host_of
    from core.storage.accounts import SavedAccount
    from core.storage.window_settings import accounts_for_cwdesk

    shared = accounts_for_cwdesk()
    accounts = shared.accounts()
    if args.action == "list":
        if args.json:
            import json
            from dataclasses import asdict

            console.say_block(json.dumps([asdict(a) for a in accounts], indent=2))
            return OK
        if not accounts:
            console.say("No saved accounts. Add one: cwdesk accounts add NAME --host HOST")
        for a in accounts:
            state = "tested" if a.checked else "not tested yet"
            console.say_cells((a.name, host_of(a.api_root), state))
        return OK
    if args.action == "add":
        from core.spec.models import account_name_problem

        name = args.name.strip()
        taken = account_name_problem(name, (a.name for a in accounts))
        if taken is not None:
            raise CliError(taken)
        user, organization = _account_secrets(args, console)
        account = validated_account(
            name=name, host=args.host, user_secret=user, organization_secret=organization
        )
        stored_in = workspace.save_account(account)
        # Under the list's lock, as it is now: another program may have added one meanwhile.
        shared.add(
            SavedAccount(account.name, account.api_root),
            refuse=lambda now: account_name_problem(name, (a.name for a in now)),
        )
        console.say(
            f"Saved account “{account.name}” ({account.host}); its secrets are in "
            f"{stored_in.name}. Test it: cwdesk accounts test {word(account.name)}"
        )
        return OK
    saved = saved_account(args.name)
    if args.action == "remove":
        if not args.yes:
            ask_first(console, f"Remove account “{saved.name}” and its secrets?")
        removal = workspace.remove_account(saved.name, saved.api_root)
        shared.remove(saved)
        console.say(f"Removed account “{saved.name}”: {removal.summary}. Its instances are kept.")
        return OK
    # test
    loaded = workspace.load_account(saved.name, saved.api_root)
    if loaded is None:
        raise secrets_not_stored(saved)
    from core.openconnectors.errors import AuthenticationError

    try:
        workspace.test_connection(loaded)
    except AuthenticationError:
        _set_checked(saved, False)
        raise
    _set_checked(saved, True)
    console.say(f"The connection to {loaded.host} works with the secrets of “{saved.name}”.")
    return OK


def _set_checked(saved: SavedAccount, checked: bool) -> None:
    from core.storage.accounts import AccountsFile

    AccountsFile().set_checked(saved, checked)


def _account_secrets(args: argparse.Namespace, console: Console) -> tuple[str, str]:
    if args.secrets_from_stdin:
        lines = console.stdin_text().splitlines()
        if len(lines) < 2:
            raise CliError(
                "--secrets-from-stdin needs two lines: the user secret, then the organization "
                "secret."
            )
        return lines[0], lines[1]
    user = console.env.get(USER_SECRET_ENV, "")
    organization = console.env.get(ORGANIZATION_SECRET_ENV, "")
    if user and organization:
        return user, organization
    if not console.is_terminal(console.stdin):
        raise CliError(
            f"No secrets given: set {USER_SECRET_ENV} and {ORGANIZATION_SECRET_ENV}, or pipe "
            "them with --secrets-from-stdin."
        )
    return (
        user or console.ask_secret("User secret: "),
        organization or console.ask_secret("Organization secret: "),
    )
