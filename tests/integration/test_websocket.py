"""Channels routing through a real Daphne: signed-in sockets are accepted, anonymous ones refused."""

import asyncio
import json

import pytest
import websockets
from django.db import connection
from django.test import Client

from core.live import FLEET_GROUP, push_after_commit

pytestmark = pytest.mark.django_db(transaction=True)


def push_from_a_worker_thread(event: str, data: dict) -> None:
    try:
        push_after_commit(FLEET_GROUP, event, data)
    finally:
        connection.close()  # the thread's own connection, opened to check autocommit


@pytest.fixture
def session_cookie(make_user):
    client = Client()
    client.force_login(make_user("carol"))
    return f"sessionid={client.cookies['sessionid'].value}"


def connect(server, cookie: str | None = None):
    headers = {"Origin": server.url}
    if cookie:
        headers["Cookie"] = cookie
    return websockets.connect(f"{server.ws_url}/ws/updates/", additional_headers=headers, open_timeout=10)


async def test_signed_in_socket_is_accepted_and_receives_pushes(daphne_server, session_cookie):
    async with connect(daphne_server, session_cookie) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert hello == {"event": "hello", "data": {"user": "carol"}}

        # A push from another process (here: this test) reaches the browser through Redis.
        await asyncio.to_thread(push_from_a_worker_thread, "heartbeat", {"at": "now"})
        pushed = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert pushed == {"event": "heartbeat", "data": {"at": "now"}}


async def test_anonymous_socket_is_refused(daphne_server):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with connect(daphne_server) as socket:
            await asyncio.wait_for(socket.recv(), 10)
    assert refused.value.response.status_code == 403


async def test_forged_session_cookie_is_refused(daphne_server):
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with connect(daphne_server, "sessionid=not-a-session") as socket:
            await asyncio.wait_for(socket.recv(), 10)


async def test_foreign_origin_is_refused(daphne_server, session_cookie):
    headers = {"Origin": "http://evil.example.com", "Cookie": session_cookie}
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{daphne_server.ws_url}/ws/updates/",
                                      additional_headers=headers, open_timeout=10) as socket:
            await socket.recv()


@pytest.fixture
def lab_cluster(make_user):
    from clusters.models import Account, Cluster, Membership, Role, Team, TeamGrant

    lab = Cluster.objects.create(name="lab")
    team = Team.objects.create(name="payments")
    TeamGrant.objects.create(team=team, account=Account.objects.create(cluster=lab, name="TEAM_A"))
    viewer = make_user("vera")
    Membership.objects.create(team=team, user=viewer, role=Role.VIEWER)
    make_user("mallory")
    return lab


def cookie_for(username: str) -> str:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_cluster_socket_is_accepted_for_a_member_and_receives_its_updates(daphne_server, lab_cluster):
    from clusters.live import cluster_group

    cookie = await asyncio.to_thread(cookie_for, "vera")
    async with websockets.connect(f"{daphne_server.ws_url}/ws/clusters/lab/", open_timeout=10,
                                  additional_headers={"Origin": daphne_server.url, "Cookie": cookie}) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["event"] == "hello"

        def push():
            try:
                push_after_commit(cluster_group(lab_cluster.pk), "cluster", {"name": "lab"})
            finally:
                connection.close()

        await asyncio.to_thread(push)
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"event": "cluster", "data": {"name": "lab"}}


@pytest.mark.parametrize("path", ["/ws/clusters/lab/", "/ws/clusters/nope/"])
async def test_cluster_socket_is_refused_when_the_user_may_not_see_it(daphne_server, lab_cluster, path):
    cookie = await asyncio.to_thread(cookie_for, "mallory")
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(f"{daphne_server.ws_url}{path}", open_timeout=10,
                                      additional_headers={"Origin": daphne_server.url, "Cookie": cookie}):
            pass
    assert refused.value.response.status_code == 403


async def test_scripts_connect_with_a_bearer_token_and_no_origin(daphne_server, lab_cluster):
    from django.contrib.auth import get_user_model

    from clusters.services import api_token_for

    def token():
        try:
            return api_token_for(user=get_user_model().objects.get(username="vera"))
        finally:
            connection.close()

    value = await asyncio.to_thread(token)
    async with websockets.connect(f"{daphne_server.ws_url}/ws/clusters/lab/", open_timeout=10,
                                  additional_headers={"Authorization": f"Bearer {value}"}) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"event": "hello", "data": {"user": "vera"}}
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{daphne_server.ws_url}/ws/clusters/lab/", open_timeout=10,
                                      additional_headers={"Authorization": "Bearer nd_wrong"}):
            pass


async def test_pushes_about_a_cluster_or_account_reach_only_who_may_see_it(daphne_server, lab_cluster):
    """The fleet group is shared by every socket: the scope of each push decides who hears it."""
    from clusters.models import Account

    await asyncio.to_thread(lambda: Account.objects.create(cluster=lab_cluster, name="TEAM_B"))

    def push(event: str, **scope):
        try:
            push_after_commit(FLEET_GROUP, event, {"about": event}, **scope)
        finally:
            connection.close()

    received = {}
    for username in ("vera", "mallory"):
        cookie = await asyncio.to_thread(cookie_for, username)
        async with websockets.connect(f"{daphne_server.ws_url}/ws/updates/", open_timeout=10,
                                      additional_headers={"Origin": daphne_server.url, "Cookie": cookie}) as socket:
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["event"] == "hello"
            await asyncio.to_thread(push, "lab-news", cluster="lab")
            await asyncio.to_thread(push, "team-a-news", cluster="lab", account="TEAM_A")
            await asyncio.to_thread(push, "team-b-news", cluster="lab", account="TEAM_B")
            await asyncio.to_thread(push, "other-cluster-news", cluster="elsewhere")
            await asyncio.to_thread(push, "for-everyone")
            events = []
            while not events or events[-1] != "for-everyone":  # pushes arrive in order: this one is last
                events.append(json.loads(await asyncio.wait_for(socket.recv(), 10))["event"])
            received[username] = events
    assert received == {"vera": ["lab-news", "team-a-news", "for-everyone"], "mallory": ["for-everyone"]}
