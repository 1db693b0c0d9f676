"""One TOC per data folder: a second launch (the Start menu while TOC sits in the tray, or a
launch at login on top of one by hand) asks the running one to show its window, then exits,
instead of a second window, tray icon, event socket and ringer."""

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
CONNECT_MILLISECONDS = 1000


def server_name(folder: Path) -> str:
    return "toc-desktop-" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]


def show_running_instance(folder: Path) -> bool:
    """True when a TOC already runs on `folder` (it was asked to show its window)."""
    from qtpy.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(server_name(folder))
    if not socket.waitForConnected(CONNECT_MILLISECONDS):
        return False
    socket.write(b"show\n")
    socket.waitForBytesWritten(CONNECT_MILLISECONDS)
    socket.disconnectFromServer()
    return True


class InstanceServer:
    """Listens for later launches on `folder`; `on_show` runs on the GUI thread."""

    def __init__(self, folder: Path, on_show: Callable[[], None]) -> None:
        from qtpy.QtNetwork import QLocalServer

        self.on_show = on_show
        self.server = QLocalServer()
        name = server_name(folder)
        QLocalServer.removeServer(name)  # a socket left by a TOC that crashed
        if not self.server.listen(name):
            logger.warning("cannot listen for other launches: %s", self.server.errorString())
        self.server.newConnection.connect(self._connected)

    def _connected(self) -> None:
        while self.server.hasPendingConnections():
            connection: Any = self.server.nextPendingConnection()
            connection.readyRead.connect(lambda connection=connection: self._read(connection))

    def _read(self, connection: Any) -> None:
        if bytes(connection.readAll().data()).strip() == b"show":
            logger.info("another launch asked to show the window")
            self.on_show()
        connection.disconnectFromServer()
