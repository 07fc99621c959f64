"""core.db.insert_rows against the database the suite runs on (SQLite, and PostgreSQL in CI):
what it writes reads back through the ORM exactly as bulk_create's rows would."""

from datetime import datetime, timezone

import pytest

from clusters.models import Cluster, ConsumerSample, Node, NodeSample, Resolution
from core.db import insert_rows

pytestmark = pytest.mark.django_db


def test_rows_read_back_as_written_with_their_times_and_empty_values():
    cluster = Cluster.objects.create(name="lab")
    node = Node.objects.create(cluster=cluster, monitor_url="http://n1:8222")
    at = datetime(2026, 11, 22, 4, 30, 15, 123456, tzinfo=timezone.utc)
    columns = ("node_id", "at", "resolution", *NodeSample.VALUES)
    values = (1.5, 2.0, 300.25, None, 7, 12, 0, 52428800.0, 3.5)
    assert insert_rows(NodeSample, columns, [(node.pk, at, int(Resolution.RAW), *values)]) == 1

    stored = NodeSample.objects.get(node=node)
    assert stored.at == at and stored.resolution == Resolution.RAW
    assert tuple(getattr(stored, name) for name in NodeSample.VALUES) == values
    assert NodeSample.objects.filter(node=node, at__gte=at).count() == 1  # compares as a datetime


def test_many_rows_in_one_call_and_none_is_nothing():
    cluster = Cluster.objects.create(name="lab")
    at = datetime(2026, 11, 22, 4, 30, tzinfo=timezone.utc)
    rows = [(cluster.pk, "TEAM_A", "ORDERS", f"c{i}", at, int(Resolution.RAW), i, i * 2, 0, 10 ** 12 + i)
            for i in range(50)]
    columns = ("cluster_id", "account", "stream", "consumer", "at", "resolution", *ConsumerSample.VALUES)
    assert insert_rows(ConsumerSample, columns, rows) == 50
    assert insert_rows(ConsumerSample, columns, []) == 0
    stored = ConsumerSample.objects.get(consumer="c49")
    assert (stored.num_pending, stored.num_ack_pending, stored.ack_floor_stream_seq) == (49, 98, 10 ** 12 + 49)
    assert ConsumerSample.objects.filter(cluster=cluster, at=at).count() == 50
