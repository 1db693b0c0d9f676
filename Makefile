# TOC: `make run` (embedded default) and `make test` (lint, types, migrations, the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run desktop desktop-system test lint check-migrations pytest browser clean

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

# Qt's libraries for the desktop app, and for its tests a virtual screen (Xvfb) and ImageMagick.
DESKTOP_APT := xvfb x11-utils imagemagick libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libnss3 \
	libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libegl1 libgl1 libxkbfile1 libdbus-1-3 fonts-dejavu-core
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
	rm -rf $(VENV) var
