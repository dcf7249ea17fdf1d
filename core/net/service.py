"""What listens on this machine's loopback address: where it is, and `with` to stop it.

Light on purpose (no HTTP server stack): `core.sandbox.on_demand` is one before a client ever
connects. The HTTP services build on it in `core.net.loopback_service`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

HOST = "127.0.0.1"  # never another interface: any secret they carry stays on this machine


class LocalService:
    """Something listening on ``127.0.0.1`` until `stop()`: its `port`, its `root_url`, and
    ``with service: ...`` stopping it at the end."""

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
