"""Take a README screenshot: the real window on the local sandbox, after a create, in the
light or the dark scheme (``python -m scripts.screenshot dark``: docs/screenshot-dark.png).

Run through scripts/screenshot.sh, which starts a virtual X display and takes both.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit

from gui.app import set_identity
from gui.resources import app_icon
from gui.theme import Scheme, Theme

DOCS = Path(__file__).resolve().parent.parent / "docs"
TIMEOUT_MS = 30_000  # the create on the local sandbox takes well under a second

VALUES = {
    "name": "Acme help desk",
    "tags": "acme, production",
    "server_url": "https://api-na.myconnectwise.net",
    "company": "acme",
    "username": "integrator",
    "password": "correct horse battery",
    "wsdl_path": "https://na.myconnectwise.net/v2019_4/ConnectWise.aspx?locale=en_US",
}


def main() -> int:
    scheme = Scheme(sys.argv[1] if len(sys.argv) > 1 else "light")
    out = DOCS / f"screenshot-{scheme}.png"
    set_identity()
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    Theme(app, override=scheme)

    from core.sandbox import SandboxServer
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from core.workspace import Workspace
    from gui.main_window import MainWindow
    from tests.core.fake_keyrings import MemoryKeyring

    scratch = Path(tempfile.mkdtemp())
    sandbox = SandboxServer().start()
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    workspace = Workspace(Vault(MemoryKeyring()), RecordsStore(scratch))
    window = MainWindow(workspace, settings=settings, sandbox=sandbox)
    window.resize(960, 1000)
    window.show()
    form = window.create_tab.form
    for name, value in VALUES.items():
        edit = form.input(name)
        assert isinstance(edit, QLineEdit)
        edit.setText(value)
    form.set_values({"events_enabled": True, "callback_url": window.events_tab.receiver.url})
    form.input("signature_key").setText("a-demo-signature-key-1234")  # type: ignore[attr-defined]
    form.touch_all()
    window.create_tab.update_ui()

    def shoot() -> None:
        out.parent.mkdir(exist_ok=True)
        window.grab().save(str(out))
        print(f"wrote {out}")
        window.close()
        app.quit()

    def created() -> None:
        if window.create_tab.result_panel.isVisible():
            QTimer.singleShot(300, shoot)
        else:
            QTimer.singleShot(100, created)

    def give_up() -> None:
        print(f"no result panel within {TIMEOUT_MS // 1000} s; {out} not written", file=sys.stderr)
        app.exit(1)

    QTimer.singleShot(300, window.create_tab.start_create)
    QTimer.singleShot(400, created)
    QTimer.singleShot(TIMEOUT_MS, give_up)
    code = app.exec()
    window.shut_down()
    sandbox.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
