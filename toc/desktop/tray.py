"""The tray icon: TOC's mark with the user's presence dot, and a menu to open TOC, start it at
login, or quit. Closing the window keeps TOC running here, so calls still ring."""

import logging
from collections.abc import Callable

from qtpy.QtGui import QAction
from qtpy.QtWidgets import QMenu, QSystemTrayIcon

from toc.desktop.autostart import Autostart
from toc.desktop.icon import brand_icon

logger = logging.getLogger(__name__)


class Tray:
    def __init__(self, *, autostart: Autostart, on_open: Callable[[], None], on_quit: Callable[[], None]) -> None:
        self.autostart = autostart
        self.icon = QSystemTrayIcon(brand_icon("offline"))
        self.icon.setToolTip("TOC")
        self.menu = QMenu()
        self.open_action = QAction("Open TOC", self.menu)
        self.open_action.triggered.connect(on_open)
        self.start_at_login = QAction("Start TOC at login", self.menu)
        self.start_at_login.setCheckable(True)
        self.start_at_login.setChecked(autostart.is_enabled())
        self.start_at_login.toggled.connect(self._set_start_at_login)
        self.quit_action = QAction("Quit TOC", self.menu)
        self.quit_action.triggered.connect(on_quit)
        self.menu.addAction(self.open_action)
        self.menu.addSeparator()
        self.menu.addAction(self.start_at_login)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(
            lambda reason: on_open() if reason == QSystemTrayIcon.ActivationReason.Trigger else None
        )
        self.icon.show()

    def _set_start_at_login(self, enabled: bool) -> None:
        try:
            self.autostart.set_enabled(enabled)
        except OSError as error:
            logger.error("could not turn start at login %s: %s", "on" if enabled else "off", error)
            self.show_start_at_login(not enabled)
            self.icon.showMessage("TOC could not change start at login", str(error))

    def show_presence(self, status: str, label: str) -> None:
        self.icon.setIcon(brand_icon(status))
        self.icon.setToolTip(f"TOC: {label}")

    def show_start_at_login(self, enabled: bool) -> None:
        self.start_at_login.blockSignals(True)
        self.start_at_login.setChecked(enabled)
        self.start_at_login.blockSignals(False)
