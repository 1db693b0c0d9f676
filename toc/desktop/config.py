"""Where the desktop app keeps its settings and its web storage, and the settings themselves.

One folder per user (`data_dir()`), private to them (0700): `settings.json` (the company
address), `web/` (QtWebEngine's cookies and local storage, so the next launch opens already
signed in) and `cache/` (its HTTP cache). Settings are written atomically: a crash never leaves half a file.
"""

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

APP_NAME = "TOC"
logger = logging.getLogger(__name__)


def data_dir() -> Path:
    """The per-user folder the platform expects applications to keep their data in."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


@dataclass(frozen=True)
class Settings:
    company_url: str = ""
    """The company's TOC address (scheme and host, maybe a path); empty until the first connect."""


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.settings_path = folder / "settings.json"
        self.web_storage = folder / "web"
        self.cache = folder / "cache"
        self.log_path = folder / "toc-desktop.log"

    def prepare(self) -> None:
        for folder in (self.folder, self.web_storage, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)

    def load(self) -> Settings:
        try:
            raw = json.loads(self.settings_path.read_text(encoding="utf-8"))
            company_url = raw.get("company_url")
            return Settings(company_url=company_url if isinstance(company_url, str) else "")
        except FileNotFoundError:
            return Settings()
        except (OSError, ValueError, AttributeError) as error:
            # Keep the unreadable file for support; start as on a first launch.
            logger.warning("settings file %s is unreadable (%s); starting afresh", self.settings_path, error)
            self.settings_path.replace(self.settings_path.with_suffix(".json.unreadable"))
            return Settings()

    def save(self, settings: Settings) -> None:
        self.prepare()
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(asdict(settings), out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.settings_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def update(self, **changes: str) -> Settings:
        settings = replace(self.load(), **changes)
        self.save(settings)
        return settings
