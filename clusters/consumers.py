"""WebSocket for live dashboard updates.

Every signed-in browser joins the fleet group; pages listen for the events they
show. Anonymous sockets are closed before they are accepted.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.live import FLEET_GROUP

CLOSE_UNAUTHENTICATED = 4401


class LiveUpdatesConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = (FLEET_GROUP,)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "hello", "data": {"user": user.get_username()}})

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The socket is one-way for now; ignore what browsers send.
        return

    async def live_update(self, message):
        await self.send_json({"event": message["event"], "data": message["data"]})
