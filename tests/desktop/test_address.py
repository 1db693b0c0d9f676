"""Finding the company's TOC server from what the user typed: the address rules, the lookup with
a fake fetcher (no network), and `fetch_json` against a real HTTP server on 127.0.0.1."""

import errno
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from toc.desktop import address
from toc.desktop.address import (
    AddressError,
    Answer,
    Company,
    FetchError,
    address_candidate,
    fetch_json,
    resolve,
    resolve_within,
)

DIRECTORY = "https://directory.toc.example"
DIRECTORY_ACME = f"{DIRECTORY}/api/discovery/?sso_domain=acme.example"
NOT_SECURE = "Use the https:// address: TOC needs a secure connection."
NOT_A_DOMAIN = "“-acme.example” is not a domain name such as toc.example.com."


class FakeFetch:
    """Answers discovery requests from a table; a URL not in it is unreachable."""

    def __init__(self, answers: dict[str, Answer | FetchError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, url: str) -> Answer:
        self.asked.append(url)
        answer = self.answers.get(url, FetchError("connection refused"))
        if isinstance(answer, FetchError):
            raise answer
        return answer


def toc_at(url: str, *, status: int = 200, **fields: object) -> Answer:
    document = {"service": "toc", "company_url": "https://toc.example.com", "sso_domain": None, "organisation": None}
    return Answer(status=status, document={**document, **fields}, final_url=url)


def directory_answer(company_url: str, *, sso_domain: str = "acme.example", organisation: str = "Acme") -> Answer:
    return toc_at(DIRECTORY_ACME, company_url=company_url, sso_domain=sso_domain, organisation=organisation)


def refusal_of(text: str, fetch: FakeFetch | None = None, *, directory_url: str = "") -> str:
    with pytest.raises(AddressError) as error:
        resolve(text, fetch=fetch or FakeFetch({}), directory_url=directory_url)
    return str(error.value)


# address_candidate


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("toc.example.com", "https://toc.example.com"),
        ("  TOC.Example.com  ", "https://toc.example.com"),
        ("toc.example.com:8443", "https://toc.example.com:8443"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost", "http://localhost"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("[::1]:8000", "http://[::1]:8000"),
        ("https://toc.example.com/", "https://toc.example.com"),
        ("https://toc.example.com/branch/", "https://toc.example.com/branch"),
        ("HTTPS://toc.example.com", "https://toc.example.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ],
)
def test_an_address_means_one_base_url(typed: str, expected: str) -> None:
    # when / then
    assert address_candidate(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("http://toc.example.com", NOT_SECURE),
        ("HTTP://toc.example.com/", NOT_SECURE),
        ("ftp://x", "The address must start with https://."),
        ("file:///etc/passwd", "“file:///etc/passwd” is not an address such as toc.example.com."),
        ("", "“” is not an address such as toc.example.com."),
        ("   ", "“” is not an address such as toc.example.com."),
        ("toc example.com", "“toc example.com” is not an address such as toc.example.com."),
        ("https://", "“https://” is not an address such as toc.example.com."),
        (":8000", "“:8000” is not an address such as toc.example.com."),
        ("toc.example.com:https", "“toc.example.com:https” has a port that is not a number."),
    ],
)
def test_an_address_that_cannot_be_one_is_refused_with_a_sentence(typed: str, message: str) -> None:
    # when
    with pytest.raises(AddressError) as error:
        address_candidate(typed)

    # then
    assert str(error.value) == message


def test_a_port_out_of_range_is_refused() -> None:
    # when
    with pytest.raises(AddressError) as error:
        address_candidate("toc.example.com:99999")

    # then (the sentence says "not a number" for a number too large; see the report)
    assert str(error.value).startswith("“toc.example.com:99999” has a port")


def test_a_company_starts_at_its_home_page_and_has_a_lowercase_origin() -> None:
    # given
    company = Company(url="https://TOC.example.com/branch")

    # then
    assert company.start_url == "https://TOC.example.com/branch/"
    assert company.origin == "https://toc.example.com"


def test_a_company_found_by_sso_domain_starts_at_the_sso_step() -> None:
    # given
    company = Company(url="https://toc.example.com", sso_domain="acme.example", organisation="Acme")

    # then
    assert company.start_url == "https://toc.example.com/login/sso/?domain=acme.example"


# resolve: an address


def test_an_address_answered_by_toc_is_the_company() -> None:
    # given
    fetch = FakeFetch({"https://toc.example.com/api/discovery/": toc_at("https://toc.example.com/api/discovery/")})

    # when
    company = resolve("toc.example.com", fetch=fetch)

    # then
    assert company == Company(url="https://toc.example.com")
    assert company.start_url == "https://toc.example.com/"
    assert fetch.asked == ["https://toc.example.com/api/discovery/"]


def test_this_computer_is_asked_over_plain_http() -> None:
    # given
    fetch = FakeFetch({"http://127.0.0.1:8000/api/discovery/": toc_at("http://127.0.0.1:8000/api/discovery/")})

    # when
    company = resolve("127.0.0.1:8000", fetch=fetch)

    # then
    assert company == Company(url="http://127.0.0.1:8000")
    assert company.start_url == "http://127.0.0.1:8000/"


def test_an_address_that_answers_as_something_else_is_not_a_toc_server() -> None:
    # given
    url = "https://toc.example.com/api/discovery/"
    fetch = FakeFetch({url: Answer(status=200, document={"service": "wiki"}, final_url=url)})

    # when
    message = refusal_of("toc.example.com", fetch)

    # then
    assert message == "https://toc.example.com is not a TOC server. Check the address in your welcome e-mail."


def test_a_toc_document_with_an_error_status_is_not_a_toc_server() -> None:
    # given
    url = "https://toc.example.com/api/discovery/"
    fetch = FakeFetch({url: toc_at(url, status=500)})

    # when
    message = refusal_of("https://toc.example.com", fetch)

    # then
    assert message == "https://toc.example.com is not a TOC server. Check the address in your welcome e-mail."


def test_an_address_where_nothing_answers_says_so() -> None:
    # given
    fetch = FakeFetch({"https://toc.example.com/api/discovery/": FetchError("timed out")})

    # when
    message = refusal_of("toc.example.com", fetch)

    # then
    assert message == (
        "No TOC server answered at https://toc.example.com (timed out). Check the address in your welcome e-mail."
    )


def test_nothing_typed_asks_for_an_address_and_asks_nobody() -> None:
    # given
    fetch = FakeFetch({})

    # when
    message = refusal_of("   ", fetch, directory_url=DIRECTORY)

    # then
    assert message == "Type your company's TOC address, or its SSO domain."
    assert fetch.asked == []


def test_a_plain_http_address_is_refused_before_asking_it() -> None:
    # given
    fetch = FakeFetch({})

    # when
    message = refusal_of("http://toc.example.com", fetch)

    # then
    assert message == NOT_SECURE
    assert fetch.asked == []


def test_a_redirected_discovery_keeps_the_address_that_answered() -> None:
    # given
    fetch = FakeFetch(
        {"https://toc.example.com/api/discovery/": toc_at("https://phones.example.net/toc/api/discovery/")}
    )

    # when
    company = resolve("toc.example.com", fetch=fetch)

    # then
    assert company == Company(url="https://phones.example.net/toc")


def test_a_redirect_to_plain_http_of_another_computer_is_refused() -> None:
    # given
    fetch = FakeFetch({"https://toc.example.com/api/discovery/": toc_at("http://toc.example.com/api/discovery/")})

    # when
    message = refusal_of("toc.example.com", fetch)

    # then
    assert message == NOT_SECURE


def test_a_redirect_within_this_computer_may_stay_on_plain_http() -> None:
    # given
    fetch = FakeFetch({"http://127.0.0.1:8000/api/discovery/": toc_at("http://localhost:8000/api/discovery/")})

    # when
    company = resolve("127.0.0.1:8000", fetch=fetch)

    # then
    assert company == Company(url="http://localhost:8000")


# resolve: an SSO domain or e-mail address, through the directory


def test_a_domain_is_asked_of_the_directory_first() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: directory_answer("https://toc.acme.example")})

    # when
    company = resolve("acme.example", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://toc.acme.example", sso_domain="acme.example", organisation="Acme")
    assert company.start_url == "https://toc.acme.example/login/sso/?domain=acme.example"
    assert fetch.asked == [DIRECTORY_ACME]


def test_the_directory_address_may_end_with_a_slash_and_its_answer_too() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: directory_answer("https://toc.acme.example/")})

    # when
    company = resolve("ACME.example", fetch=fetch, directory_url=DIRECTORY + "/")

    # then
    assert company.url == "https://toc.acme.example"
    assert fetch.asked == [DIRECTORY_ACME]


