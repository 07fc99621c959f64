"""The one way server code pushes live updates to browsers.

Messages go to a Channels group after the surrounding transaction commits, so
a browser never hears about a change that was rolled back. Delivery is best
effort: with Redis briefly gone, pages keep working and catch up on the next push.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

FLEET_GROUP = "fleet"


def push_after_commit(group: str, event: str, data: dict) -> None:
    transaction.on_commit(lambda: _send(group, event, data))


def _send(group: str, event: str, data: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "live.update", "event": event, "data": data})
    except Exception as exc:  # the channel layer raises redis and OS errors alike
        log.warning("live update to %s not sent: %s", group, exc)
