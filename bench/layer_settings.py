"""Settings for `bench/presence_fanout.py --layer pubsub`: the production settings, another channel layer.

Only for comparisons; the default `--layer redis` runs `toc.settings` unchanged
(RedisChannelLayer). RedisChannelLayer stores a group message in a Redis sorted set per
receiving process; each process pops it and hands it to its consumers, each of which waits
in its own receive loop (a lock and two tasks per message). RedisPubSubChannelLayer publishes
the message once on a Redis pub/sub channel that every process with a member of the group
subscribes to, and puts it on a plain asyncio queue per consumer.
"""

from toc.lib import env
from toc.settings import *  # noqa: F403
from toc.settings import REDIS_URL

_VARIANT = env.get_str("BENCH_CHANNEL_LAYER", "pubsub")

if _VARIANT != "pubsub":
    raise ValueError(f"unknown BENCH_CHANNEL_LAYER {_VARIANT!r}")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env.get_str("TOC_CHANNEL_PREFIX", "toc")},
    }
}
