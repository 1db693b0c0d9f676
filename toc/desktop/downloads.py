"""Files the page downloads (chat attachments, voicemail messages) are saved in the user's
Downloads folder, under a name that does not overwrite anything, as a browser does; a
notification says when each is done.

pywebview 6.2.1's own handler calls `setPath`, which Qt 6 no longer has, so with it nothing
was ever saved; the app leaves it off and uses this one.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def safe_name(suggested: str) -> str:
    """The file name part of what the server suggested, never empty, never a path."""
    name = Path(suggested.replace("\\", "/")).name.strip().lstrip(".")
    return name or "download"


def unique_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `name (1).ext`, `name (2).ext`… when taken."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 1
    while candidate.exists():
        candidate = folder / f"{stem} ({number}){suffix}"
        number += 1
    return candidate


class Downloads:
    def __init__(self, *, folder: Callable[[], Path], notify: Callable[[str, str], None]) -> None:
        self.folder = folder
        self.notify = notify
        self.active: list[Any] = []

    def requested(self, download: Any) -> None:
        folder = self.folder()
        folder.mkdir(parents=True, exist_ok=True)
        target = unique_path(folder, safe_name(download.downloadFileName()))
        download.setDownloadDirectory(str(folder))
        download.setDownloadFileName(target.name)
        download.isFinishedChanged.connect(lambda: self._finished(download, target))
        self.active.append(download)
        download.accept()
        logger.info("downloading %s", target)

    def _finished(self, download: Any, target: Path) -> None:
        from qtpy.QtWebEngineCore import QWebEngineDownloadRequest

        if download in self.active:
            self.active.remove(download)
        if download.state() == QWebEngineDownloadRequest.DownloadState.DownloadCompleted:
            logger.info("downloaded %s", target)
            self.notify("Download finished", f"{target.name} is in {target.parent}.")
        else:
            logger.warning("download of %s failed: %s", target.name, download.interruptReasonString())
            self.notify("Download failed", f"{target.name}: {download.interruptReasonString()}")
