"""The desktop app's settings folder: private, written atomically, and an unreadable file is kept
aside for support while the app starts afresh."""

import errno
import json
import stat
import sys
from pathlib import Path

import pytest

from toc.desktop import config
from toc.desktop.config import Settings, Store, data_dir


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "TOC")


def test_saved_settings_load_back(store: Store) -> None:
    # when
    store.save(Settings(company_url="https://toc.example.com"))

    # then
    assert store.load() == Settings(company_url="https://toc.example.com")
    assert json.loads(store.settings_path.read_text()) == {"company_url": "https://toc.example.com"}


def test_nothing_saved_loads_the_first_launch_settings(store: Store) -> None:
    # when / then
    assert store.load() == Settings(company_url="")


def test_the_folders_and_the_settings_file_are_private(store: Store) -> None:
    # given a folder made with a permissive mode
    store.folder.mkdir(mode=0o755)
    store.folder.chmod(0o755)

    # when
    store.prepare()
    store.save(Settings(company_url="https://toc.example.com"))

    # then
    assert (mode_of(store.folder), mode_of(store.web_storage), mode_of(store.settings_path)) == (0o700, 0o700, 0o600)


def test_saving_leaves_no_temporary_file(store: Store) -> None:
    # when
    store.save(Settings(company_url="https://toc.example.com"))
    store.save(Settings(company_url="https://toc.example.net"))

    # then
    assert sorted(path.name for path in store.folder.iterdir()) == ["cache", "settings.json", "web"]


def test_a_failed_save_keeps_the_previous_settings_and_no_temporary_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    store.save(Settings(company_url="https://toc.example.com"))

    def full_disk(source: object, target: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(config.os, "replace", full_disk)

    # when
    with pytest.raises(OSError, match="No space left on device"):
        store.save(Settings(company_url="https://toc.example.net"))

    # then
    monkeypatch.undo()
    assert store.load() == Settings(company_url="https://toc.example.com")
    assert sorted(path.name for path in store.folder.iterdir()) == ["cache", "settings.json", "web"]


@pytest.mark.parametrize("content", ["not json {", "[1, 2]", ""])
def test_an_unreadable_settings_file_is_kept_aside_and_the_app_starts_afresh(store: Store, content: str) -> None:
    # given
    store.prepare()
    store.settings_path.write_text(content)

    # when
    settings = store.load()

    # then
    assert settings == Settings()
    assert not store.settings_path.exists()
    assert (store.folder / "settings.json.unreadable").read_text() == content


def test_a_settings_file_without_an_address_loads_as_a_first_launch(store: Store) -> None:
    # given
    store.prepare()
    store.settings_path.write_text('{"other": 1}')

    # when / then
    assert store.load() == Settings()


def test_a_null_address_loads_as_a_first_launch(store: Store) -> None:
    # given
    store.prepare()
    store.settings_path.write_text('{"company_url": null}')

    # when / then
    assert store.load() == Settings()


def test_update_changes_the_given_field_and_saves_it(store: Store) -> None:
    # given
    store.save(Settings(company_url="https://toc.example.com"))

    # when
    settings = store.update(company_url="https://toc.example.net")

    # then
    assert settings == Settings(company_url="https://toc.example.net")
    assert Store(store.folder).load() == settings


def test_update_without_changes_keeps_the_saved_settings(store: Store) -> None:
    # given
    store.save(Settings(company_url="https://toc.example.com"))

    # when
    settings = store.update()

    # then
    assert settings == Settings(company_url="https://toc.example.com")
    assert store.load() == settings


def test_update_refuses_a_field_that_does_not_exist(store: Store) -> None:
    # when / then
    with pytest.raises(TypeError):
        store.update(colour="blue")


def test_the_data_folder_on_linux_honours_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    # when / then
    assert data_dir() == tmp_path / "data" / "TOC"


def test_the_data_folder_on_linux_defaults_to_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    # when / then
    assert data_dir() == tmp_path / ".local" / "share" / "TOC"


def test_the_data_folder_on_macos_is_in_application_support(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path))

    # when / then
    assert data_dir() == tmp_path / "Library" / "Application Support" / "TOC"


def test_the_data_folder_on_windows_is_in_local_app_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))

    # when / then
    assert data_dir() == tmp_path / "Local" / "TOC"
