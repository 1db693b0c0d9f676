"""Serving a file from Django's storage to someone already allowed to have it: whole, or the
byte range a player asks for (206; 416 when it cannot be met), so audio and video can seek.
Never cached by shared caches."""

import re
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from rest_framework.request import Request

CHUNK_BYTES = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stored_file_response(
    request: Request | HttpRequest, name: str, *, content_type: str, cache_control: str = "private, no-store"
) -> HttpResponseBase:
    size = default_storage.size(name)
    wanted = RANGE.match(request.headers.get("Range", ""))
    response: HttpResponseBase
    if wanted is None or size == 0:
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = _byte_range(wanted.group(1), wanted.group(2), size)
        if first is None or last is None:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        response = StreamingHttpResponse(_read(name, first, last), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = cache_control
    return response


def _byte_range(start: str, end: str, size: int) -> tuple[int | None, int | None]:
    """The first and last byte of a `bytes=start-end` range, or (None, None) if it is unsatisfiable."""
    if not start and not end:
        return None, None
    if not start:  # the last `end` bytes
        length = int(end)
        return (max(0, size - length), size - 1) if length > 0 else (None, None)
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        return None, None
    return first, last


def _read(name: str, first: int, last: int) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as stored:
        stored.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = stored.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def user_file_response(
    request: Request | HttpRequest, name: str, *, content_type: str, filename: str, inline: bool
) -> HttpResponseBase:
    """A file someone sent (chat, MMS): inline only when `inline`, never able to run as a page."""
    response = stored_file_response(request, name, content_type=content_type, cache_control="private, no-cache")
    if response.status_code == 416:
        return response
    response["Content-Disposition"] = content_disposition_header(not inline, filename) or "attachment"
    # A file is never a page: no scripts, even if a browser were to render it.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    return response
