"""``cwdesk create``, ``list``, ``delete`` and ``token``: one instance at a time on the account
`core.cli.where` resolved, each as the window's button of that name does it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from core.cli.console import (
    FAILED,
    FIELD_ENV_PREFIX,
    OK,
    CliError,
    Console,
    ask_first,
    describe,
    shown,
    word,
)
from core.cli.where import where_words
from core.user_facing import sentence

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.spec.models import Account
    from core.workspace import Workspace


def sentences(problems: Mapping[str, str]) -> str:
    """``{"company": "Company is required."}`` as ``company: Company is required.``, each
    problem a sentence of its own."""
    return " ".join(f"{name}: {sentence(message)}" for name, message in problems.items())


# --- create ----------------------------------------------------------------------------------


def create(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.batch_file import boolean_cell
    from core.openconnectors.errors import OutcomeUnknownError, UnreadableAnswerError
    from core.openconnectors.instance import utc_now
    from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR, FieldKind
    from core.spec.models import check_draft
    from core.user_facing import Audience, where_the_token_went

    spec = CONNECTORS.get(args.connector or DEFAULT_CONNECTOR)
    if spec is None:
        raise CliError(
            f"No connector is called “{args.connector}”: choose one of {', '.join(CONNECTORS)}."
        )
    raw: dict[str, Any] = {"connector": spec.key, "name": args.name, "tags": args.tags}
    for item in args.set:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise CliError(f"--set takes FIELD=VALUE, e.g. --set company=acme (got “{name}”).")
        if spec.has_field(name) and spec.field(name).is_secret:
            raise CliError(
                f"{name} is a secret: it is not taken from the command line (others see it in "
                f"ps). Set {FIELD_ENV_PREFIX}{name.upper()}, use --secrets-from-stdin, or leave "
                "it out to be asked."
            )
        if spec.has_field(name) and spec.field(name).kind is FieldKind.BOOL:
            raw[name] = boolean_cell(value)
        else:
            raw[name] = value
    from_stdin = _stdin_fields(console) if args.secrets_from_stdin else {}
    asked = console.is_terminal(console.stdin) and not from_stdin
    not_given: list[str] = []  # secrets needed, with no terminal to ask on
    for fs in spec.fields:
        if not fs.is_secret:
            continue
        needed = fs.always_required or (fs.required and bool(raw.get(fs.enabled_by or "")))
        value = from_stdin.get(fs.name) or console.env.get(f"{FIELD_ENV_PREFIX}{fs.name.upper()}")
        if not value and needed and asked:
            value = console.ask_secret(f"{fs.label}: ")
        if value:
            raw[fs.name] = value
        elif needed:
            not_given.append(fs.name)
    check = check_draft(raw, account=account)
    for warning in markup_warnings(check.hints):
        console.warn(warning)
    if check.draft is None:
        hint = ""
        if not_given and not asked:
            hint = (
                " Without a terminal to ask on, give "
                + " and ".join(f"{FIELD_ENV_PREFIX}{n.upper()}" for n in not_given)
                + " in the environment, or "
                + ", ".join(f"{n}=…" for n in not_given)
                + " lines on standard input with --secrets-from-stdin."
            )
        raise CliError(f"Not created: {sentences(check.errors)}{hint} Fix these and run again.")
    draft = check.draft
    recent = workspace.recent_same_name(account, draft.name)
    if recent is not None and not args.again:
        raise CliError(
            f"Not created: “{recent.name}” (ID {recent.id}) was made on this account at "
            f"{recent.created_date}. Add --again to make another."
        )
    started = utc_now()
    try:
        outcome = workspace.create(account, draft)
    except OutcomeUnknownError as unknown:
        if isinstance(unknown, UnreadableAnswerError):
            console.warn(
                "the server's answer cannot be used: checking whether the instance exists…"
            )
        else:
            console.warn("no answer from the server: checking whether the instance exists…")
        list_it = " ".join(f"cwdesk list {where_words(args)}".split())
        try:
            found = workspace.reconcile(account, draft.name, started)
        except Exception as lookup:  # the outcome stays unknown: say so, and why
            raise CliError(
                f"{unknown.title}: {sentence(unknown.message)} The lookup failed too: "
                f"{describe(lookup)} Run {list_it} before creating it again.",
                FAILED,
            ) from None
        if found is None:
            raise CliError(
                f"{unknown.title}: {sentence(unknown.message)} No instance named "
                f"“{draft.name}” is listed yet: run {list_it} in a minute before creating it "
                "again.",
                FAILED,
            ) from None
        outcome = found
    instance = outcome.instance
    console.say(f"Created “{instance.name}” (ID {instance.id}) on {account.host}.")
    fetch = " ".join(f"cwdesk token {word(instance.id)} --copy {where_words(args)}".split())
    words = where_the_token_went(outcome.save, Audience.TERMINAL, fetch_again=fetch)
    if outcome.save.token_stored:
        console.say(words)
        return OK
    console.warn(words)
    return FAILED


def markup_warnings(hints: Mapping[str, str]) -> list[str]:
    """The window's warnings for a name or tags holding HTML tags, saying what Open Connectors
    will store (`core.spec.models.field_hints`), from a check's hints."""
    from core.spec.models import NAME, TAGS

    return [hints[key] for key in (NAME, TAGS) if hints.get(key)]


