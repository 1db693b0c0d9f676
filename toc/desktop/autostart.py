"""Start TOC at login: an XDG autostart entry (Linux), a LaunchAgent (macOS) or the user's Run
key (Windows). The command is the packaged app itself, or `python -m toc.desktop` when run from
a checkout, with `--background` so it starts in the tray.
"""

import os
import plistlib
import sys
from pathlib import Path

ENTRY_NAME = "toc-desktop"
LAUNCH_AGENT_LABEL = "tel.tops.toc.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "TOC"


def launch_command(extra: list[str] | None = None) -> list[str]:
    base = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "toc.desktop"]
    return [*base, *(extra or []), "--background"]


def desktop_entry_quote(argument: str) -> str:
    """Quote one Exec argument as the Desktop Entry Specification says."""
    if argument and not any(character in argument for character in " \t\n\"'\\><~|&;$*?#()`="):
        return argument
    escaped = "".join("\\" + character if character in '"`$\\' else character for character in argument)
    return f'"{escaped}"'


def desktop_entry(command: list[str]) -> str:
    # Exec is a string value: its own escapes (a backslash as two) are undone before the quoting
    # rule applies, so every backslash of the quoted line is written twice.
    quoted = " ".join(desktop_entry_quote(argument) for argument in command)
    exec_line = quoted.replace("\\", "\\\\").replace("%", "%%")
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=TOC\n"
        "Comment=Company phone, chat and SMS\n"
        f"Exec={exec_line}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def launch_agent(command: list[str]) -> bytes:
    return plistlib.dumps({"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": command, "RunAtLoad": True})


def windows_command_line(command: list[str]) -> str:
    import subprocess

    return subprocess.list2cmdline(command)


class Autostart:
    """Turns start-at-login on and off for this user on this platform."""

    def __init__(self, command: list[str], *, platform: str = sys.platform, home: Path | None = None) -> None:
        self.command = command
        self.platform = platform
        self.home = home or Path.home()

    @property
    def path(self) -> Path | None:
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        if self.platform == "win32":
            return None
        config = os.environ.get("XDG_CONFIG_HOME") if self.home == Path.home() else None
        return Path(config or self.home / ".config") / "autostart" / f"{ENTRY_NAME}.desktop"

    def is_enabled(self) -> bool:
        if self.platform == "win32":
            return self._windows_value() is not None
        path = self.path
        return path is not None and path.exists()

    def set_enabled(self, enabled: bool) -> None:
        if self.platform == "win32":
            self._set_windows(enabled)
            return
        path = self.path
        assert path is not None
        if not enabled:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        content = launch_agent(self.command) if self.platform == "darwin" else desktop_entry(self.command).encode()
        temporary = path.with_name(f".{path.name}.new")
        temporary.write_bytes(content)
        os.replace(temporary, path)

    def _windows_value(self) -> str | None:  # pragma: no cover - Windows only
        if sys.platform != "win32":
            raise RuntimeError("the Run key is Windows's")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                return str(winreg.QueryValueEx(key, RUN_VALUE)[0])
        except FileNotFoundError:
            return None

    def _set_windows(self, enabled: bool) -> None:  # pragma: no cover - Windows only
        if sys.platform != "win32":
            raise RuntimeError("the Run key is Windows's")
        import winreg

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            if enabled:
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, windows_command_line(self.command))
            else:
                try:
                    winreg.DeleteValue(key, RUN_VALUE)
                except FileNotFoundError:
                    pass
