"""What the window grants and to whom: web permissions (the company's origin only, and only the
softphone's and the communicator's), and which page may call which method of the app."""

import os

os.environ.setdefault("QT_API", "pyside6")

import pytest
from qtpy.QtWebEngineCore import QWebEnginePermission

from toc.desktop import bridge, permissions
from toc.desktop.address import Company, address_candidate
from toc.desktop.permissions import PermissionHandler

COMPANY = "http://127.0.0.1:8000"
GRANTED = [
    "MediaAudioCapture",
    "MediaVideoCapture",
    "MediaAudioVideoCapture",
    "DesktopVideoCapture",
    "DesktopAudioVideoCapture",
    "Notifications",
    "ClipboardReadWrite",
]
DENIED = ["Geolocation", "MouseLock", "LocalFontsAccess", "Unsupported"]
OTHER_ORIGINS = [
    "http://127.0.0.1:8001",
    "http://127.0.0.2:8000",
    "https://127.0.0.1:8000",
    "http://localhost:8000",
    "http://127.0.0.1",
    "https://login.example.net",
    "http://127.0.0.1:8000.example.net",
    "data:text/html,<title>x</title>",
    "about:blank",
    "",
]
LOCAL_PAGES = ["data:text/html;charset=UTF-8,%3Chtml%3E"]
COMPANY_PAGES = [f"{COMPANY}/", f"{COMPANY}/communicator/", f"{COMPANY}/login/sso/?domain=acme.example"]


# permissions.allows


def test_the_policy_names_every_permission_type_qt_has() -> None:
    # when
    names = set(QWebEnginePermission.PermissionType.__members__)

    # then
    assert names == set(GRANTED) | set(DENIED)
    assert permissions.GRANTED_TO_THE_COMPANY == frozenset(GRANTED)


@pytest.mark.parametrize("permission", GRANTED)
def test_the_company_gets_the_softphone_and_communicator_permissions(permission: str) -> None:
    # when / then
    assert permissions.allows(company_origin=COMPANY, origin=COMPANY, permission=permission) is True


@pytest.mark.parametrize("permission", DENIED)
def test_the_company_does_not_get_other_permissions(permission: str) -> None:
    # when / then
    assert permissions.allows(company_origin=COMPANY, origin=COMPANY, permission=permission) is False


@pytest.mark.parametrize("permission", GRANTED)
@pytest.mark.parametrize("origin", OTHER_ORIGINS)
def test_other_origins_get_nothing(origin: str, permission: str) -> None:
    # when / then
    assert permissions.allows(company_origin=COMPANY, origin=origin, permission=permission) is False


@pytest.mark.parametrize("permission", GRANTED + DENIED)
@pytest.mark.parametrize("origin", [COMPANY, "", "about:blank"])
def test_before_the_first_connect_nobody_gets_anything(origin: str, permission: str) -> None:
    # when / then
    assert permissions.allows(company_origin="", origin=origin, permission=permission) is False


@pytest.mark.parametrize("origin", [f"{COMPANY}/", f"{COMPANY}/communicator/", "HTTP://127.0.0.1:8000/"])
def test_the_company_origin_matches_as_qt_writes_it(origin: str) -> None:
    # when / then
    assert permissions.allows(company_origin=COMPANY, origin=origin, permission="MediaAudioCapture") is True


def test_a_company_under_a_path_is_granted_at_its_origin() -> None:
    # given
    company = Company(url="https://toc.example.com/branch")

    # when / then
    assert company.origin == "https://toc.example.com"
    assert permissions.allows(
        company_origin=company.origin, origin="https://toc.example.com/", permission="Notifications"
    )


def test_a_company_typed_with_its_default_port_is_granted_at_its_origin() -> None:
    # given
    company = Company(url=address_candidate("toc.example.com:443"))

    # when / then
    assert permissions.allows(
        company_origin=company.origin, origin="https://toc.example.com/", permission="MediaAudioCapture"
    )


# PermissionHandler.answer


class FakeUrl:
    def __init__(self, text: str) -> None:
        self.text = text

    def toString(self) -> str:  # noqa: N802 (Qt's name)
        return self.text


class FakeType:
    def __init__(self, name: str) -> None:
        self.name = name


class FakePermission:
    def __init__(self, origin: str, kind: str) -> None:
        self.origin_url = FakeUrl(origin)
        self.kind = FakeType(kind)
        self.calls: list[str] = []

    def origin(self) -> FakeUrl:
        return self.origin_url

    def permissionType(self) -> FakeType:  # noqa: N802 (Qt's name)
        return self.kind

    def grant(self) -> None:
        self.calls.append("grant")

    def deny(self) -> None:
        self.calls.append("deny")


