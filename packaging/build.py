"""Build the desktop app with PyInstaller: `python packaging/build.py [--company-url URL] [--directory-url URL]`.

1. Renders TOC's brand icon (`toc.desktop.icon.brand_pixmap`, Qt offscreen) into build/desktop/:
   toc.png (512 px) and, from the same drawing at each size, toc.ico (Windows) and toc.icns (macOS).
2. Writes build/desktop/build_defaults.json when a default is given (the spec bundles it as
   toc/desktop/build_defaults.json, which `toc.desktop.app.build_defaults()` reads); removes a stale
   one otherwise. The source tree is never written to.
3. Runs PyInstaller with packaging/toc-desktop.spec: dist/TOC/ (onedir; TOC or TOC.exe inside),
   and dist/TOC.app on macOS; PyInstaller's work files under build/pyinstaller/.

Every step has a time limit; any failure stops the build with a message and a non-zero exit.
Run it with the Python that has requirements-desktop.txt and packaging/requirements.txt installed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "toc-desktop.spec"
ASSETS = ROOT / "build" / "desktop"
WORK = ROOT / "build" / "pyinstaller"
DIST = ROOT / "dist"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICON_TIMEOUT_SECONDS = 120
BUILD_TIMEOUT_SECONDS = 1800


class BuildError(Exception):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build the TOC desktop app (PyInstaller, onedir).")
    parser.add_argument("--company-url", default="", help="bake in the company's TOC address (first launch skips it)")
    parser.add_argument("--directory-url", default="", help="bake in the directory that maps SSO domains to companies")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache and work folder first")
    parser.add_argument("--timeout", type=int, default=BUILD_TIMEOUT_SECONDS, help="PyInstaller's time limit (s)")
    parser.add_argument("--render-icons", type=Path, help=argparse.SUPPRESS)  # the icon step's own process
    return parser.parse_args(argv)


def checked_url(name: str, value: str) -> str:
    value = value.strip()
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BuildError(f"--{name} must be an http(s) address, such as https://toc.example.com (got {value!r})")
    return value.rstrip("/")


def render_icons(folder: Path) -> None:
    """In its own process (Qt offscreen): the brand icon as toc-<size>.png for each size."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_API", "pyside6")
    sys.path.insert(0, str(ROOT))
    from qtpy.QtGui import QGuiApplication

    from toc.desktop.icon import brand_pixmap

    application = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    folder.mkdir(parents=True, exist_ok=True)
    for size in ICON_SIZES:
        path = folder / f"toc-{size}.png"
        if not brand_pixmap(size).save(str(path), "PNG"):
            raise BuildError(f"Qt could not write {path}")
    del application


def make_icons() -> None:
    frames = ASSETS / "icon-frames"
    shutil.rmtree(frames, ignore_errors=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--render-icons", str(frames)]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    run(command, env=env, timeout=ICON_TIMEOUT_SECONDS, what="rendering the icon")
    from PIL import Image

    images = {size: Image.open(frames / f"toc-{size}.png").convert("RGBA") for size in ICON_SIZES}
    images[512].save(ASSETS / "toc.png")
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(
        ASSETS / "toc.ico",
        format="ICO",
        sizes=[(size, size) for size in ICO_SIZES],
        append_images=[images[size] for size in ICO_SIZES if size != max(ICO_SIZES)],
    )
    images[1024].save(
        ASSETS / "toc.icns", format="ICNS", append_images=[images[size] for size in (32, 64, 128, 256, 512)]
    )
    for name in ("toc.png", "toc.ico", "toc.icns"):
        if (ASSETS / name).stat().st_size == 0:
            raise BuildError(f"{ASSETS / name} is empty")


def write_build_defaults(company_url: str, directory_url: str) -> Path | None:
    path = ASSETS / "build_defaults.json"
    defaults = {key: value for key, value in (("company_url", company_url), ("directory_url", directory_url)) if value}
    if not defaults:
        path.unlink(missing_ok=True)  # a previous build's defaults must not leak into this one
        return None
    path.write_text(json.dumps(defaults, indent=2) + "\n", encoding="utf-8")
    return path


def run(command: list[str], *, env: dict[str, str], timeout: int, what: str) -> None:
    try:
        completed = subprocess.run(command, cwd=ROOT, env=env, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as error:
        raise BuildError(f"{what} did not finish within {timeout} s") from error
    if completed.returncode != 0:
        raise BuildError(f"{what} failed (exit {completed.returncode}): {' '.join(command)}")


def run_pyinstaller(*, clean: bool, timeout: int) -> None:
    command = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level", "WARN"]
    command += ["--distpath", str(DIST), "--workpath", str(WORK)]
    if clean:
        command.append("--clean")
    # The spec reads the assets folder from here; QT_API keeps qtpy (and the hooks) on PySide6.
    env = dict(os.environ, TOC_PACKAGING_ASSETS=str(ASSETS), QT_API="pyside6")
    run(command, env=env, timeout=timeout, what="PyInstaller")


def output_paths() -> list[Path]:
    executable = DIST / "TOC" / ("TOC.exe" if sys.platform == "win32" else "TOC")
    if not executable.is_file():
        raise BuildError(f"PyInstaller finished but {executable} is missing")
    if (DIST / "TOC" / "_internal" / "django").exists():
        raise BuildError("the bundle contains Django: check the spec's excludes")
    paths = [executable]
    if sys.platform == "darwin":
        app = DIST / "TOC.app"
        if not (app / "Contents" / "MacOS" / "TOC").is_file():
            raise BuildError(f"PyInstaller finished but {app} is incomplete")
        paths.append(app)
    return paths


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_icons:
        render_icons(args.render_icons)
        return 0
    started = time.monotonic()
    try:
        company_url = checked_url("company-url", args.company_url) if args.company_url else ""
        directory_url = checked_url("directory-url", args.directory_url) if args.directory_url else ""
        if (ROOT / "toc" / "desktop" / "build_defaults.json").exists():
            raise BuildError("remove toc/desktop/build_defaults.json: defaults are given to build.py, not kept in toc/")
        ASSETS.mkdir(parents=True, exist_ok=True)
        print("== rendering the icon", flush=True)
        make_icons()
        defaults = write_build_defaults(company_url, directory_url)
        print(f"== build defaults: {defaults.read_text().strip() if defaults else 'none'}", flush=True)
        print("== running PyInstaller (about a minute)", flush=True)
        run_pyinstaller(clean=args.clean, timeout=args.timeout)
        paths = output_paths()
    except BuildError as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 1
    size = folder_size(DIST / "TOC") / 1024 / 1024
    print(f"== built in {time.monotonic() - started:.0f} s; dist/TOC is {size:.0f} MiB")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
