"""ASGI entry point (daphne): HTTP through Django, WebSockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from toc.realtime.auth import SessionOrTokenAuthStack  # noqa: E402
from toc.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(SessionOrTokenAuthStack(URLRouter(websocket_urlpatterns))),
    }
)

# Start-up objects live as long as the process: keep them out of every full garbage
# collection, whose pauses otherwise make the tail of event delivery (docs/performance.md).
gc.freeze()
