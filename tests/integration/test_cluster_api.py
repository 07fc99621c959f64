"""The cluster JSON API and pages: session or bearer token, and nothing a user may not see."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from clusters import polling, services
from clusters.models import Account, Membership, Role, Team, TeamGrant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fleet(nats_cluster, make_user):
    lab = services.register_cluster(name="lab", nats_urls=nats_cluster.client_urls,
                                    monitor_urls=nats_cluster.monitor_urls)
    other = services.register_cluster(name="other", nats_urls=[], monitor_urls=["http://127.0.0.1:1"])
    team_a = Account.objects.create(cluster=lab, name="TEAM_A", user="a", password="a-secret")
    Account.objects.create(cluster=other, name="TEAM_X", token="x-token")
    payments = Team.objects.create(name="payments")
    TeamGrant.objects.create(team=payments, account=team_a)
    alice = make_user("alice")
    Membership.objects.create(team=payments, user=alice, role=Role.VIEWER)
    make_user("mallory")
    make_user("root", is_superuser=True, is_staff=True)
    polling.poll_cluster(lab.pk)
    polling.poll_cluster(other.pk)
    return {"lab": lab, "other": other}


def token_of(username: str) -> str:
    out = StringIO()
    call_command("api_token", username, stdout=out)
    return out.getvalue().strip()


def get(path: str, token: str | None = None, client: Client | None = None):
    client = client or Client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_api_token_command_prints_the_same_token_twice(fleet):
    first = token_of("alice")
    assert first.startswith("nd_") and len(first) > 30
    assert token_of("alice") == first


def test_clusters_list_is_scoped_to_the_user(fleet):
    assert [c["name"] for c in get("/api/clusters/", token_of("alice")).json()["clusters"]] == ["lab"]
    assert get("/api/clusters/", token_of("mallory")).json() == {"clusters": []}
    names = [c["name"] for c in get("/api/clusters/", token_of("root")).json()["clusters"]]
    assert names == ["lab", "other"]


def test_cluster_and_topology_with_a_token(fleet):
    token = token_of("alice")
    body = get("/api/clusters/lab/", token).json()
    assert body["name"] == "lab" and body["status"] == "healthy"
    assert body["nodes_up"] == 3 and body["nodes_total"] == 3
    assert sorted(n["name"] for n in body["nodes"]) == ["n1", "n2", "n3"]
    assert all(n["status"] == "up" and n["figures"]["connections"] >= 0 for n in body["nodes"])

    topology = get("/api/clusters/lab/topology", token).json()
    assert sorted((n["name"], n["status"]) for n in topology["nodes"]) == [("n1", "up"), ("n2", "up"), ("n3", "up")]
    assert sorted((e["source"], e["target"], e["kind"]) for e in topology["edges"]) == [
        ("n1", "n2", "route"), ("n1", "n3", "route"), ("n2", "n3", "route")]
    assert topology["findings"] == []


def test_down_cluster_reports_its_node_down(fleet):
    body = get("/api/clusters/other/", token_of("root")).json()
    assert body["status"] == "down" and body["nodes_up"] == 0
    findings = get("/api/clusters/other/topology", token_of("root")).json()["findings"]
    assert [f["kind"] for f in findings] == ["node_down"]


@pytest.mark.parametrize("path", ["/api/clusters/other/", "/api/clusters/other/topology",
                                  "/api/clusters/nope/", "/api/clusters/other/nodes/1/series"])
def test_what_a_user_may_not_see_is_a_404(fleet, path):
    response = get(path, token_of("alice"))
    assert response.status_code == 404
    assert "error" in response.json()


def test_api_needs_authentication_and_a_valid_token(fleet):
    anonymous = get("/api/clusters/")
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    wrong = get("/api/clusters/", "nd_not-a-token")
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid API token"}


def test_session_auth_works_for_the_api_and_pages(fleet, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.get(username="alice"))
    assert [c["name"] for c in client.get("/api/clusters/").json()["clusters"]] == ["lab"]
    assert client.get("/clusters/lab/").status_code == 200
    assert client.get("/clusters/other/").status_code == 404
    assert client.get("/clusters/lab/nodes/n1/").status_code == 200
    assert client.get("/clusters/new/").status_code == 404  # superusers only
    page = client.get("/").content.decode()
    assert "lab" in page and "other" not in page


def test_no_secret_is_ever_rendered(fleet, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.get(username="root"))
    account = Account.objects.get(name="TEAM_A")
    pages = [
        client.get("/clusters/lab/").content.decode(),
        client.get(f"/admin/clusters/account/{account.pk}/change/").content.decode(),
        client.get("/api/clusters/lab/").content.decode(),
        client.get("/api/clusters/lab/topology").content.decode(),
    ]
    for page in pages:
        assert "a-secret" not in page and "x-token" not in page and "fernet:" not in page


def test_node_series_for_charts(fleet):
    polling.poll_cluster(fleet["lab"].pk)
    body = get("/api/clusters/lab/nodes/n1/series?window=15m", token_of("alice")).json()
    assert body["node"] == "n1" and len(body["series"]["at"]) == 2
    assert body["series"]["msgs_in_per_s"][-1] is not None
    assert get("/api/clusters/lab/nodes/n1/series?window=2y", token_of("alice")).status_code == 400
