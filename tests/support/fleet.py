"""A registered cluster over a real NatsCluster, with a team holding TEAM_A: an operator and a viewer."""

import asyncio

import nats
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from clusters import services
from clusters.models import Account, Membership, Role, Team, TeamGrant
from devstack.nats import SYSTEM_ACCOUNT, TEAM_ACCOUNTS


def register_fleet(nats_cluster, make_user, *, name: str = "lab", monitor_urls=None):
    cluster = services.register_cluster(name=name, nats_urls=nats_cluster.client_urls,
                                        monitor_urls=monitor_urls or nats_cluster.monitor_urls)
    Account.objects.create(cluster=cluster, name=SYSTEM_ACCOUNT.name, is_system=True, user=SYSTEM_ACCOUNT.user,
                           password=SYSTEM_ACCOUNT.password)
    accounts = {a.name: Account.objects.create(cluster=cluster, name=a.name, user=a.user, password=a.password)
                for a in TEAM_ACCOUNTS}
    team_a = Team.objects.create(name="team-a")
    TeamGrant.objects.create(team=team_a, account=accounts["TEAM_A"])
    team_b = Team.objects.create(name="team-b")
    TeamGrant.objects.create(team=team_b, account=accounts["TEAM_B"])
    users = {
        "operator": make_user("olga"), "viewer": make_user("victor"), "outsider": make_user("bert"),
        "root": make_user("root", is_superuser=True, is_staff=True),
    }
    Membership.objects.create(team=team_a, user=users["operator"], role=Role.OPERATOR)
    Membership.objects.create(team=team_a, user=users["viewer"], role=Role.VIEWER)
    Membership.objects.create(team=team_b, user=users["outsider"], role=Role.OPERATOR)
    return cluster, accounts, users


def run_nats(nats_cluster, account_name: str, work, server_index: int = 0):
    """Run `work(nc, js)` on a plain nats-py connection (the test's own client, not natsdash's)."""
    account = nats_cluster.account(account_name)

    async def main():
        nc = await nats.connect(nats_cluster.client_urls[server_index], user=account.user,
                                password=account.password, connect_timeout=3, allow_reconnect=False,
                                max_reconnect_attempts=0)
        try:
            return await work(nc, nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(main())


async def publish_when_ready(js, subject: str, body: bytes, attempts: int = 40):
    """Publish, waiting out the moment right after creation when the stream's interest has not
    reached every server yet (no responders)."""
    for _ in range(attempts):
        try:
            return await js.publish(subject, body)
        except NoStreamResponseError:
            await asyncio.sleep(0.25)
    raise AssertionError(f"no stream answered for {subject}")


def delete_all_streams(nats_cluster, accounts=("TEAM_A", "TEAM_B")) -> None:
    """Leave the module's NATS cluster without streams for the next test."""

    async def clean(nc, js):
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)

    for account in accounts:
        run_nats(nats_cluster, account, clean)


async def fetch_when_led(subscription, count: int, attempts: int = 40):
    """Fetch, waiting out the moment right after creation when the consumer has no leader yet
    (the server answers 503)."""
    for _ in range(attempts):
        try:
            return await subscription.fetch(count, timeout=5)
        except ServiceUnavailableError:
            await asyncio.sleep(0.25)
    raise AssertionError("the consumer never got a leader")
