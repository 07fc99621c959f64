"""Reads, always scoped to what a user may see.

Superusers see everything. Others see the accounts granted to their teams, and a
cluster when they may see at least one of its accounts. What a user may not see
is answered with 404 by the views, never a 403 that confirms it exists."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from clusters.models import Account, Cluster, Event, Membership, Node, NodeSample, Role

ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2}


def visible_accounts(user):
    if not user.is_authenticated:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(grants__team__memberships__user=user).distinct()


def visible_clusters(user):
    if not user.is_authenticated:
        return Cluster.objects.none()
    if user.is_superuser:
        return Cluster.objects.all()
    return Cluster.objects.filter(accounts__in=visible_accounts(user)).distinct()


def cluster_for(user, name: str) -> Cluster:
    cluster = visible_clusters(user).filter(name=name).first()
    if cluster is None:
        raise Http404("No such cluster")
    return cluster


def node_for(user, cluster_name: str, node_name: str) -> Node:
    cluster = cluster_for(user, cluster_name)
    node = cluster.nodes.filter(Q(server_name=node_name) | Q(pk=_int_or_none(node_name))).first()
    if node is None:
        raise Http404("No such node")
    return node


def role_on(user, account: Account) -> str | None:
    """The user's strongest role on an account: "operator", "viewer" or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OPERATOR
    roles = Membership.objects.filter(user=user, team__grants__account=account).values_list("role", flat=True)
    return max(roles, key=lambda role: ROLE_RANK[role], default=None)


def recent_events(cluster: Cluster, limit: int = 50):
    return list(Event.objects.filter(cluster=cluster).select_related("node")[:limit])


WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "6h": timedelta(hours=6),
           "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def node_series(node: Node, window: str) -> dict:
    """Samples of a node over a window, oldest first, in columns ready for a chart."""
    since = timezone.now() - WINDOWS[window]
    rows = (NodeSample.objects.filter(node=node, at__gte=since).order_by("at")
            .values_list("at", *NodeSample.VALUES))
    columns = {"at": []} | {name: [] for name in NodeSample.VALUES}
    for row in rows:
        columns["at"].append(row[0].timestamp())
        for name, value in zip(NodeSample.VALUES, row[1:]):
            columns[name].append(value)
    return columns


def unmonitored_peers(cluster: Cluster) -> list[str]:
    return list((cluster.topology or {}).get("unmonitored_peers", []))


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None