def _stdin_fields(console: Console) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(console.stdin_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise CliError(f"Standard input line {number} is not field=value.")
        values[name.strip()] = value
    return values


# --- list, delete, token ---------------------------------------------------------------------


def list_instances(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.spec.connectors import CONNECTORS

    rows = sorted(workspace.refresh(account), key=lambda r: r.created or "", reverse=True)
    if args.filter:
        wanted = args.filter.casefold()
        rows = [
            r for r in rows if wanted in " ".join((r.id, r.name, r.connector, *r.tags)).casefold()
        ]
    if args.json:
        import json
        from dataclasses import asdict

        console.say_block(json.dumps([asdict(r) for r in rows], indent=2))
        return OK
    if not rows:
        console.say("No instances.")
        return OK
    table = [("ID", "NAME", "CONNECTOR", "EVENTS", "TOKEN", "CREATED", "TAGS")]
    for r in rows:
        spec = CONNECTORS.get(r.connector)
        table.append(
            (
                r.id,
                r.name,
                spec.label if spec else r.connector,
                "on" if r.events_enabled else "off",
                "stored" if r.token_stored else "-",
                (r.created or "")[:19],
                ", ".join(r.tags),
            )
        )
    # Widths of the cells as they will be printed (escapes and all), so columns line up.
    cells = [[shown(cell) for cell in row] for row in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table[0]))]
    for row in cells:
        console.say_cells(
            [cell.ljust(w) for cell, w in zip(row, widths, strict=True)], separator="  "
        )
    return OK


def delete(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    if not args.yes:
        ask_first(
            console, f"Delete instance {args.id} on {account.host}, with its token and record?"
        )
    result = workspace.delete(account, args.id)
    if result.unknown:
        raise CliError(_no_such(args.id, account), FAILED)
    for message in result.messages:
        if message:
            console.say(message)
    return OK if result.ok else FAILED


def _no_such(instance_id: str, account: Account) -> str:
    return (
        f"No such instance: {account.host} has no instance {instance_id}, and none is stored "
        "here. See cwdesk list for the IDs."
    )


def token(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.openconnectors.errors import NotFoundError

    if not (args.copy or args.reveal):
        if workspace.token(account, args.id) is not None:
            console.say(
                f"The token of instance {args.id} is stored in the password manager. --copy "
                "copies it; --reveal prints it to a terminal."
            )
            return OK
        try:
            workspace.client(account).get_instance(args.id)
        except NotFoundError:
            raise CliError(_no_such(args.id, account), FAILED) from None
        console.say(
            f"The token of instance {args.id} is not stored here. --copy fetches it from "
            f"{account.host}, stores it and copies it; --reveal prints it to a terminal."
        )
        return OK
    if args.reveal and not console.is_terminal(console.out):
        raise CliError(
            "--reveal prints the token only to a terminal, not into a pipe or file: use --copy."
        )
    from core.clipboard import ClipboardError, copy_secret, find_tool

    tool = find_tool(console.env) if args.copy else None
    if args.copy and tool is None:
        raise CliError(
            "No clipboard tool found (wl-copy, xclip, xsel or pbcopy): install one, or use "
            "--reveal on a terminal.",
            FAILED,
        )
    try:
        token = workspace.token(account, args.id, fetch=True)
    except NotFoundError:
        raise CliError(_no_such(args.id, account), FAILED) from None
    if not token:
        raise CliError(f"Instance {args.id} has no token to show.", FAILED)
    if args.reveal:
        console.say(token)  # printable ASCII as parsed; escaped all the same
        return OK
    assert tool is not None
    from core.storage.window_settings import load_clear_seconds

    seconds = None if args.keep else load_clear_seconds()
    try:
        copy_secret(tool, token, console.env, clear_after=seconds)
    except ClipboardError as exc:
        raise CliError(f"{exc} Use --reveal on a terminal instead.", FAILED) from None
    if seconds is None:
        kept = "it stays there until something else is copied"
    else:
        kept = f"it is cleared in {seconds} s unless something else was copied by then"
    console.say(f"Copied the token of instance {args.id} to the clipboard ({tool.name}); {kept}.")
    return OK
