"""Start at login: the XDG autostart entry (quoted as the Desktop Entry Specification says), the
macOS LaunchAgent, turning it on and off in a home folder of the test's own, and the command."""

import plistlib
import sys
from pathlib import Path

import pytest

from toc.desktop.autostart import Autostart, desktop_entry, desktop_entry_quote, launch_agent, launch_command

COMMAND = ["/usr/bin/python3", "-m", "toc.desktop", "--data-dir", "/home/a b/TOC", "--background"]
ENTRY = (
    "[Desktop Entry]\n"
    "Type=Application\n"
    "Name=TOC\n"
    "Comment=Company phone, chat and SMS\n"
    'Exec=/usr/bin/python3 -m toc.desktop --data-dir "/home/a b/TOC" --background\n'
    "Terminal=false\n"
    "X-GNOME-Autostart-enabled=true\n"
)


def exec_line_of(entry: str) -> str:
    (line,) = [line for line in entry.splitlines() if line.startswith("Exec=")]
    return line.removeprefix("Exec=")


def test_the_desktop_entry_quotes_an_argument_with_a_space() -> None:
    # when / then
    assert desktop_entry(COMMAND) == ENTRY


@pytest.mark.parametrize(
    ("argument", "written"),
    [
        ("/opt/toc", "/opt/toc"),
        ("", '""'),
        ("100%", "100%%"),
        ("/home/a b/100%", '"/home/a b/100%%"'),
        ("it's", '"it\'s"'),
        ("a;b", '"a;b"'),
        ("~/TOC", '"~/TOC"'),
    ],
)
def test_the_desktop_entry_quotes_reserved_characters_and_doubles_percent_signs(argument: str, written: str) -> None:
    # when / then
    assert exec_line_of(desktop_entry(["/usr/bin/toc", argument])) == f"/usr/bin/toc {written}"


@pytest.mark.parametrize(
    ("argument", "written"),
    [
        ("/home/$USER", r'"/home/\\$USER"'),
        ("/home/`id`", r'"/home/\\`id\\`"'),
        ('/home/say "hi"', r'"/home/say \\"hi\\""'),
        ("C:\\TOC", r'"C:\\\\TOC"'),
        ("/home/a b\\", r'"/home/a b\\\\"'),
    ],
)
def test_the_desktop_entry_escapes_quoting_backslashes_as_a_string_value(argument: str, written: str) -> None:
    # when / then
    assert exec_line_of(desktop_entry(["/usr/bin/toc", argument])) == f"/usr/bin/toc {written}"


def test_the_quoting_escapes_dollar_backquote_backslash_and_double_quote() -> None:
    # when / then (the quoting rule alone, before the string-value escaping)
    assert desktop_entry_quote('a$b`c\\d"e') == '"a\\$b\\`c\\\\d\\"e"'


def test_the_launch_agent_runs_the_command_at_login() -> None:
    # when
    agent = plistlib.loads(launch_agent(COMMAND))

    # then
    assert agent == {"Label": "tel.tops.toc.desktop", "ProgramArguments": COMMAND, "RunAtLoad": True}


def test_start_at_login_on_linux_writes_and_removes_the_autostart_entry(tmp_path: Path) -> None:
    # given
    autostart = Autostart(COMMAND, platform="linux", home=tmp_path)
    entry = tmp_path / ".config" / "autostart" / "toc-desktop.desktop"

    # when
    autostart.set_enabled(True)

    # then
    assert autostart.path == entry
    assert entry.read_text() == ENTRY
    assert autostart.is_enabled() is True
    assert sorted(path.name for path in entry.parent.iterdir()) == ["toc-desktop.desktop"]

    # when
    autostart.set_enabled(False)

    # then
    assert not entry.exists()
    assert autostart.is_enabled() is False


def test_start_at_login_on_macos_writes_and_removes_the_launch_agent(tmp_path: Path) -> None:
    # given
    autostart = Autostart(COMMAND, platform="darwin", home=tmp_path)
    agent = tmp_path / "Library" / "LaunchAgents" / "tel.tops.toc.desktop.plist"

    # when
    autostart.set_enabled(True)

    # then
    assert autostart.path == agent
    assert agent.read_bytes() == launch_agent(COMMAND)
    assert autostart.is_enabled() is True
    assert sorted(path.name for path in agent.parent.iterdir()) == ["tel.tops.toc.desktop.plist"]

    # when
    autostart.set_enabled(False)

    # then
    assert not agent.exists()
    assert autostart.is_enabled() is False


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_turning_start_at_login_off_twice_is_fine(tmp_path: Path, platform: str) -> None:
    # given
    autostart = Autostart(COMMAND, platform=platform, home=tmp_path)

    # when
    autostart.set_enabled(False)
    autostart.set_enabled(False)

    # then
    assert autostart.is_enabled() is False


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_turning_start_at_login_on_again_rewrites_the_current_command(tmp_path: Path, platform: str) -> None:
    # given
    Autostart(["/old/toc", "--background"], platform=platform, home=tmp_path).set_enabled(True)
    autostart = Autostart(COMMAND, platform=platform, home=tmp_path)

    # when
    autostart.set_enabled(True)

    # then
    assert autostart.path is not None
    expected = launch_agent(COMMAND) if platform == "darwin" else ENTRY.encode()
    assert autostart.path.read_bytes() == expected


def test_the_command_from_a_checkout_runs_the_module_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.delattr(sys, "frozen", raising=False)

    # when / then
    assert launch_command(["--data-dir", "/x"]) == [
        sys.executable,
        "-m",
        "toc.desktop",
        "--data-dir",
        "/x",
        "--background",
    ]
    assert launch_command() == [sys.executable, "-m", "toc.desktop", "--background"]


def test_the_command_of_the_packaged_app_runs_the_app_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setattr(sys, "frozen", True, raising=False)

    # when / then
    assert launch_command(["--data-dir", "/x"]) == [sys.executable, "--data-dir", "/x", "--background"]
