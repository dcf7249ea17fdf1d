"""What a Test found, in the Instances tab's words: the Health cell, its tooltip, and the
problem shown under the table when an instance does not work."""

from __future__ import annotations

from core.openconnectors.errors import OpenConnectorsError
from core.openconnectors.instance import HealthState, InstanceHealth, utc_now
from gui.widgets import outside

HEALTH_CHARS = 120  # a failing test's reason in its cell; the tooltip has all of it


def health_text(health: InstanceHealth | None) -> str:
    """The Health cell: "not tested", or what the test found and when ("OK, 14:03:07")."""
    if health is None:
        return "not tested"
    summary = health.summary
    if len(summary) > HEALTH_CHARS:
        summary = summary[: HEALTH_CHARS - 1] + "…"
    return f"{summary} — tested {health.checked_at.astimezone().strftime('%H:%M:%S')}"


def health_tip(health: InstanceHealth | None) -> str:
    if health is None:
        return "Not tested yet: select it and press Test, or Test all shown"
    parts = [health.summary]
    if health.provider_message and health.message:
        parts.append(health.message)
    if health.request_id:
        parts.append(f"Request ID: {health.request_id}")
    parts.append(f"Tested at {health.checked_at.astimezone().strftime('%Y-%m-%d %H:%M:%S')}")
    return "\n".join(parts)


def health_problem(name: str, health: InstanceHealth) -> tuple[str, str]:
    """The title and the next step of the problem panel for an instance that does not work."""
    shown = outside.name(name)
    if health.state is HealthState.DISABLED:
        return f"“{shown}” is disabled", "Enable it (the Enable button) for it to work again."
    if health.state is HealthState.INVALID_CREDENTIALS:
        return (
            f"“{shown}” does not work: its login was refused",
            "If the ConnectWise password or API keys changed, re-authenticate the instance "
            "(More ▸ Re-authenticate…).",
        )
    if health.state is HealthState.UNREACHABLE:
        return f"“{shown}” could not be reached", "Check the network connection, then test again."
    return (
        f"“{shown}” does not work",
        "Test again later; if it keeps failing, look at the instance on the platform.",
    )


def failed_health(error: BaseException) -> InstanceHealth:
    """The Health of an instance whose test could not run (no token, the account refused)."""
    if isinstance(error, OpenConnectorsError):
        return InstanceHealth(
            HealthState.FAILING,
            utc_now(),
            message=error.message,
            provider_message=error.provider_message,
            request_id=error.request_id,
            status=error.status,
        )
    return InstanceHealth(
        HealthState.FAILING, utc_now(), message=str(error) or type(error).__name__
    )
