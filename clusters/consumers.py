"""WebSockets for live dashboard updates.

/ws/updates/ joins the fleet group (overview badges, heartbeats); /ws/clusters/<name>/
also joins that cluster's group, after checking the user may see the cluster.
Anonymous sockets and clusters the user may not see are closed before accept.
A push that names a cluster or account (core.live) reaches only sockets whose user may see it;
what a user may see is read again every SCOPE_REFRESH_SECONDS, so a revoked grant takes effect
on open sockets too.
"""

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from clusters import selectors
from clusters.live import cluster_group
from core.live import FLEET_GROUP

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
SCOPE_REFRESH_SECONDS = 10.0


@database_sync_to_async
def _visible_cluster_id(user, name: str) -> int | None:
    try:
        return selectors.cluster_for(user, name).pk
    except Http404:
        return None


@database_sync_to_async
def _visible_scope(user) -> tuple[set[str], set[tuple[str, str]]]:
    """The names of the clusters and the (cluster, account) pairs the user may see."""
    accounts = set(selectors.visible_accounts(user).values_list("cluster__name", "name"))
    clusters = set(selectors.visible_clusters(user).values_list("name", flat=True))
    return clusters, accounts


class LiveUpdatesConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()
    scope_read_at = 0.0
    visible_clusters: set[str] = set()
    visible_accounts: set[tuple[str, str]] = set()

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        groups = [FLEET_GROUP]
        cluster_name = self.scope["url_route"]["kwargs"].get("name")
        if cluster_name is not None:
            cluster_id = await _visible_cluster_id(user, cluster_name)
            if cluster_id is None:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            groups.append(cluster_group(cluster_id))
        self.groups_joined = tuple(groups)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "hello", "data": {"user": user.get_username()}})

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # One-way: browsers only listen.
        return

    async def may_see(self, cluster: str | None, account: str) -> bool:
        if cluster is None:
            return True
        if time.monotonic() - self.scope_read_at > SCOPE_REFRESH_SECONDS:
            self.visible_clusters, self.visible_accounts = await _visible_scope(self.scope["user"])
            self.scope_read_at = time.monotonic()
        if account:
            return (cluster, account) in self.visible_accounts
        return cluster in self.visible_clusters

    async def live_update(self, message):
        if await self.may_see(message.get("cluster"), message.get("account", "")):
            await self.send_json({"event": message["event"], "data": message["data"]})
