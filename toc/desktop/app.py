"""The desktop app's entry point and its shell around the pywebview window.

First launch: TOC's own page asks for the company's address (or SSO domain), then the window
opens the server's Profile Wizard. Later launches open the company's address straight away; the
sign-in cookie is kept in the app's private web storage (`config.Store`), so the user is signed
in. Signing out in the communicator clears it.
"""

import argparse
import json
import logging
import logging.handlers
import os
import shutil
import string
import sys
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from toc.desktop.address import AddressError, Company, origin_of, resolve_within
from toc.desktop.config import Store, data_dir

logger = logging.getLogger("toc.desktop")
WINDOW_TITLE = "TOC"
GUI_CALL_TIMEOUT_SECONDS = 10
TRAY_RETRY_MILLISECONDS = 2000
TRAY_RETRIES = 30  # at login the panel may come up after TOC
ERR_ABORTED = -3  # Chromium's net error for a navigation replaced by another


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="toc-desktop", description="TOC: your company's phone, chat and SMS.")
    parser.add_argument("--company-url", default="", help="your company's TOC address (skips the first question)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where TOC keeps its settings and sign-in")
    parser.add_argument("--background", action="store_true", help="start in the tray, as at login")
    parser.add_argument("--forget", action="store_true", help="forget the company address and the sign-in first")
    return parser.parse_args(argv)


def build_defaults() -> dict[str, str]:
    """Defaults a packaged build was made with (packaging/build.py writes build_defaults.json)."""
    try:
        text = resources.files("toc.desktop").joinpath("build_defaults.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    data = json.loads(text)
    return {key: str(value) for key, value in data.items() if isinstance(value, str)}


def render_page(name: str, **state: Any) -> str:
    pages = resources.files("toc.desktop.pages")
    template = pages.joinpath(f"{name}.html").read_text(encoding="utf-8")
    bridge = pages.joinpath("page-bridge.js").read_text(encoding="utf-8")
    # safe_substitute: the pages' own JavaScript has ${...} template literals.
    return string.Template(template).safe_substitute(state=json.dumps(state).replace("</", "<\\/"), bridge=bridge)


def configure_logging(store: Store) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    handlers.append(logging.handlers.RotatingFileHandler(store.log_path, maxBytes=1_000_000, backupCount=3))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers)


def configure_qt_environment() -> None:
    """Qt binding and Chromium flags, before Qt loads. PySide6 (LGPL) is the binding we ship."""
    os.environ.setdefault("QT_API", "pyside6")
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--no-sandbox" not in flags:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(flags)


def start_qt() -> Any:
    """Create the application and start QtWebEngine now, with our flags: pywebview adds
    `--use-fake-ui-for-media-stream` (every origin gets the microphone) when it makes its
    window, which is then too late to take effect."""
    import qtpy.QtWebEngineWidgets  # noqa: F401  (must load before the QApplication exists)
    from qtpy.QtWebEngineCore import QWebEngineProfile
    from qtpy.QtWidgets import QApplication

    application = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(application, QApplication)
    application.setApplicationName("TOC")
    application.setDesktopFileName("toc-desktop")
    QWebEngineProfile.defaultProfile()
    return application