def test_a_domain_the_directory_does_not_know_is_tried_as_an_address() -> None:
    # given
    fetch = FakeFetch(
        {
            DIRECTORY_ACME: Answer(status=404, document={"detail": "The request was not valid."}, final_url=""),
            "https://acme.example/api/discovery/": toc_at("https://acme.example/api/discovery/"),
        }
    )

    # when
    company = resolve("acme.example", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://acme.example")
    assert fetch.asked == [DIRECTORY_ACME, "https://acme.example/api/discovery/"]


def test_an_unreachable_directory_falls_back_to_the_address() -> None:
    # given
    fetch = FakeFetch(
        {
            DIRECTORY_ACME: FetchError("timed out"),
            "https://acme.example/api/discovery/": toc_at("https://acme.example/api/discovery/"),
        }
    )

    # when
    company = resolve("acme.example", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://acme.example")
    assert fetch.asked == [DIRECTORY_ACME, "https://acme.example/api/discovery/"]


def test_a_directory_that_is_not_toc_falls_back_to_the_address() -> None:
    # given
    fetch = FakeFetch(
        {
            DIRECTORY_ACME: Answer(status=200, document={"service": "wiki", "company_url": "https://x"}, final_url=""),
            "https://acme.example/api/discovery/": toc_at("https://acme.example/api/discovery/"),
        }
    )

    # when
    company = resolve("acme.example", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://acme.example")


def test_a_company_address_in_plain_http_from_the_directory_is_refused() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: directory_answer("http://toc.acme.example")})

    # when
    message = refusal_of("acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == NOT_SECURE


def test_a_domain_without_a_directory_is_tried_as_an_address() -> None:
    # given
    fetch = FakeFetch({"https://acme.example/api/discovery/": toc_at("https://acme.example/api/discovery/")})

    # when
    company = resolve("acme.example", fetch=fetch)

    # then
    assert company == Company(url="https://acme.example")
    assert fetch.asked == ["https://acme.example/api/discovery/"]


def test_an_e_mail_address_looks_up_its_domain_in_the_directory() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: directory_answer("https://toc.acme.example")})

    # when
    company = resolve(" Bob@ACME.example ", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://toc.acme.example", sso_domain="acme.example", organisation="Acme")
    assert fetch.asked == [DIRECTORY_ACME]


def test_an_e_mail_address_at_a_domain_nobody_uses_is_refused() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: Answer(status=404, document={}, final_url=DIRECTORY_ACME)})

    # when
    message = refusal_of("bob@acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == "No company uses the SSO domain acme.example. Check your welcome e-mail."
    assert fetch.asked == [DIRECTORY_ACME]


def test_an_e_mail_address_without_a_directory_is_refused_without_asking_anyone() -> None:
    # given
    fetch = FakeFetch({})

    # when
    with pytest.raises(AddressError):
        resolve("bob@acme.example", fetch=fetch)

    # then
    assert fetch.asked == []


def test_an_e_mail_address_without_a_directory_asks_for_the_address_instead() -> None:
    # when
    message = refusal_of("bob@acme.example")

    # then
    assert message == "Type your company's TOC address from your welcome e-mail; this app cannot look up SSO domains."


def test_an_e_mail_address_whose_directory_cannot_be_reached_says_so_and_not_unknown() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: FetchError("timed out")})

    # when
    message = refusal_of("bob@acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == (
        "TOC could not ask https://directory.toc.example about acme.example (timed out). "
        "Check your connection, or type your company's TOC address."
    )
    assert fetch.asked == [DIRECTORY_ACME]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_e_mail_address_whose_directory_is_busy_or_failing_says_so_and_not_unknown(status: int) -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: Answer(status=status, document={"detail": "busy"}, final_url=DIRECTORY_ACME)})

    # when
    message = refusal_of("bob@acme.example", fetch, directory_url=DIRECTORY + "/")

    # then
    assert message == (
        f"TOC could not ask https://directory.toc.example about acme.example (it answered with status {status}). "
        "Check your connection, or type your company's TOC address."
    )


