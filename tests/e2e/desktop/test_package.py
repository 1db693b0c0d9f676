"""The packaged desktop app (dist/TOC, from `make desktop-package`): the Linux build's smoke test.

The bundle starts under the virtual screen, its QtWebEngine loads a real TOC server's Profile
Wizard, and the screen shows it. Skipped when the bundle is not built, except in CI (CI=true),
which must build it first: there a missing bundle fails.
"""

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.e2e.conftest import Server
from tests.e2e.desktop.conftest import distinct_colours

BUNDLE = Path(settings.BASE_DIR) / "dist" / "TOC"
BINARY = BUNDLE / "TOC"
IN_CI = os.environ.get("CI") == "true"
BRAND_BLUE = (0x1F, 0x5F, 0xBF)
PAINT_SECONDS = 15

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BINARY.exists() and not IN_CI, reason="dist/TOC/TOC is not built (`make desktop-package` builds it)"
    ),
]


@pytest.fixture(scope="session")
def packaged_app() -> Path:
    """The bundle's launcher; in CI a missing one is a failure (listed first: before the server starts)."""
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} is missing: CI must run `make desktop-package` before the tests")
    return BINARY


def test_the_packaged_app_opens_the_profile_wizard_of_the_company_server(
    packaged_app: Path, e2e_server: Server, desktop_app: Any
) -> None:
    # the bundle is the desktop app alone, with QtWebEngine's helper process
    assert not (BUNDLE / "_internal" / "django").exists()
    assert (BUNDLE / "_internal" / "PySide6" / "Qt" / "libexec" / "QtWebEngineProcess").is_file()

    # when it starts with the company's address
    app = desktop_app(command=[str(packaged_app)])
    page = app.start("--company-url", e2e_server.url)

    # then its web engine loads the server's Profile Wizard, with the app's bridge
    page.wait_for("location.pathname === '/welcome/' && document.readyState === 'complete'", timeout=60)
    page.wait_for("document.documentElement.dataset.tocDesktop === 'ready'")
    assert page.evaluate("document.title") == "Profile Wizard · TOC"
    app.wait_for_log(f"loaded {e2e_server.url}/welcome/")
    # and the screen shows it (painted a moment after the load): many colours, TOC's blue among them
    deadline = time.monotonic() + PAINT_SECONDS
    count, colours = distinct_colours(app.screenshot("desktop-package"))
    while BRAND_BLUE not in colours and time.monotonic() < deadline:
        time.sleep(0.5)
        count, colours = distinct_colours(app.screenshot("desktop-package"))
    assert count >= 50, f"the screen is nearly blank ({count} colours)"
    assert BRAND_BLUE in colours

    # and it quits cleanly on SIGTERM (as at a session logout)
    assert app.stop() == 0
