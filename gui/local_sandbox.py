"""What the window says about the local sandbox's ConnectWise: where it is (beside the form's
check), and what became of a remembered address that an earlier run's sandbox listened on."""

from __future__ import annotations

from core.sandbox import connectwise_values as cw_sandbox

# Account ▸ Fill with sandbox values: F for Fill (Ctrl+Shift+K is the check, Ctrl+Shift+C copy).
FILL_SHORTCUT = "Ctrl+Shift+F"


def connectwise_intro(site: str) -> str:
    """Where the local sandbox's ConnectWise is, and its logins: the check needs a site."""
    return (
        f"The local sandbox's ConnectWise site is {site}, company {cw_sandbox.COMPANY} "
        f"(SOAP login {cw_sandbox.USERNAME} / {cw_sandbox.PASSWORD}; REST keys "
        f"{cw_sandbox.PUBLIC_KEY} / {cw_sandbox.PRIVATE_KEY}, client ID "
        f"{cw_sandbox.CLIENT_ID}). Account ▸ Fill with sandbox values ({FILL_SHORTCUT}) "
        "types them in."
    )


def moved_to_this_run(values: dict[str, object], site: str) -> tuple[dict[str, object], str]:
    """The form as last left, with a ConnectWise address on this machine moved to this run's
    sandbox at `site` (or dropped without one, `site` ""): an earlier run's sandbox listened
    elsewhere. Also what to tell the user about it ("" when nothing moved)."""
    told: list[str] = []
    for name in cw_sandbox.ADDRESS_FIELDS:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        moved = cw_sandbox.moved_address(value, site)
        if moved == value:
            continue
        if moved is None:
            del values[name]
            told.append(f"{value} (no sandbox runs now) was cleared")
        else:
            values[name] = moved
            told.append(f"{value} is now {moved}")
    if not told:
        return values, ""
    return values, (
        "The remembered ConnectWise address was the sandbox's of an earlier run: "
        + "; ".join(told)
        + "."
    )
