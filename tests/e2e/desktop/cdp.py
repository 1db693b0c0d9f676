"""A small Chrome DevTools Protocol client for driving the desktop app's QtWebEngine page.

Playwright cannot attach to QtWebEngine (it asks for browser contexts Qt does not offer), so the
tests speak CDP over the page's WebSocket: evaluate JavaScript, click with real mouse events and
type with real key input, at the window's own page.
"""

import itertools
import json
import time
from typing import Any

import requests
from websockets.sync.client import ClientConnection, connect

DEFAULT_TIMEOUT_SECONDS = 20
CENTRE_OF = """(selector) => {
  const element = document.querySelector(selector);
  if (!element) return null;
  element.scrollIntoView({ block: 'center' });
  const box = element.getBoundingClientRect();
  return box.width && box.height ? { x: box.x + box.width / 2, y: box.y + box.height / 2 } : null;
}"""


class CdpError(Exception):
    pass


class Page:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.ids = itertools.count(1)

    @classmethod
    def attach(cls, port: int, *, timeout: float = 60) -> "Page":
        """The first page target of the app listening for DevTools on 127.0.0.1:`port`."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                pages = [target for target in targets if target.get("type") == "page"]
                if pages:
                    connection = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
                    return cls(connection.__enter__())  # closed by close()
            except (requests.RequestException, OSError, ValueError) as error:
                last = error
            time.sleep(0.3)
        raise CdpError(f"no page on DevTools port {port}: {last}")

    def close(self) -> None:
        self.connection.close()

    def call(self, method: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.connection.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"{method}: no answer in {timeout} s")
            try:
                message = json.loads(self.connection.recv(timeout=remaining))
            except TimeoutError:
                raise CdpError(f"{method}: no answer in {timeout} s") from None
            if message.get("id") == number:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Any:
        """The value of a JavaScript expression (promises awaited); page errors raise CdpError."""
        result = self.call(
            "Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def apply(self, function: str, *args: Any, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Any:
        """Call a JavaScript function (given as source) with JSON-able arguments."""
        arguments = ", ".join(json.dumps(argument) for argument in args)
        return self.evaluate(f"({function})({arguments})", timeout=timeout)

    def wait_for(self, expression: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Any:
        """Poll until `expression` is truthy (through navigations); its value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression, timeout=5)
                if last:
                    return last
            except CdpError as error:  # the page may be between documents
                last = error
            time.sleep(0.2)
        raise CdpError(f"still not true after {timeout} s: {expression} (last: {last})")

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def click(self, selector: str) -> None:
        """A real left click in the middle of the first element matching `selector`."""
        box = self.wait_for(f"({CENTRE_OF})({json.dumps(selector)})")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def fill(self, selector: str, text: str) -> None:
        """Focus the field, select what is there, and type `text` as key input."""
        self.click(selector)
        self.apply("(selector) => document.querySelector(selector).select()", selector)
        self.call("Input.insertText", text=text)

    def press(self, key: str, code: str, key_code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=key_code)

    def press_enter(self) -> None:
        self.call("Input.dispatchKeyEvent", type="rawKeyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13)
        self.call("Input.dispatchKeyEvent", type="char", text="\r", key="Enter")
        self.call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)

    def text(self, selector: str) -> str:
        return str(self.apply("(selector) => document.querySelector(selector)?.textContent ?? ''", selector))