def test_an_e_mail_address_the_directory_answers_as_something_else_is_unknown() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: Answer(status=200, document={"service": "wiki"}, final_url=DIRECTORY_ACME)})

    # when
    message = refusal_of("bob@acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == "No company uses the SSO domain acme.example. Check your welcome e-mail."


def test_a_domain_whose_directory_and_address_both_fail_gets_the_address_error() -> None:
    # given nothing answers, neither the directory nor acme.example
    fetch = FakeFetch({DIRECTORY_ACME: FetchError("timed out")})

    # when
    message = refusal_of("acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == (
        "No TOC server answered at https://acme.example (connection refused). Check the address in your welcome e-mail."
    )
    assert fetch.asked == [DIRECTORY_ACME, "https://acme.example/api/discovery/"]


def test_an_e_mail_address_the_directory_refuses_gets_the_directory_s_own_sentence() -> None:
    # given (the discovery API's 400, tests/accounts/test_discovery_api.py)
    url = f"{DIRECTORY}/api/discovery/?sso_domain=-acme.example"
    document = {"detail": "The request was not valid.", "errors": {"sso_domain": [NOT_A_DOMAIN]}}
    fetch = FakeFetch({url: Answer(status=400, document=document, final_url=url)})

    # when
    message = refusal_of("bob@-acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == NOT_A_DOMAIN
    assert fetch.asked == [url]


def test_a_refusal_without_the_directory_s_sentence_names_the_directory() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: Answer(status=400, document={"detail": "Bad."}, final_url=DIRECTORY_ACME)})

    # when
    message = refusal_of("bob@acme.example", fetch, directory_url=DIRECTORY)

    # then
    assert message == "The directory at https://directory.toc.example refused the SSO domain acme.example."


