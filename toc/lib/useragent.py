"""A short, human name for a device from its User-Agent ("Chrome on Windows", "TOC desktop
app on Linux"), for lists such as Switch Device. Best effort: unknown parts are left out."""

import re

_APPS = [
    ("QtWebEngine", "TOC desktop app"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def device_label(user_agent: str) -> str:
    app = next((name for marker, name in _APPS if marker in user_agent), "Browser")
    system = next((name for marker, name in _SYSTEMS if re.search(re.escape(marker), user_agent)), "")
    return f"{app} on {system}" if system else app
