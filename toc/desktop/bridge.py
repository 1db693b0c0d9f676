"""What pages in the window may ask of the app, and the channel they ask through.

A QWebChannel object (`tocDesktop`) lives in an isolated JavaScript world of every page, with a
small relay (pages/isolated-world.js) that turns the page's `toc-desktop-request` events into
calls and the answers back into events. This works under the server's Content-Security-Policy
(pywebview's own js_api evaluates strings, which `script-src 'self'` forbids) and leaves the page
no handle on the app.

Pages of the company's origin report presence (for the tray), sign-out (to clear the stored
sign-in) and read or change start-at-login; TOC's own local pages (first launch, cannot reach
the server) connect, retry or change the address. Every request is checked against the page
that asked, so any other page (an SSO provider's, say) gets nothing.
"""

import json
import logging
import threading
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QFile, QIODevice, QObject, Signal, Slot
from qtpy.QtWebChannel import QWebChannel
from qtpy.QtWebEngineCore import QWebEngineScript

from toc.desktop.address import AddressError, origin_of

if TYPE_CHECKING:
    from toc.desktop.app import Shell

logger = logging.getLogger(__name__)
NOT_HERE = {"error": "Not available on this page."}
LOCAL_PAGE_PREFIX = "data:text/html"
LOCAL_METHODS = frozenset({"connect", "retry", "change_address"})
COMPANY_METHODS = frozenset({"presence_changed", "signed_out", "desktop_state", "set_start_at_login"})


def allowed(method: str, *, page_url: str, company_origin: str) -> bool:
    """Pure rule: TOC's own pages and the company's pages each have their methods.

    TOC's own pages are set by the app as HTML (`data:text/html`); a web page cannot navigate
    the window to a `data:` URL (Chromium blocks it), unlike `blob:` or `about:` pages."""
    if method in LOCAL_METHODS:
        return page_url.startswith(LOCAL_PAGE_PREFIX)
    if method in COMPANY_METHODS:
        return bool(company_origin) and origin_of(page_url) == company_origin
    return False


class DesktopChannel(QObject):
    answered = Signal(str)

    def __init__(self, shell: "Shell", page: Any) -> None:
        super().__init__()
        self.shell = shell
        self.page = page
        self.connects = 0  # a later connect makes an earlier one's answer moot

    def install(self) -> None:
        world = QWebEngineScript.ScriptWorldId.ApplicationWorld
        channel = QWebChannel(self.page)
        channel.registerObject("tocDesktop", self)
        self.page.setWebChannel(channel, world)
        relay = QWebEngineScript()
        relay.setName("toc-desktop-relay")
        relay.setWorldId(world)
        relay.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentReady)
        relay.setRunsOnSubFrames(False)
        self.relay_source = _qwebchannel_js() + "\n" + _page_file("isolated-world.js")
        relay.setSourceCode(self.relay_source)
        self.page.scripts().insert(relay)
        self.channel = channel

    def ensure_relay(self) -> None:
        """Run the relay in the loaded document if Qt did not (it skips user scripts in a page set
        right after a failed load); it runs only once per document."""
        self.page.runJavaScript(self.relay_source, QWebEngineScript.ScriptWorldId.ApplicationWorld)

    @Slot(str)
    def request(self, text: str) -> None:
        try:
            message = json.loads(text)
            number, method, args = str(message["id"]), str(message["method"]), list(message.get("args") or [])
            document_url = str(message["document"])  # set by the relay: the document that asked
        except (ValueError, KeyError, TypeError):
            logger.warning("a page sent a request that is not one")
            return
        page_url = self.page.url().toString()
        company_origin = self.shell.company.origin if self.shell.company else ""
        # Both the page's address and the asking document's must qualify (a request sent as the
        # window moves to another address is judged by the document it came from too).
        if not all(allowed(method, page_url=url, company_origin=company_origin) for url in (page_url, document_url)):
            logger.warning("refused %s from %s", method, document_url[:80])
            self._answer(number, NOT_HERE)
            return
        try:
            handler: Callable[..., dict[str, Any] | None] = getattr(self, f"_do_{method}")
            result = handler(number, *args)
        except TypeError:
            result = {"error": f"{method}: wrong arguments."}
        except Exception as error:  # the page gets the reason, not a 30 s wait
            logger.exception("%s failed", method)
            result = {"error": f"{error.__class__.__name__}: {error}"}
        if result is not None:
            self._answer(number, result)

    def _answer(self, number: str, result: dict[str, Any]) -> None:
        self.answered.emit(json.dumps({"id": number, "result": result}))

    # ---- TOC's own pages ----
    def _do_connect(self, number: str, address: str) -> None:
        """Looks the address up off the GUI thread (it may take seconds), then answers."""

        self.connects += 1
        this_connect = self.connects

        def look_up() -> None:
            try:
                company = self.shell.resolve(str(address)[:500])
            except AddressError as error:
                refusal = {"error": str(error)}
                self.shell.run_on_gui(lambda: self._answer(number, refusal))
                return
            except Exception as error:
                logger.exception("looking up %s failed", address)
                failure = {"error": f"{error.__class__.__name__}: {error}"}
                self.shell.run_on_gui(lambda: self._answer(number, failure))
                return

            def opened() -> None:
                if this_connect != self.connects:
                    logger.info("ignored the answer for %s: another address was asked for since", address)
                    return
                self._answer(number, {"ok": True, "url": company.start_url})
                self.shell.open_company(company)

            self.shell.run_on_gui(opened)

        threading.Thread(target=look_up, name="toc-connect", daemon=True).start()
        return None

    def _do_retry(self, number: str) -> dict[str, Any]:
        self.shell.open_saved_company()
        return {"ok": True}

    def _do_change_address(self, number: str) -> dict[str, Any]:
        self.shell.show_connect_page()
        return {"ok": True}

    # ---- the company's pages ----
    def _do_presence_changed(self, number: str, status: str, label: str) -> dict[str, Any]:
        self.shell.show_presence(str(status)[:40], str(label)[:200])
        return {"ok": True}

    def _do_signed_out(self, number: str) -> None:
        """Answers once the cookies and the cache are gone, so the page's next load finds neither."""
        self.shell.forget_sign_in(lambda cleared: self._answer(number, {"ok": cleared}))

    def _do_desktop_state(self, number: str) -> dict[str, Any]:
        return self.shell.desktop_state()

    def _do_set_start_at_login(self, number: str, enabled: bool) -> dict[str, Any]:
        self.shell.set_start_at_login(bool(enabled))
        return self.shell.desktop_state()


def _page_file(name: str) -> str:
    return resources.files("toc.desktop.pages").joinpath(name).read_text(encoding="utf-8")


def _qwebchannel_js() -> str:
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("Qt's qwebchannel.js is missing from this Qt installation")
    try:
        return bytes(source.readAll().data()).decode("utf-8")
    finally:
        source.close()
