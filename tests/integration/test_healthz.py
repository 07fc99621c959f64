"""/healthz answers without login: 200 with the parts' reachability, 503 without a database."""

import httpx
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_login_and_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}


def test_healthz_is_degraded_but_up_when_redis_is_unreachable(client, settings):
    from devstack.ports import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["redis"]["ok"] is False and "Connection" in body["redis"]["error"]


def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    from django.db.utils import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "OperationalError: could not connect to server"}


def test_healthz_through_daphne(daphne_server):
    response = httpx.get(f"{daphne_server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["database"]["ok"] is True


@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