class Shell:
    """The window and everything around it: permissions, notifications, tray, start at login."""

    def __init__(self, store: Store, args: argparse.Namespace, defaults: dict[str, str], first_error: str = "") -> None:
        import webview
        from qtpy.QtWidgets import QSystemTrayIcon

        from toc.desktop.autostart import Autostart, launch_command
        from toc.desktop.permissions import PermissionHandler

        self.store = store
        self.directory_url = os.environ.get("TOC_DESKTOP_DIRECTORY_URL", defaults.get("directory_url", ""))
        saved = store.load().company_url
        self.company: Company | None = Company(url=saved) if saved else None
        self.permissions = PermissionHandler(self.company.origin if self.company else "")
        extra = ["--data-dir", str(store.folder.resolve())] if args.data_dir else []
        self.autostart = Autostart(launch_command(extra))
        self.has_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: Any = None
        self.native: Any = None
        self.profile: Any = None
        self.gui: Any = None
        self.quitting = False
        self.told_about_tray = False
        self.tray_retries = 0
        first_address = args.company_url or defaults.get("company_url", "")
        html = None if self.company else render_page("connect", address=first_address, error=first_error)
        window = webview.create_window(
            WINDOW_TITLE,
            url=self.company.url + "/" if self.company else None,
            html=html,
            width=1180,
            height=740,
            min_size=(360, 520),
            hidden=args.background and self.has_tray,
            minimized=args.background and not self.has_tray,
            text_select=True,
        )
        assert window is not None
        self.window = window
        self.window.events.before_show += self._on_before_show
        self.window.events.closing += self._on_closing

    # ---- set-up on the GUI thread, before the window shows ----
    def _on_before_show(self, window: Any) -> None:
        from qtpy.QtWebEngineCore import QWebEngineProfile, QWebEngineSettings

        from toc.desktop.bridge import DesktopChannel
        from toc.desktop.downloads import Downloads
        from toc.desktop.icon import brand_icon
        from toc.desktop.notifications import Notifier

        self.gui = GuiCalls()
        self.native = window.native
        page = self.native.webview.page()
        self.profile = page.profile()
        # Every request comes to our policy (a grant stored on disk would outlive a change of company).
        self.profile.setPersistentPermissionsPolicy(QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
        web_settings = self.profile.settings()
        web_settings.setAttribute(QWebEngineSettings.WebAttribute.PlaybackRequiresUserGesture, False)  # ringtones
        web_settings.setAttribute(QWebEngineSettings.WebAttribute.ScreenCaptureEnabled, True)
        # The HTTP cache too in the app's private folder (Qt's default is the user's cache folder).
        self.profile.setCachePath(str(self.store.cache))
        self.permissions.install(page)
        # Our channel replaces pywebview's js_api (see bridge.py); its per-load injection goes too.
        page.loadFinished.disconnect(self.native.on_load_finished)
        self.channel = DesktopChannel(self, page)
        self.channel.install()
        self.notifier = Notifier(on_open=self.show_window, tray=lambda: self.tray.icon if self.tray else None)
        self.profile.setNotificationPresenter(self.notifier.present)
        self.downloads = Downloads(folder=downloads_folder, notify=self.notifier.show_own)
        self.profile.downloadRequested.connect(self.downloads.requested)
        watch_session_end(self)
        page.loadingChanged.connect(self._on_loading_changed)
        self.native.setWindowIcon(brand_icon())
        self._make_tray()
        logger.info("window ready: %s", self.company.url if self.company else "first launch")

    def _make_tray(self) -> None:
        """The tray icon, once the desktop has a tray: at login its panel may come up after TOC."""
        from qtpy.QtCore import QTimer
        from qtpy.QtWidgets import QSystemTrayIcon

        from toc.desktop.tray import Tray

        if self.tray is not None:
            return
        if not QSystemTrayIcon.isSystemTrayAvailable():
            if self.tray_retries < TRAY_RETRIES:
                self.tray_retries += 1
                QTimer.singleShot(TRAY_RETRY_MILLISECONDS, self._make_tray)
            return
        self.has_tray = True
        self.tray = Tray(autostart=self.autostart, on_open=self.show_window, on_quit=self.quit)
        self.tray.icon.messageClicked.connect(self.notifier.clicked_in_tray)
        logger.info("tray icon shown")

    def _on_loading_changed(self, info: Any) -> None:
        from qtpy.QtCore import QTimer
        from qtpy.QtWebEngineCore import QWebEngineLoadingInfo

        url = info.url().toString()
        shown = url if url.startswith(("http://", "https://")) else url[:40] + "…"
        if info.status() == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
            logger.info("loaded %s", shown)
            self.channel.ensure_relay()
            return
        if info.status() != QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            return
        # Not for a navigation that was cancelled (ERR_ABORTED) or an HTTP error the server answered.
        unreachable = info.errorCode() != ERR_ABORTED and info.errorDomain() not in (
            QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain,
            QWebEngineLoadingInfo.ErrorDomain.NoErrorDomain,
        )
        logger.warning("could not load %s: %s", shown, info.errorString())
        if unreachable and self.company is not None and origin_of(url) == self.company.origin:
            page = render_page("unreachable", address=self.company.url, reason=info.errorString())
            QTimer.singleShot(0, lambda: self.show_local_page(page))

    def _on_closing(self) -> bool:
        """Closing the window keeps TOC in the tray (calls still ring); Quit is in the tray menu."""
        if self.quitting or self.tray is None:
            return True
        self.native.hide()
        logger.info("window closed: TOC keeps running in the tray")
        if not self.told_about_tray:
            self.told_about_tray = True
            self.notifier.show_own("TOC is still running", "Calls and messages still reach you. Quit from here.")
        return False

    # ---- asked for by pages (any thread) ----
    def resolve(self, address: str) -> Company:
        return resolve_within(address, directory_url=self.directory_url)

    def open_company(self, company: Company) -> None:
        self.store.update(company_url=company.url)
        self.company = company
        self.permissions.company_origin = company.origin
        logger.info("company address: %s (SSO domain: %s)", company.url, company.sso_domain or "none")
        self.window.load_url(company.start_url)

    def open_saved_company(self) -> None:
        if self.company is not None:
            self.window.load_url(self.company.url + "/")
        else:
            self.show_connect_page()

    def show_connect_page(self) -> None:
        address = self.company.url if self.company else ""
        self.run_on_gui(lambda: self.show_local_page(render_page("connect", address=address, error="")))

    def show_local_page(self, html: str) -> None:
        """One of TOC's own pages, as `data:text/html` (what bridge.allowed trusts); on the GUI thread.
        (pywebview's load_html would give it a file: address in the app's folder.)"""
        from qtpy.QtCore import QUrl

        self.native.webview.setHtml(html, QUrl(""))

    def show_presence(self, status: str, label: str) -> None:
        logger.info("presence: %s (%s)", status, label)
        if self.tray is not None:
            self.run_on_gui(lambda: self.tray.show_presence(status, label))

    def forget_sign_in(self, done: Callable[[bool], None]) -> None:
        """After a sign-out: no cookie or cached page of the company stays on this computer.
        On the GUI thread; `done(True)` once the cache is cleared too (the page then navigates),
        `done(False)` if that takes over GUI_CALL_TIMEOUT_SECONDS."""
        from qtpy.QtCore import QTimer

        finished = False

        def finish(cleared: bool) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            self.profile.clearHttpCacheCompleted.disconnect(on_cleared)
            if cleared:
                logger.info("signed out: cookies and cache cleared")
            else:
                logger.error("signed out, but clearing the cache did not finish in %d s", GUI_CALL_TIMEOUT_SECONDS)
            done(cleared)

        def on_cleared() -> None:
            finish(True)

        self.profile.cookieStore().deleteAllCookies()
        self.profile.clearAllVisitedLinks()
        self.profile.clearHttpCacheCompleted.connect(on_cleared)
        self.profile.clearHttpCache()
        QTimer.singleShot(GUI_CALL_TIMEOUT_SECONDS * 1000, lambda: finish(False))

    def desktop_state(self) -> dict[str, Any]:
        return {"start_at_login": self.autostart.is_enabled(), "tray": self.tray is not None}

    def set_start_at_login(self, enabled: bool) -> None:
        self.autostart.set_enabled(enabled)
        logger.info("start at login: %s", "on" if enabled else "off")
        if self.tray is not None:
            self.run_on_gui(lambda: self.tray.show_start_at_login(enabled))

    # ---- the window ----
    def show_window(self) -> None:
        def show() -> None:
            self.native.showNormal()
            self.native.raise_()
            self.native.activateWindow()

        self.run_on_gui(show)

    def quit(self) -> None:
        logger.info("quitting")
        self.quitting = True
        if self.tray is not None:
            self.tray.icon.hide()
        self.window.destroy()

    def run_on_gui(self, function: Callable[[], None], *, wait: bool = False) -> bool:
        """Run `function` on the GUI thread; with `wait`, whether it finished in time."""
        if threading.current_thread() is threading.main_thread():
            function()
            return True
        done = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                done.set()

        self.gui.requested.emit(run)
        return done.wait(GUI_CALL_TIMEOUT_SECONDS) if wait else True

    def run(self) -> None:
        import signal

        import webview

        # A session logout (or `kill`) sends SIGTERM: quit as from the tray, so QtWebEngine
        # writes its cookies to disk. pywebview's timer lets Python handle it while Qt runs.
        signal.signal(signal.SIGTERM, lambda number, frame: self.quit())

        # (Downloads are the app's own handler, downloads.py: pywebview's ALLOW_DOWNLOADS stays off.)
        webview.start(gui="qt", private_mode=False, storage_path=str(self.store.web_storage))


def _gui_calls_class() -> Any:
    from qtpy.QtCore import QObject, Qt, Signal

    class _GuiCalls(QObject):
        """Runs functions on the GUI thread, for calls that arrive from pages' bridge threads."""

        requested = Signal(object)

        def __init__(self) -> None:
            super().__init__()
            self.requested.connect(self._run, Qt.ConnectionType.QueuedConnection)

        def _run(self, function: Callable[[], None]) -> None:
            function()

    return _GuiCalls


def GuiCalls() -> Any:  # noqa: N802 (a class made once Qt is loaded)
    return _gui_calls_class()()


def watch_session_end(shell: Shell) -> None:
    """A desktop session ending (log-out, shut-down) quits TOC, instead of sending it to the tray.

    (An application-wide event filter for Qt's Quit event would also cover macOS's Cmd+Q, but a
    Python event filter on the QApplication crashes PySide6 6.12 here: not done.)"""
    from qtpy.QtWidgets import QApplication

    application = QApplication.instance()
    assert isinstance(application, QApplication)
    application.commitDataRequest.connect(lambda manager: setattr(shell, "quitting", True))


def downloads_folder() -> Path:
    from qtpy.QtCore import QStandardPaths

    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(location) if location else Path.home() / "Downloads"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    store = Store((args.data_dir or data_dir()).resolve())
    configure_qt_environment()
    start_qt()
    from toc.desktop.instance import InstanceServer, show_running_instance

    if show_running_instance(store.folder):
        print("TOC is already running: its window is shown.")
        return 0
    if args.forget:
        store.settings_path.unlink(missing_ok=True)
        for folder in (store.web_storage, store.cache):
            shutil.rmtree(folder, ignore_errors=True)
    store.prepare()
    configure_logging(store)
    defaults = build_defaults()
    company_url = args.company_url or defaults.get("company_url", "")
    first_error = ""
    if company_url and not store.load().company_url:
        directory_url = os.environ.get("TOC_DESKTOP_DIRECTORY_URL", defaults.get("directory_url", ""))
        try:
            company = resolve_within(company_url, directory_url=directory_url)
            store.update(company_url=company.url)
        except AddressError as error:
            logger.warning("the company address %s was not used: %s", company_url, error)
            first_error = str(error)
    shell = Shell(store, args, defaults, first_error)
    instance = InstanceServer(store.folder, on_show=shell.show_window)
    shell.run()
    del instance
    logger.info("TOC desktop closed")
    return 0
