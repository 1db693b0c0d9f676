"""Finding the company's TOC server from what the user typed on the first launch.

The user types the address from their welcome e-mail (`toc.example.com`, with or without
`https://`), or their company's SSO domain (`example.com`, or an e-mail address at it). An
address is checked by asking it for TOC's discovery document (`/api/discovery/`); an SSO domain
is looked up in the directory the app was built with (`TOC_DESKTOP_DIRECTORY_URL`), which
answers with the company's address. Plain http is accepted only for this computer itself
(127.0.0.1, localhost): the softphone needs a secure origin, and sign-in cookies must not travel
in clear.

`resolve_within` is what the app calls: `resolve` with an overall deadline (LOOKUP_SECONDS).
urllib's timeout bounds each socket operation, not the whole lookup, and name resolution
(getaddrinfo) has no timeout at all.
"""

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 8
LOOKUP_SECONDS = 15
DISCOVERY_PATH = "/api/discovery/"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
USER_AGENT = "TOC-Desktop"
NO_DIRECTORY = "Type your company's TOC address from your welcome e-mail; this app cannot look up SSO domains."


class AddressError(Exception):
    """What to tell the user when the address leads nowhere."""


class FetchError(Exception):
    """A discovery request that got no usable answer (unreachable, not JSON, timed out)."""


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict[str, Any]
    final_url: str


Fetch = Callable[[str], Answer]