def test_an_ip_address_the_directory_refuses_as_a_domain_is_tried_as_an_address() -> None:
    # given an IP address, which looks like a domain to the app but not to the directory
    directory_url = f"{DIRECTORY}/api/discovery/?sso_domain=10.0.0.5"
    fetch = FakeFetch(
        {
            directory_url: Answer(status=400, document={"errors": {"sso_domain": ["no"]}}, final_url=directory_url),
            "https://10.0.0.5/api/discovery/": toc_at("https://10.0.0.5/api/discovery/"),
        }
    )

    # when
    company = resolve("10.0.0.5", fetch=fetch, directory_url=DIRECTORY)

    # then
    assert company == Company(url="https://10.0.0.5")
    assert fetch.asked == [directory_url, "https://10.0.0.5/api/discovery/"]


# resolve_within: the same lookup, with an overall deadline


class BlockingFetch:
    """A fetch that waits for `release` (a lookup stuck in DNS, say), then answers like TOC."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, url: str) -> Answer:
        self.started.set()
        self.release.wait(timeout=30)
        return toc_at(url)


@pytest.fixture
def blocking_fetch() -> Iterator[BlockingFetch]:
    fetch = BlockingFetch()
    try:
        yield fetch
    finally:
        fetch.release.set()


def lookup_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "toc-address-lookup"]


def test_resolve_within_gives_the_company_found_in_time() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: directory_answer("https://toc.acme.example")})

    # when
    company = resolve_within(" bob@acme.example ", directory_url=DIRECTORY, fetch=fetch)

    # then
    assert company == Company(url="https://toc.acme.example", sso_domain="acme.example", organisation="Acme")


def test_resolve_within_gives_up_at_its_deadline_and_leaves_the_lookup_behind(blocking_fetch: BlockingFetch) -> None:
    # given a lookup that will not finish in 0.2 s
    started = time.monotonic()

    # when
    with pytest.raises(AddressError) as error:
        resolve_within(" toc.example.com ", seconds=0.2, fetch=blocking_fetch)

    # then the caller gets a sentence at the deadline, while the lookup is still waiting
    elapsed = time.monotonic() - started
    assert str(error.value) == (
        "No answer from toc.example.com within 0 s. Check your connection and the address, then press Next again."
    )
    assert 0.2 <= elapsed < 5
    assert blocking_fetch.started.is_set()
    stuck = lookup_threads()
    assert stuck and all(thread.daemon for thread in stuck)

    # and when the lookup is released, it finishes on its own (its result is dropped)
    blocking_fetch.release.set()
    for thread in stuck:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in stuck)


def test_resolve_within_names_whole_seconds(blocking_fetch: BlockingFetch) -> None:
    # when
    with pytest.raises(AddressError) as error:
        resolve_within("bob@acme.example", directory_url=DIRECTORY, seconds=1.5, fetch=blocking_fetch)

    # then
    assert str(error.value) == (
        "No answer from bob@acme.example within 1 s. Check your connection and the address, then press Next again."
    )


def test_resolve_within_passes_on_the_lookup_s_own_refusal() -> None:
    # given
    fetch = FakeFetch({DIRECTORY_ACME: FetchError("timed out")})

    # when
    with pytest.raises(AddressError) as error:
        resolve_within("bob@acme.example", directory_url=DIRECTORY, fetch=fetch)

    # then
    assert str(error.value).startswith("TOC could not ask https://directory.toc.example about acme.example")


def test_resolve_within_raises_what_went_wrong_in_the_lookup() -> None:
    # given a fetch with a bug in it
    def broken(url: str) -> Answer:
        raise KeyError("bug")

    # when / then
    with pytest.raises(KeyError, match="bug"):
        resolve_within("toc.example.com", fetch=broken)


def test_the_default_deadline_is_fifteen_seconds() -> None:
    # then
    assert address.LOOKUP_SECONDS == 15


# fetch_json against a real server on 127.0.0.1


class DiscoveryHandler(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, str]] = []

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Accept", ""), self.headers.get("User-Agent", "")))
        if self.path == "/api/discovery/":
            self.reply(200, "application/json", json.dumps({"service": "toc"}))
        elif self.path == "/moved/api/discovery/":
            self.send_response(302)
            self.send_header("Location", "/api/discovery/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/page/":
            self.reply(200, "text/html", "<!doctype html><title>Not TOC</title>")
        elif self.path == "/list/":
            self.reply(200, "application/json", "[1, 2]")
        else:
            self.reply(404, "application/json", json.dumps({"detail": "Not found."}))

    def reply(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A discovery server on 127.0.0.1; its base URL."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    DiscoveryHandler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), DiscoveryHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch_error_of(url: str) -> str:
    with pytest.raises(FetchError) as error:
        fetch_json(url)
    return str(error.value)


def test_fetch_json_reads_a_discovery_document(server: str) -> None:
    # when
    answer = fetch_json(f"{server}/api/discovery/")

    # then
    assert answer == Answer(status=200, document={"service": "toc"}, final_url=f"{server}/api/discovery/")
    assert DiscoveryHandler.requests == [("/api/discovery/", "application/json", "TOC-Desktop")]


def test_fetch_json_keeps_the_status_of_an_error_answer(server: str) -> None:
    # when
    answer = fetch_json(f"{server}/api/discovery/?sso_domain=nowhere.example")

    # then
    assert answer == Answer(
        status=404, document={"detail": "Not found."}, final_url=f"{server}/api/discovery/?sso_domain=nowhere.example"
    )


def test_fetch_json_follows_a_redirect_and_says_where_it_ended(server: str) -> None:
    # when
    answer = fetch_json(f"{server}/moved/api/discovery/")

    # then
    assert answer == Answer(status=200, document={"service": "toc"}, final_url=f"{server}/api/discovery/")
    assert [path for path, _, _ in DiscoveryHandler.requests] == ["/moved/api/discovery/", "/api/discovery/"]


def test_fetch_json_refuses_a_web_page(server: str) -> None:
    # when / then
    assert fetch_error_of(f"{server}/page/") == "the answer is not TOC's"


def test_fetch_json_refuses_json_that_is_not_a_document(server: str) -> None:
    # when / then
    assert fetch_error_of(f"{server}/list/") == "the answer is not TOC's"


def test_fetch_json_says_when_the_connection_is_refused() -> None:
    # given
    port = closed_port()

    # when
    message = fetch_error_of(f"http://127.0.0.1:{port}/api/discovery/")

    # then
    assert message == str(ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED)))


def test_fetch_json_gives_up_on_a_server_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a server that accepts connections and never answers, and a short time limit
    monkeypatch.setattr(address, "TIMEOUT_SECONDS", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]

        # when
        message = fetch_error_of(f"http://127.0.0.1:{port}/api/discovery/")

    # then
    assert message == "timed out"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/api/discovery/", "file:///etc/hostname", "127.0.0.1:8000"])
def test_fetch_json_only_asks_web_addresses(url: str) -> None:
    # when / then
    assert fetch_error_of(url) == "not a web address"
