"""Where downloads are saved: the suggested name's file part, never overwriting a file."""

from pathlib import Path

import pytest

from toc.desktop.downloads import safe_name, unique_path


@pytest.mark.parametrize(
    ("suggested", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        (".bashrc", "bashrc"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("", "download"),
        ("/", "download"),
    ],
)
def test_the_saved_name_is_the_file_part_of_the_suggested_one(suggested: str, expected: str) -> None:
    assert safe_name(suggested) == expected


def test_a_taken_name_gets_a_number_and_nothing_is_overwritten(tmp_path: Path) -> None:
    # given report.pdf and report (1).pdf already there
    (tmp_path / "report.pdf").write_bytes(b"first")
    (tmp_path / "report (1).pdf").write_bytes(b"second")

    # when / then
    assert unique_path(tmp_path, "report.pdf") == tmp_path / "report (2).pdf"
    assert unique_path(tmp_path, "notes") == tmp_path / "notes"
    assert (tmp_path / "report.pdf").read_bytes() == b"first"
