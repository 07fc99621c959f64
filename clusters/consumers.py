"""WebSockets for live dashboard updates.

/ws/updates/ joins the fleet group (overview badges, heartbeats); /ws/clusters/<name>/
also joins that cluster's group, after checking the user may see the cluster.
Anonymous sockets and clusters the user may not see are closed before accept.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from clusters import selectors
from clusters.live import cluster_group
from core.live import FLEET_GROUP

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _visible_cluster_id(user, name: str) -> int | None:
    try:
        return selectors.cluster_for(user, name).pk
    except Http404:
        return None


class LiveUpdatesConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()

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

    async def live_update(self, message):
        await self.send_json({"event": message["event"], "data": message["data"]})
