"""Which web permissions the window grants: the company's origin gets the microphone, camera,
screen sharing, notifications and the clipboard, without a prompt (the app is theirs); every
other origin (the SSO provider's pages, say) gets nothing.

pywebview 6.2.1 answers Qt's older `featurePermissionRequested` with plain integers, which
PySide6 rejects (the request then never resolves) and PyQt6 aborts on; it also starts Chromium
with `--use-fake-ui-for-media-stream`, which grants the microphone to any page. `install()`
takes its handler off and answers Qt 6.8's `permissionRequested` with `grant()`/`deny()`, and
`app.py` starts QtWebEngine before pywebview can add that flag.
"""

import logging
from typing import Any

from toc.desktop.address import origin_of

logger = logging.getLogger(__name__)

GRANTED_TO_THE_COMPANY = frozenset(
    {
        "MediaAudioCapture",
        "MediaVideoCapture",
        "MediaAudioVideoCapture",
        "DesktopVideoCapture",
        "DesktopAudioVideoCapture",
        "Notifications",
        "ClipboardReadWrite",
    }
)


def allows(*, company_origin: str, origin: str, permission: str) -> bool:
    """Pure policy: `permission` is the name of a QWebEnginePermission.PermissionType."""
    return bool(company_origin) and origin_of(origin) == company_origin and permission in GRANTED_TO_THE_COMPANY


class PermissionHandler:
    """Answers a page's permission requests; `company_origin` changes when the user connects."""

    def __init__(self, company_origin: str) -> None:
        self.company_origin = company_origin

    def install(self, page: Any) -> None:
        try:
            page.featurePermissionRequested.disconnect()
        except (RuntimeError, TypeError):
            pass  # nothing was connected
        page.permissionRequested.connect(self.answer)

    def answer(self, permission: Any) -> None:
        origin = permission.origin().toString()
        kind = permission.permissionType().name
        granted = allows(company_origin=self.company_origin, origin=origin, permission=kind)
        if granted:
            permission.grant()
        else:
            permission.deny()
        logger.info("permission %s for %s: %s", kind, origin, "granted" if granted else "denied")