@pytest.mark.parametrize(
    ("origin", "kind", "calls"),
    [
        (f"{COMPANY}/", "MediaAudioCapture", ["grant"]),
        (f"{COMPANY}/", "Geolocation", ["deny"]),
        ("https://login.example.net/", "MediaAudioCapture", ["deny"]),
    ],
)
def test_a_request_is_granted_or_denied_once(origin: str, kind: str, calls: list[str]) -> None:
    # given
    handler = PermissionHandler(COMPANY)
    permission = FakePermission(origin, kind)

    # when
    handler.answer(permission)

    # then
    assert permission.calls == calls


def test_requests_follow_a_change_of_company() -> None:
    # given
    handler = PermissionHandler("")
    before, after = FakePermission(f"{COMPANY}/", "Notifications"), FakePermission(f"{COMPANY}/", "Notifications")

    # when
    handler.answer(before)
    handler.company_origin = COMPANY
    handler.answer(after)

    # then
    assert (before.calls, after.calls) == (["deny"], ["grant"])


class FakeSignal:
    def __init__(self, *, connected: bool) -> None:
        self.connected = connected
        self.slots: list[object] = []

    def connect(self, slot: object) -> None:
        self.slots.append(slot)

    def disconnect(self) -> None:
        if not self.connected:
            raise RuntimeError("nothing connected")
        self.connected = False


class FakePage:
    def __init__(self, *, pywebview_handler: bool) -> None:
        self.featurePermissionRequested = FakeSignal(connected=pywebview_handler)
        self.permissionRequested = FakeSignal(connected=False)


@pytest.mark.parametrize("pywebview_handler", [True, False])
def test_install_replaces_pywebviews_handler_with_ours(pywebview_handler: bool) -> None:
    # given
    handler = PermissionHandler(COMPANY)
    page = FakePage(pywebview_handler=pywebview_handler)

    # when
    handler.install(page)

    # then
    assert page.featurePermissionRequested.connected is False
    assert page.permissionRequested.slots == [handler.answer]


# bridge.allowed


@pytest.mark.parametrize("method", sorted(bridge.LOCAL_METHODS))
@pytest.mark.parametrize("page_url", LOCAL_PAGES)
def test_local_methods_are_for_tocs_own_pages(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin=COMPANY) is True
    assert bridge.allowed(method, page_url=page_url, company_origin="") is True


@pytest.mark.parametrize("method", sorted(bridge.LOCAL_METHODS))
@pytest.mark.parametrize("page_url", [*COMPANY_PAGES, "https://login.example.net/authorize"])
def test_local_methods_are_refused_to_web_pages(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin=COMPANY) is False


@pytest.mark.parametrize(
    "page_url", ["blob:https://login.example.net/0b1c2d3e", f"blob:{COMPANY}/0b1c2d3e", "about:blank", "file:///tmp/x"]
)
def test_local_methods_are_refused_to_blob_pages(page_url: str) -> None:
    # when / then
    assert bridge.allowed("connect", page_url=page_url, company_origin=COMPANY) is False


@pytest.mark.parametrize("method", sorted(bridge.COMPANY_METHODS))
@pytest.mark.parametrize("page_url", COMPANY_PAGES)
def test_company_methods_are_for_the_companys_pages(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin=COMPANY) is True


@pytest.mark.parametrize("method", sorted(bridge.COMPANY_METHODS))
@pytest.mark.parametrize("page_url", [*LOCAL_PAGES, *(f"{origin}/" for origin in OTHER_ORIGINS if origin)])
def test_company_methods_are_refused_to_other_pages(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin=COMPANY) is False


@pytest.mark.parametrize("method", sorted(bridge.COMPANY_METHODS))
@pytest.mark.parametrize("page_url", [*COMPANY_PAGES, *LOCAL_PAGES])
def test_company_methods_are_refused_before_the_first_connect(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin="") is False


@pytest.mark.parametrize("method", ["", "request", "_answer", "__init__", "do_connect", "_do_connect", "CONNECT"])
@pytest.mark.parametrize("page_url", [*LOCAL_PAGES, f"{COMPANY}/"])
def test_unknown_methods_are_refused_everywhere(method: str, page_url: str) -> None:
    # when / then
    assert bridge.allowed(method, page_url=page_url, company_origin=COMPANY) is False


def test_the_method_lists_are_the_ones_the_pages_use() -> None:
    # then
    assert bridge.LOCAL_METHODS == frozenset({"connect", "retry", "change_address"})
    assert bridge.COMPANY_METHODS == frozenset(
        {"presence_changed", "signed_out", "desktop_state", "set_start_at_login"}
    )
