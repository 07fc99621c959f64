"""Access control everywhere: every URL and WebSocket route x five users x two accounts.

The routes come from the URL configuration and the WebSocket routing, so a new route without a
rule here fails the suite. Two teams share one real NATS cluster: team A holds account TEAM_A
(registered as cluster lab-a), team B holds TEAM_B (registered as lab-b). What a user may not
see answers 404 (WebSocket: refused); an action on an account the user sees but may not operate
answers 403. Actions are sent with input that fails validation, so they change nothing (the
deletes of team grants, members, channels and silences really delete; each test's transaction is
rolled back). lab-a also holds TEAM_B, granted to nobody, and no page a member of a team is given
may name the other team's account, cluster or team.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
import websockets
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from natsdash.routing import websocket_urlpatterns
from tests.support.fleet import publish_when_ready, run_nats

pytestmark = pytest.mark.django_db

USERS = ("anonymous", "viewer of A", "operator of A", "operator of B", "superuser")
SEES = {"viewer of A": {"A"}, "operator of A": {"A"}, "operator of B": {"B"}, "superuser": {"A", "B"}}
OPERATES = {"operator of A": {"A"}, "operator of B": {"B"}, "superuser": {"A", "B"}}
MEMBER_OF = {"viewer of A": {"A"}, "operator of A": {"A"}, "operator of B": {"B"}}
TEAM_OPERATOR_OF = {"operator of A": {"A"}, "operator of B": {"B"}}


@dataclass(frozen=True)
class Target:
    cluster: str
    account: str
    team: str


TARGETS = {"A": Target("lab-a", "TEAM_A", "team-a"), "B": Target("lab-b", "TEAM_B", "team-b")}
STREAM = "ORDERS"  # exists in both accounts


@dataclass(frozen=True)
class Rule:
    """Who may reach a route: `kind` names the rule (see expected()); the request is `method` with
    `data` (a JSON body for the API), and URL arguments may be fixed by `arguments`."""

    kind: str
    method: str = "GET"
    data: object = None
    arguments: tuple = ()


INVALID_JSON_BODY = "[]"  # valid JSON, not an object: refused after the access check

RULES = {
    "home": Rule("signed_in"),
    "healthz": Rule("public"),
    "login": Rule("public"),
    "logout": Rule("sign_out", "POST"),
    "audit": Rule("signed_in"),
    "api-audit": Rule("signed_in"),
    "api-clusters": Rule("signed_in"),
    # Fleet pages.
    "cluster": Rule("see"),
    "node": Rule("see"),
    "api-cluster": Rule("see"),
    "api-topology": Rule("see"),
    "api-node-series": Rule("see"),
    "cluster-register": Rule("superuser"),
    "account-add": Rule("superuser"),
    "node-add": Rule("superuser", "POST", {}),
    # Teams.
    "teams": Rule("superuser"),
    "team": Rule("superuser"),
    "team-delete": Rule("superuser", "POST", {"confirm": "not the name"}),
    "team-grant-add": Rule("superuser", "POST", {}),
    "team-grant-delete": Rule("superuser", "POST", {}),
    "team-member-add": Rule("superuser", "POST", {}),
    "team-member-delete": Rule("superuser", "POST", {}),
    # Streams: reads for every role, actions for operators.
    "streams": Rule("see"),
    "tail": Rule("see"),
    "stream": Rule("see"),
    "messages": Rule("see"),
    "api-streams": Rule("see"),
    "publish": Rule("operate", "POST", {"subject": ""}),
    "stream-create": Rule("operate", "POST", {}),
    "purge": Rule("operate", "POST", {}),  # no confirmation typed: a preview only
    "stream-limits": Rule("operate", "POST", {}),  # nothing to change
    "stream-delete": Rule("operate", "POST", {"confirm": "not the name"}),
    "message-delete": Rule("operate", "POST", {}, arguments=(("seq", "not-a-number"),)),
    "api-publish": Rule("operate", "POST", INVALID_JSON_BODY),
    "api-purge": Rule("operate", "POST", INVALID_JSON_BODY),
    "api-message-delete": Rule("operate", "POST", INVALID_JSON_BODY, arguments=(("seq", "not-a-number"),)),
    # Accounts.
    "account": Rule("see"),
    "api-accounts": Rule("see"),
    "api-account": Rule("see"),
    "accounts-overview": Rule("superuser"),
    # Health checks, alerts and notifications.
    "alerts": Rule("signed_in"),
    "api-alerts": Rule("signed_in"),
    "cluster-health": Rule("see"),
    "api-checks": Rule("see"),
    "thresholds": Rule("operate", "POST", {"check": "consumer.num_pending", "account": "{account}",
                                           "warning": "not a number"}),
    "metrics": Rule("signed_in"),
    "team-notifications": Rule("team_see"),
    "notification-channel-add": Rule("team_operate", "POST", {}),
    "notification-channel-delete": Rule("team_operate", "POST", {}),
    "silence-add": Rule("team_operate", "POST", {}),
    "silence-delete": Rule("team_operate", "POST", {}),
}

WEBSOCKET_RULES = {"ws-updates": "signed_in", "ws-cluster": "see", "ws-tail": "see"}


def expected(kind: str, user: str, target: str) -> str:
    if kind == "public":
        return "allowed"
    if kind == "sign_out":
        return "unauthenticated"  # everyone ends at the login page
    if user == "anonymous":
        return "unauthenticated"
    superuser = user == "superuser"
    if kind == "signed_in":
        return "allowed"
    if kind == "superuser":
        return "allowed" if superuser else "not found"
    if kind == "see":
        return "allowed" if target in SEES[user] else "not found"
    if kind == "operate":
        if target in OPERATES.get(user, set()):
            return "allowed"
        return "forbidden" if target in SEES[user] else "not found"
    if kind == "team_see":
        return "allowed" if superuser or target in MEMBER_OF.get(user, set()) else "not found"
    if kind == "team_operate":
        if superuser or target in TEAM_OPERATOR_OF.get(user, set()):
            return "allowed"
        return "forbidden" if target in MEMBER_OF.get(user, set()) else "not found"
    raise AssertionError(f"unknown rule kind {kind!r}")


# Names a member of one team must never be shown (superusers see everything).
HIDDEN_FROM = {"viewer of A": ("TEAM_B", "lab-b", "team-b"), "operator of A": ("TEAM_B", "lab-b", "team-b"),
               "operator of B": ("TEAM_A", "lab-a", "team-a")}


def url_routes() -> dict[str, tuple[str, list[str]]]:
    """Every named route outside the admin: name -> (pattern, its argument names)."""
    found: dict[str, tuple[str, list[str]]] = {}

    def walk(patterns, prefix: str, arguments: list[str]):
        for entry in patterns:
            names = arguments + list(entry.pattern.converters)
            if isinstance(entry, URLResolver):
                if entry.namespace != "admin":
                    walk(entry.url_patterns, prefix + str(entry.pattern), names)
            elif isinstance(entry, URLPattern):
                assert entry.name, f"route {prefix}{entry.pattern} has no name: name it and give it a rule"
                found[entry.name] = (prefix + str(entry.pattern), names)

    walk(get_resolver().url_patterns, "", [])
    return found


ROUTES = url_routes()
CASES = [(name, user, target) for name in sorted(ROUTES) if name in RULES for user in USERS for target in TARGETS]
WEBSOCKET_CASES = [(entry.name, user, target) for entry in websocket_urlpatterns if entry.name in WEBSOCKET_RULES
                   for user in USERS for target in TARGETS]


def test_every_route_has_a_rule():
    assert sorted(set(ROUTES) - set(RULES)) == [], "give each new route a rule in RULES"
    assert sorted(set(RULES) - set(ROUTES)) == [], "a rule names a route that no longer exists"
    websocket_names = {entry.name for entry in websocket_urlpatterns}
    assert None not in websocket_names and websocket_names == set(WEBSOCKET_RULES)


# -- the world: two teams on one real NATS cluster ---------------------------------------------


@pytest.fixture(scope="module")
def world(nats_cluster, django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from clusters import polling, services
    from clusters.models import Account, Cluster, Membership, Role, Team, TeamGrant
    from notifications.models import NotificationChannel, Silence

    async def stream_with_a_message(nc, js):
        await js.add_stream(name=STREAM, subjects=["orders.>"])
        await publish_when_ready(js, "orders.new", b'{"id": 1}')

    for account in ("TEAM_A", "TEAM_B"):
        run_nats(nats_cluster, account, stream_with_a_message)

    User = get_user_model()
    with django_db_blocker.unblock():
        users = {
            "viewer of A": User.objects.create_user("matrix-viewer-a", password="x-long-password-1"),
            "operator of A": User.objects.create_user("matrix-operator-a", password="x-long-password-1"),
            "operator of B": User.objects.create_user("matrix-operator-b", password="x-long-password-1"),
            "superuser": User.objects.create_superuser("matrix-root", password="x-long-password-1"),
        }
        objects = {}
        for key, target in TARGETS.items():
            cluster = services.register_cluster(name=target.cluster, nats_urls=nats_cluster.client_urls,
                                                monitor_urls=nats_cluster.monitor_urls)
            credentials = nats_cluster.account(target.account)
            account = Account.objects.create(cluster=cluster, name=target.account, user=credentials.user,
                                             password=credentials.password)
            if key == "A":  # an account of lab-a that no team holds
                other = nats_cluster.account("TEAM_B")
                Account.objects.create(cluster=cluster, name="TEAM_B", user=other.user, password=other.password)
            team = Team.objects.create(name=target.team)
            grant = TeamGrant.objects.create(team=team, account=account)
            channel = NotificationChannel.objects.create(team=team, kind="webhook", name=f"hook {key}",
                                                         url="http://127.0.0.1:9/hook")
            silence = Silence.objects.create(team=team, ends_at=timezone.now() + timedelta(hours=1), reason="test")
            objects[key] = {"grant": grant.pk, "channel": channel.pk, "silence": silence.pk}
            polling.poll_cluster(cluster.pk)
        memberships = {
            "viewer of A": ("A", Role.VIEWER), "operator of A": ("A", Role.OPERATOR),
            "operator of B": ("B", Role.OPERATOR)}
        for user, (key, role) in memberships.items():
            membership = Membership.objects.create(team=Team.objects.get(name=TARGETS[key].team),
                                                   user=users[user], role=role)
            objects[key]["membership"] = membership.pk
        tokens = {user: services.api_token_for(user=account) for user, account in users.items()}
        node = Cluster.objects.get(name="lab-a").nodes.first().server_name
    yield {"users": users, "objects": objects, "tokens": tokens, "node": node}
    with django_db_blocker.unblock():
        Cluster.objects.filter(name__in=[t.cluster for t in TARGETS.values()]).delete()
        Team.objects.filter(name__in=[t.team for t in TARGETS.values()]).delete()
        User.objects.filter(pk__in=[u.pk for u in users.values()]).delete()


def url_for(world, name: str, target_key: str) -> str:
    target = TARGETS[target_key]
    rule = RULES[name]
    values = {"name": target.cluster, "account": target.account, "team": target.team, "stream": STREAM,
              "node": world["node"], "seq": "1"}
    values.update(dict(rule.arguments))
    if name == "team-grant-delete":
        values["pk"] = world["objects"][target_key]["grant"]
    elif name == "team-member-delete":
        values["pk"] = world["objects"][target_key]["membership"]
    elif name == "notification-channel-delete":
        values["pk"] = world["objects"][target_key]["channel"]
    elif name == "silence-delete":
        values["pk"] = world["objects"][target_key]["silence"]
    _, arguments = ROUTES[name]
    return reverse(name, kwargs={argument: values[argument] for argument in arguments})


def outcome(response) -> str:
    status = response.status_code
    if status == 401 or (status == 302 and response["Location"].startswith("/login/")):
        return "unauthenticated"
    if status in (200, 302, 400):
        return "allowed"
    return {403: "forbidden", 404: "not found"}.get(status, f"HTTP {status}")


@pytest.mark.parametrize(("name", "user", "target"), CASES)
def test_url(world, name, user, target):
    client = Client()
    if user != "anonymous":
        client.force_login(world["users"][user])
    rule = RULES[name]
    url = url_for(world, name, target)
    if rule.method == "GET":
        response = client.get(url)
    elif isinstance(rule.data, str):
        response = client.post(url, rule.data, content_type="application/json")
    else:
        data = {key: value.format(**vars(TARGETS[target])) for key, value in (rule.data or {}).items()}
        response = client.post(url, data)
    assert outcome(response) == expected(rule.kind, user, target), f"{rule.method} {url} as {user}"
    body = response.content.decode(errors="replace")
    leaked = [hidden for hidden in HIDDEN_FROM.get(user, ()) if hidden in body]
    assert not leaked, f"{rule.method} {url} shows {user} {leaked}"


@pytest.mark.parametrize("user", USERS)
def test_admin(world, user):
    """The Django admin keeps its own gate: staff only, everyone else is sent to its login."""
    client = Client()
    if user != "anonymous":
        client.force_login(world["users"][user])
    response = client.get("/admin/clusters/cluster/")
    if user == "superuser":
        assert response.status_code == 200
    elif user == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    else:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# -- WebSockets, through a real Daphne ---------------------------------------------------------


async def websocket_outcome(daphne_server, path: str, token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {"Origin": daphne_server.url}
    try:
        async with websockets.connect(f"{daphne_server.ws_url}{path}", open_timeout=10,
                                      additional_headers=headers) as socket:
            first = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if first.get("event") == "hello" or first.get("status") == "subscribed":
                return "allowed"
            await asyncio.wait_for(socket.wait_closed(), 10)
            return f"closed {socket.close_code}"
    except websockets.exceptions.InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


WEBSOCKET_DENIALS = {
    # The dashboard sockets are refused in the handshake; the tail accepts, then closes with a code
    # a script can read (4401 not signed in, 4403 no role on the account or no such account).
    "ws-updates": {"unauthenticated": "refused 403"},
    "ws-cluster": {"unauthenticated": "refused 403", "not found": "refused 403"},
    "ws-tail": {"unauthenticated": "closed 4401", "not found": "closed 4403"},
}


@pytest.mark.parametrize(("name", "user", "target"), WEBSOCKET_CASES)
async def test_websocket(world, daphne_server, name, user, target):
    path = {"ws-updates": "/ws/updates/", "ws-cluster": f"/ws/clusters/{TARGETS[target].cluster}/",
            "ws-tail": f"/ws/clusters/{TARGETS[target].cluster}/accounts/{TARGETS[target].account}/tail/"
                       "?subject=orders.>"}[name]
    token = None if user == "anonymous" else world["tokens"][user]
    want = expected(WEBSOCKET_RULES[name], user, target)
    want = want if want == "allowed" else WEBSOCKET_DENIALS[name][want]
    assert await websocket_outcome(daphne_server, path, token) == want
