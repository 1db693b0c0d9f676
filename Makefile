# TOC: `make run` (embedded default) and `make test` (lint, types, migrations, the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run desktop desktop-system desktop-package test lint check-migrations pytest browser clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.desktop: requirements-desktop.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-desktop.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements-desktop.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/python manage.py run_embedded

# The desktop app: `make desktop` opens it (first launch asks for the company address).
desktop: $(VENV)/.desktop desktop-system
	$(BIN)/python -m toc.desktop

# The desktop app packaged (PyInstaller, docs/desktop-packaging.md): dist/TOC/, built again only when
# the app or the packaging changed. Defaults baked in: DESKTOP_BUILD_ARGS="--company-url https://...".
$(VENV)/.packaging: packaging/requirements.txt $(VENV)/.desktop
	$(BIN)/python -m pip install --quiet -r packaging/requirements.txt
	touch $@

# (pyproject.toml: the version the macOS bundle carries.)
DESKTOP_SOURCES := toc/__init__.py $(wildcard toc/desktop/*.py toc/desktop/pages/*) \
	packaging/build.py packaging/toc-desktop.spec pyproject.toml

dist/TOC/TOC: $(VENV)/.packaging $(DESKTOP_SOURCES) | desktop-system
	$(BIN)/python packaging/build.py $(DESKTOP_BUILD_ARGS)
	touch $@

desktop-package: dist/TOC/TOC

# Qt's libraries for the desktop app; for its tests a virtual screen (Xvfb), ImageMagick, and a tray
# (trayer) and window manager (openbox, wmctrl, xdotool) to test the tray on.
DESKTOP_APT := xvfb x11-utils imagemagick libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libnss3 \
	libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libegl1 libgl1 libxkbfile1 libdbus-1-3 fonts-dejavu-core \
	trayer openbox wmctrl xdotool
desktop-system:
	@dpkg -s $(DESKTOP_APT) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DESKTOP_APT) >/dev/null; }

# The browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check-migrations: $(VENV)/.dev
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: $(VENV)/.dev browser desktop-system
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint check-migrations pytest

clean:
	rm -rf $(VENV) var dist build
