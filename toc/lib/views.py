"""Operational endpoints: /healthz reports the database, the channel layer and the broker."""

import asyncio
import time
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

from toc.celery import app as celery_app

CHECK_TIMEOUT_SECONDS = 3


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def _check_channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    if layer is None:
        return {"ok": False, "error": "no channel layer configured"}
    token = uuid.uuid4().hex

    async def round_trip() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.check", "token": token})
        return await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)

    received = async_to_sync(round_trip)()
    return {"ok": received.get("token") == token, "backend": type(layer).__name__}


def _check_broker() -> dict[str, Any]:
    with celery_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return {"ok": True, "transport": celery_app.conf.broker_url.split(":", 1)[0]}


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in (
        ("database", _check_database),
        ("channel_layer", _check_channel_layer),
        ("broker", _check_broker),
    ):
        started = time.monotonic()
        try:
            checks[name] = check()
        except Exception as error:  # noqa: BLE001 - any failure is a health fact to report
            checks[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        checks[name]["milliseconds"] = round((time.monotonic() - started) * 1000, 1)
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503)
