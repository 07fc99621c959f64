"""Registering clusters, accounts and discovered nodes from the UI (superusers only)."""

import pytest
from django.test import Client

from clusters.models import Account, Cluster, Node

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client(make_user):
    client = Client()
    client.force_login(make_user("root", is_superuser=True, is_staff=True))
    return client


def test_superuser_registers_a_cluster(root_client):
    response = root_client.post("/clusters/new/", {
        "name": "lab", "monitor_urls": "http://127.0.0.1:8222\nhttp://127.0.0.1:8223\n",
        "nats_urls": "nats://127.0.0.1:4222", "poll_interval": "10"})
    assert response.status_code == 302 and response["Location"] == "/clusters/lab/"
    cluster = Cluster.objects.get(name="lab")
    assert cluster.poll_interval == 10 and cluster.nats_urls == ["nats://127.0.0.1:4222"]
    assert sorted(cluster.nodes.values_list("monitor_url", flat=True)) == ["http://127.0.0.1:8222",
                                                                           "http://127.0.0.1:8223"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "bad name!", "Use letters"),
    ("monitor_urls", "127.0.0.1:8222", "is not a URL like http://host:8222"),
    ("monitor_urls", "", "This field is required"),
    ("nats_urls", "http://127.0.0.1:4222", "is not a URL like nats://host:4222"),
])
def test_bad_registration_is_refused_with_a_message_and_changes_nothing(root_client, field, value, message):
    data = {"name": "lab", "monitor_urls": "http://127.0.0.1:8222", "nats_urls": "", field: value}
    response = root_client.post("/clusters/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Cluster.objects.exists()


def test_duplicate_name_is_refused(root_client):
    Cluster.objects.create(name="lab")
    response = root_client.post("/clusters/new/", {"name": "lab", "monitor_urls": "http://127.0.0.1:8222"})
    assert "already registered" in response.content.decode()
    assert Cluster.objects.count() == 1


def test_account_secrets_are_write_only(root_client):
    cluster = Cluster.objects.create(name="lab")
    response = root_client.post("/clusters/lab/accounts/new/", {"name": "TEAM_A", "user": "a", "password": "s3cret-pw"})
    assert response.status_code == 302
    account = Account.objects.get(cluster=cluster, name="TEAM_A")
    assert account.password == "s3cret-pw" and repr(account.password) == "SecretValue('********')"
    page = root_client.get(f"/admin/clusters/account/{account.pk}/change/").content.decode()
    assert "s3cret-pw" not in page and "stored; leave empty to keep it" in page
    # Saving the admin form with the password left empty keeps it.
    root_client.post(f"/admin/clusters/account/{account.pk}/change/", {
        "cluster": cluster.pk, "name": "TEAM_A", "user": "a", "password": "", "token": "", "nkey_seed": "",
        "creds": "", "creds_file": "", "tls_ca_file": "", "tls_cert_file": "", "tls_key_file": ""})
    account.refresh_from_db()
    assert account.password == "s3cret-pw"


def test_seen_peer_can_be_added_as_a_monitored_node(root_client):
    cluster = Cluster.objects.create(name="lab", topology={"unmonitored_peers": ["n3"], "findings": []})
    page = root_client.get("/clusters/lab/").content.decode()
    assert "Seen, not monitored" in page and "n3" in page
    root_client.post("/clusters/lab/nodes/add/", {"monitor_url": "http://127.0.0.1:8224"})
    assert Node.objects.filter(cluster=cluster, monitor_url="http://127.0.0.1:8224").exists()
    root_client.post("/clusters/lab/nodes/add/", {"monitor_url": "not a url"})
    assert Node.objects.filter(cluster=cluster).count() == 1


def test_other_users_cannot_register(make_user):
    client = Client()
    client.force_login(make_user("bob"))
    assert client.post("/clusters/new/", {"name": "lab", "monitor_urls": "http://127.0.0.1:8222"}).status_code == 404
    assert not Cluster.objects.exists()
