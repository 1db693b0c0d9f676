import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_channel_layer_and_broker_healthy():
    # when
    response = Client().get("/healthz")

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["channel_layer"]["backend"] == "RedisChannelLayer"


@pytest.mark.django_db
def test_healthz_reports_503_when_the_broker_is_unreachable(settings, monkeypatch):
    # given a broker that refuses connections
    from toc.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")

    # when
    response = Client().get("/healthz")

    # then
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "failing"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