@dataclass(frozen=True)
class Company:
    url: str
    """The company's TOC address, without a trailing slash."""
    sso_domain: str | None = None
    organisation: str | None = None

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    @property
    def start_url(self) -> str:
        """Where the window goes first: the Profile Wizard, at the SSO step when found by domain."""
        if self.sso_domain:
            return f"{self.url}/login/sso/?{urllib.parse.urlencode({'domain': self.sso_domain})}"
        return f"{self.url}/"


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """scheme://host[:port] in lower case, without the scheme's default port (as Chromium says it)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def fetch_json(url: str) -> Answer:
    """GET a discovery document (redirects followed, certificates checked)."""
    if not url.startswith(("https://", "http://")):
        raise FetchError("not a web address")
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s) only, checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            status, body, final_url = response.status, response.read(65536), response.geturl()
    except urllib.error.HTTPError as error:
        status, body, final_url = error.code, error.read(65536), error.geturl() or url
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(str(reason)) from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise FetchError("the answer is not TOC's") from error
    if not isinstance(document, dict):
        raise FetchError("the answer is not TOC's")
    return Answer(status=status, document=document, final_url=final_url)


def address_candidate(text: str) -> str:
    """The base URL an address means; AddressError when it cannot be one."""
    raw = text.strip()
    parts = urllib.parse.urlsplit(raw if "://" in raw else f"//{raw}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host or " " in raw:
        raise AddressError(f"“{raw}” is not an address such as toc.example.com.")
    if scheme not in ("", "http", "https"):
        raise AddressError("The address must start with https://.")
    loopback = host in LOOPBACK_HOSTS
    if scheme == "http" and not loopback:
        raise AddressError("Use the https:// address: TOC needs a secure connection.")
    if not scheme:
        scheme = "http" if loopback else "https"
    try:
        port = parts.port
    except ValueError as error:
        raise AddressError(f"“{raw}” has a port that is not a number.") from error
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def looks_like_domain(text: str) -> bool:
    raw = text.strip().lower()
    return "://" not in raw and "/" not in raw and ":" not in raw and "." in raw and " " not in raw


def sso_domain_of(text: str) -> str:
    raw = text.strip().lower()
    return raw.rsplit("@", 1)[1] if "@" in raw else raw


def resolve_within(
    text: str, *, directory_url: str = "", seconds: float = LOOKUP_SECONDS, fetch: Fetch = fetch_json
) -> Company:
    """`resolve`, given at most `seconds`: AddressError when it has not finished by then.

    The lookup runs in a daemon thread. One that overruns is left to finish (or time out) on its
    own and its result is dropped; the user can press Next again. Whatever `resolve` raises, an
    AddressError or not, is raised here."""
    outcome: list[Company | BaseException] = []
    finished = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(resolve(text, fetch=fetch, directory_url=directory_url))
        except BaseException as error:  # noqa: BLE001 (handed to the caller, raised there)
            outcome.append(error)
        finally:
            finished.set()

    threading.Thread(target=lookup, name="toc-address-lookup", daemon=True).start()
    if not finished.wait(seconds):
        raise AddressError(
            f"No answer from {text.strip()} within {int(seconds)} s. "
            "Check your connection and the address, then press Next again."
        )
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def resolve(text: str, *, fetch: Fetch = fetch_json, directory_url: str = "") -> Company:
    """The company that `text` names; AddressError with a sentence for the user otherwise.

    An e-mail address is looked up only in the directory. A bare domain is asked of the directory
    first, then tried as an address when the directory does not know it, could not be asked, or
    refuses it as a domain (an IP address such as 10.0.0.5 looks like a domain but is an address)."""
    raw = text.strip()
    if not raw:
        raise AddressError("Type your company's TOC address, or its SSO domain.")
    if "@" in raw and not directory_url:
        raise AddressError(NO_DIRECTORY)
    if "@" in raw:
        domain = sso_domain_of(raw)
        lookup = _ask_directory(domain, fetch=fetch, directory_url=directory_url)
        if isinstance(lookup, Company):
            return lookup
        if isinstance(lookup, _Unreachable):
            raise AddressError(
                f"TOC could not ask {lookup.directory} about {domain} ({lookup.reason}). "
                "Check your connection, or type your company's TOC address."
            )
        if isinstance(lookup, _Refused):
            raise AddressError(lookup.message)
        raise AddressError(f"No company uses the SSO domain {domain}. Check your welcome e-mail.")
    if looks_like_domain(raw) and directory_url:
        lookup = _ask_directory(sso_domain_of(raw), fetch=fetch, directory_url=directory_url)
        if isinstance(lookup, Company):
            return lookup
    return _from_address(address_candidate(raw), fetch=fetch)


def _from_address(base: str, *, fetch: Fetch) -> Company:
    try:
        answer = fetch(base + DISCOVERY_PATH)
    except FetchError as error:
        message = f"No TOC server answered at {base} ({error}). Check the address in your welcome e-mail."
        raise AddressError(message) from None
    if answer.status != 200 or answer.document.get("service") != "toc":
        raise AddressError(f"{base} is not a TOC server. Check the address in your welcome e-mail.")
    # Redirects are followed: the address that answered is the one to keep.
    final = answer.final_url
    url = final[: -len(DISCOVERY_PATH)] if final.endswith(DISCOVERY_PATH) else base
    address_candidate(url)  # a redirect to plain http (not this computer) is refused like a typed one
    return Company(url=url)


@dataclass(frozen=True)
class _Unknown:
    """The directory answered: no company uses the domain (404, or an answer that is not TOC's)."""


@dataclass(frozen=True)
class _Unreachable:
    """The directory could not be asked (no answer, or an answer that says nothing about the domain)."""

    directory: str
    reason: str


@dataclass(frozen=True)
class _Refused:
    """The directory refused the domain (400), in its own words."""

    message: str


def _ask_directory(domain: str, *, fetch: Fetch, directory_url: str) -> Company | _Unknown | _Unreachable | _Refused:
    directory = directory_url.rstrip("/")
    query = urllib.parse.urlencode({"sso_domain": domain})
    try:
        answer = fetch(f"{directory}{DISCOVERY_PATH}?{query}")
    except FetchError as error:
        return _Unreachable(directory, str(error))
    document = answer.document
    if answer.status == 400:
        return _Refused(_refusal_of(document) or f"The directory at {directory} refused the SSO domain {domain}.")
    if answer.status == 404:
        return _Unknown()
    if answer.status != 200:
        # Busy (429), failing (5xx) or anything else: that says nothing about the domain.
        return _Unreachable(directory, f"it answered with status {answer.status}")
    if document.get("service") != "toc" or not document.get("company_url"):
        return _Unknown()
    url = address_candidate(str(document["company_url"]))
    return Company(url=url, sso_domain=document.get("sso_domain") or domain, organisation=document.get("organisation"))


def _refusal_of(document: dict[str, Any]) -> str:
    """The directory's own sentence for a refused domain (`errors.sso_domain[0]`), or ""."""
    errors = document.get("errors")
    messages = errors.get("sso_domain") if isinstance(errors, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], str):
        return messages[0].strip()[:300]
    return ""
