"""Pytest fixture that runs the local OIDC provider (`tests.oidc_provider`) for the test session.

    from tests.oidc_provider.fixtures import oidc_provider  # in a conftest.py

`oidc_provider` is a `LocalIdentityProvider`: `.issuer` is what TOC's `OidcConfiguration.issuer`
takes (http://127.0.0.1:<port>/o); `.add_user(...)` makes a person who can sign in at its
login form; `.add_application(redirect_uri=...)` registers a confidential client and returns
its id and plaintext secret. The provider listens on 127.0.0.1 only; TOC's live server runs on
`localhost`, so their cookies never mix. The process is started once per session and stopped
by its PID at the end; every wait is bounded.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPOSITORY = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class IdentityProviderApplication:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class LocalIdentityProvider:
    base_url: str
    testing_token: str
    log_path: Path

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/login/"

    def add_user(
        self, *, email: str, password: str, given_name: str = "", family_name: str = "", tenant_id: str = ""
    ) -> str:
        """Create (or reset) a person at the provider; their ID token has `tid=tenant_id` when given. Returns `sub`."""
        data = self._post(
            "users",
            {
                "email": email,
                "password": password,
                "given_name": given_name,
                "family_name": family_name,
                "tenant_id": tenant_id,
            },
        )
        return str(data["sub"])

    def add_application(
        self,
        *,
        redirect_uri: str,
        skip_authorization: bool = True,
        grant_type: str = "authorization-code",
    ) -> IdentityProviderApplication:
        """Register a confidential client (RS256 ID tokens) allowed to redirect to `redirect_uri`."""
        application = IdentityProviderApplication(
            client_id=f"toc-{secrets.token_hex(8)}", client_secret=secrets.token_urlsafe(32)
        )
        self._post(
            "applications",
            {
                "client_id": application.client_id,
                "client_secret": application.client_secret,
                "redirect_uri": redirect_uri,
                "skip_authorization": skip_authorization,
                "grant_type": grant_type,
            },
        )
        return application

    def _post(self, kind: str, payload: dict[str, object]) -> dict[str, object]:
        response = requests.post(
            f"{self.base_url}/testing/{kind}/",
            json=payload,
            headers={"X-Testing-Token": self.testing_token},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], provider: LocalIdentityProvider) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The test OIDC provider exited with {process.returncode}:\n{provider.log_path.read_text()[-3000:]}"
            )
        try:
            if requests.get(provider.discovery_url, timeout=1.0).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise TimeoutError(
        f"The test OIDC provider did not serve {provider.discovery_url} within {STARTUP_TIMEOUT_SECONDS} s:\n"
        f"{provider.log_path.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def run_local_identity_provider() -> Iterator[LocalIdentityProvider]:
    """Start the provider in a fresh temporary folder, wait for discovery, stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="toc-oidc-provider-") as data_dir:
        port = free_port()
        provider = LocalIdentityProvider(
            base_url=f"http://{HOST}:{port}",
            testing_token=secrets.token_urlsafe(32),
            log_path=Path(data_dir) / "provider.log",
        )
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "OIDC_PROVIDER_DATA_DIR": data_dir,
            "OIDC_PROVIDER_ISSUER": provider.issuer,
            "OIDC_PROVIDER_TESTING_TOKEN": provider.testing_token,
            "PYTHONUNBUFFERED": "1",
        }
        with provider.log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.oidc_provider.server", "--port", str(port)],
                cwd=REPOSITORY,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_until_serving(process, provider)
                yield provider
            finally:
                _stop(process)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[LocalIdentityProvider]:
    with run_local_identity_provider() as provider:
        yield provider
