"""The one way server code pushes live updates to browsers.

Messages go to a Channels group after the surrounding transaction commits, so
a browser never hears about a change that was rolled back. Delivery is best
effort: with Redis briefly gone, pages keep working and catch up on the next push.

A push about one cluster (and, narrower, one of its accounts) names it: the sockets of users who
may not see it drop the message (clusters.consumers), so a group shared by every user, such as
the fleet group, never leaks what another team owns.
"""

import logging

from channels.layers import get_channel_layer
from django.db import transaction

from core import aio

log = logging.getLogger(__name__)

FLEET_GROUP = "fleet"


def push_after_commit(group: str, event: str, data: dict, *, cluster: str | None = None, account: str = "") -> None:
    """`cluster` (a name) and `account`: whom the news concerns; None for news for every user."""
    message = {"type": "live.update", "event": event, "data": data, "cluster": cluster, "account": account}
    transaction.on_commit(lambda: _send(group, message))


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        # This thread's long-lived loop keeps the layer's Redis connection between pushes;
        # async_to_sync would open one on a new loop for every push (two per poll).
        aio.run(layer.group_send(group, message))
    except Exception as exc:  # the channel layer raises redis and OS errors alike
        log.warning("live update to %s not sent: %s", group, exc)
