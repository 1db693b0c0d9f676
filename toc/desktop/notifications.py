"""Shows the page's web notifications (incoming calls, chat and SMS messages) on the desktop.

QtWebEngine hands every `new Notification(...)` of a granted origin to the profile's presenter.
It is shown through the tray icon's balloon where the desktop has a tray (Windows, macOS and
most Linux desktops use their native notification centre for that), or otherwise as TOC's own
small window in the screen's top-right corner. Clicking one opens TOC at what it is about.
"""

import logging
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Qt, QTimer
from qtpy.QtGui import QGuiApplication, QMouseEvent
from qtpy.QtWidgets import QLabel, QSystemTrayIcon, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)

SHOWN_MILLISECONDS = 10_000
KEPT = 20


class Toast(QWidget):
    """A notification of TOC's own, for desktops without a notification area."""

    def __init__(self, title: str, message: str, *, on_click: Callable[[], None], on_gone: Callable[[], None]) -> None:
        flags = (
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        super().__init__(None, flags)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAccessibleName(f"TOC notification: {title}")
        self.setStyleSheet(
            "QWidget { background: #1f2633; color: #ffffff; border-radius: 8px; }QLabel#title { font-weight: bold; }"
        )
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setObjectName("title")
        body = QLabel(message)
        body.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(body)
        self.setFixedWidth(320)
        self.on_click = on_click
        self.on_gone = on_gone
        QTimer.singleShot(SHOWN_MILLISECONDS, self.close)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self.on_click()
        self.close()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        self.on_gone()
        super().closeEvent(event)


class Notifier(QObject):
    def __init__(self, *, on_open: Callable[[], None], tray: Callable[[], QSystemTrayIcon | None]) -> None:
        super().__init__()
        self.on_open = on_open
        self.tray = tray
        self.kept: list[Any] = []  # Qt hands the notification over: it lives as long as we keep it
        self.toasts: list[Toast] = []
        self.latest: Any = None

    def present(self, notification: Any) -> None:
        title, message = notification.title(), notification.message()
        self.kept = [*self.kept[-(KEPT - 1) :], notification]
        notification.closed.connect(lambda: self._closed_by_page(notification))
        tray = self.tray()
        if tray is not None and tray.supportsMessages():
            # The tray shows one message at a time: a click is on the latest one.
            self.latest = notification
            tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, SHOWN_MILLISECONDS)
        else:
            self._toast(notification, title, message)
        notification.show()  # the page's `onshow`
        logger.info("notification shown: %s: %s", title, message)

    def show_own(self, title: str, message: str) -> None:
        """A notification of the app's own (not the page's): a click just opens the window."""
        tray = self.tray()
        if tray is not None and tray.supportsMessages():
            self.latest = None
            tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, SHOWN_MILLISECONDS)
        else:
            toast = Toast(title, message, on_click=self.on_open, on_gone=lambda: self._gone(toast))
            self.toasts.append(toast)
            self._place()
            toast.show()
        logger.info("notification shown: %s: %s", title, message)

    def clicked_in_tray(self) -> None:
        if self.latest is not None:
            self._click(self.latest)
        else:
            self.on_open()

    def _click(self, notification: Any) -> None:
        self.on_open()
        notification.click()  # the page's `onclick`: opens the chat, thread or call

    def _toast(self, notification: Any, title: str, message: str) -> None:
        toast = Toast(title, message, on_click=lambda: self._click(notification), on_gone=lambda: self._gone(toast))
        toast.setProperty("notification_tag", notification.tag())
        self.toasts.append(toast)
        self._place()
        toast.show()

    def _closed_by_page(self, notification: Any) -> None:
        # A tray message cannot be taken back; a click on it then just opens the window.
        if self.latest is notification:
            self.latest = None
        for toast in list(self.toasts):
            if toast.property("notification_tag") == notification.tag():
                toast.close()

    def _gone(self, toast: Toast) -> None:
        if toast in self.toasts:
            self.toasts.remove(toast)
            self._place()

    def _place(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        top = area.top() + 12
        for toast in self.toasts:
            toast.adjustSize()
            toast.move(area.right() - toast.width() - 12, top)
            top += toast.height() + 8
