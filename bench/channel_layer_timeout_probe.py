"""Does RedisChannelLayer.receive() survive a quiet channel while the event loop is busy?

    .venv/bin/python bench/channel_layer_timeout_probe.py [--seconds 60] [--redis-url URL]

channels_redis waits for messages with a blocking BZPOPMIN of 5 s. redis-py 8 made 5 s the
default socket timeout as well, so when nothing arrives for 5 s the server's empty answer and
the client's read timeout are due at the same moment; on a busy event loop (a daphne process
fanning out events) the timeout often wins and ``receive()`` raises
``redis.exceptions.TimeoutError``, which kills the consumer and closes its WebSocket with 1011
(django/channels_redis#422; toc/settings.py sets ``socket_timeout: None`` since c307ffa). The
probe keeps the loop busy with 4 ms CPU slices and receives on an empty channel for
``--seconds``, once with redis-py's defaults (``hosts: [URL]``) and once with
``socket_timeout: None``, and prints how often each raised. Uses its own Redis database
(default 9) and deletes only its own keys.
"""

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import redis
from channels_redis.core import RedisChannelLayer


async def keep_busy(stop: asyncio.Event) -> None:
    while not stop.is_set():
        end = time.perf_counter() + 0.004
        while time.perf_counter() < end:
            pass
        await asyncio.sleep(0)


async def probe(host: Any, seconds: float) -> dict[str, int]:
    layer = RedisChannelLayer(hosts=[host], prefix="toc-timeout-probe")
    channel = await layer.new_channel()
    stop = asyncio.Event()
    busy = asyncio.create_task(keep_busy(stop))
    counts = {"redis_timeout_errors": 0, "quiet_waits": 0}
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=7)
            except TimeoutError:
                counts["quiet_waits"] += 1  # nothing arrived in 7 s and nothing broke: expected
            except redis.exceptions.TimeoutError:
                counts["redis_timeout_errors"] += 1  # in a consumer: crash, socket closed with 1011
    finally:
        stop.set()
        await busy
        await layer.flush()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    results = {
        "redis_py": redis.__version__,
        "redis-py defaults (hosts: [URL])": asyncio.run(probe(args.redis_url, args.seconds)),
        "socket_timeout None": asyncio.run(probe({"address": args.redis_url, "socket_timeout": None}, args.seconds)),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
