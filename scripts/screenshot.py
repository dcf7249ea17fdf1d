"""Take the README screenshot: the real window on the local sandbox, after a create.

Run through scripts/screenshot.sh, which starts a virtual X display.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit

from gui.app import set_identity
from gui.resources import app_icon, stylesheet

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"

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
    set_identity()
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    app.setStyleSheet(stylesheet())

    from core.records import RecordsStore
    from core.sandbox import SandboxServer
    from core.vault import Vault
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
        OUT.parent.mkdir(exist_ok=True)
        window.grab().save(str(OUT))
        print(f"wrote {OUT}")
        window.close()
        app.quit()

    def created() -> None:
        if window.create_tab.result_panel.isVisible():
            QTimer.singleShot(300, shoot)
        else:
            QTimer.singleShot(100, created)

    QTimer.singleShot(300, window.create_tab.create)
    QTimer.singleShot(400, created)
    code = app.exec()
    sandbox.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
