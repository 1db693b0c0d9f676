"""Test-only admin endpoints: create users and client applications over HTTP.

The test run cannot import this project's models (it runs TOC's settings), so it asks the
running provider instead. Every call must carry the run's random token.
"""

import hmac
import json
import os
from typing import Any

from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model

from tests.oidc_provider.validator import TENANT_GROUP_PREFIX


def _payload(request: HttpRequest) -> dict[str, Any] | None:
    token = request.headers.get("X-Testing-Token", "")
    if not hmac.compare_digest(token, os.environ["OIDC_PROVIDER_TESTING_TOKEN"]):
        return None
    data = json.loads(request.body)
    return data if isinstance(data, dict) else None


@csrf_exempt
@require_POST
def create_user(request: HttpRequest) -> HttpResponse:
    data = _payload(request)
    if data is None:
        return HttpResponse(status=403)
    # The provider lives for the whole test session: a person asked for again is reset, not duplicated.
    user, _ = User.objects.update_or_create(
        username=data["email"],
        defaults={
            "email": data["email"],
            "first_name": data.get("given_name", ""),
            "last_name": data.get("family_name", ""),
        },
    )
    user.set_password(data["password"])
    user.save()
    user.groups.clear()
    if data.get("tenant_id"):
        group, _ = Group.objects.get_or_create(name=f"{TENANT_GROUP_PREFIX}{data['tenant_id']}")
        user.groups.add(group)
    return JsonResponse({"sub": str(user.pk)}, status=201)


@csrf_exempt
@require_POST
def create_application(request: HttpRequest) -> HttpResponse:
    data = _payload(request)
    if data is None:
        return HttpResponse(status=403)
    application_model = get_application_model()
    # DOT hashes the secret on save: the caller keeps the plaintext it chose.
    application_model.objects.create(
        name=data["client_id"],
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=data.get("grant_type", application_model.GRANT_AUTHORIZATION_CODE),
        redirect_uris=data["redirect_uri"],
        skip_authorization=data.get("skip_authorization", True),
        algorithm=application_model.RS256_ALGORITHM,
    )
    return JsonResponse({"client_id": data["client_id"]}, status=201)
