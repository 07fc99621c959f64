"""In Chromium: a fired alert reaches the badge and the health page over the WebSocket, without a reload."""

import re

import pytest
from django.test import override_settings
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from playwright.sync_api import expect

from clusters import polling
from tests.support.browser import in_worker_thread, log_in
from tests.support.fleet import publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(ALERT_FOR_SECONDS=0.0, ALERT_FOR_SECONDS_BY_CHECK={})
def test_a_fired_alert_updates_the_badge_and_the_health_page_without_reload(page, make_user, nats_cluster):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    users["viewer"].set_password("viewer-long-password-1")
    users["viewer"].save()
    in_worker_thread(polling.poll_cluster, cluster.pk)
    log_in(page, "victor", "viewer-long-password-1")
    page.goto("/clusters/lab/health/")
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.locator("#alerts-badge")).to_have_text("0 firing")
    expect(page.locator("#checks")).to_contain_text("OK       node.unreachable n1")
    page.evaluate("window.notReloaded = true")

    async def backlog(nc, js):
        await js.add_stream(StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=1))
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="audit", ack_policy=AckPolicy.EXPLICIT,
                                                       metadata={"io.nats.monitor.unprocessed-warn": "1"}))
        for _ in range(3):
            await publish_when_ready(js, "orders.new", b"x")

    async def clean(nc, js):
        await js.delete_stream("ORDERS")

    in_worker_thread(run_nats, nats_cluster, "TEAM_A", backlog)
    try:
        in_worker_thread(polling.poll_cluster, cluster.pk)
        expect(page.locator("#alerts-badge")).to_have_text(re.compile(r"^[1-9]\d* firing$"))
        expect(page.locator("#checks")).to_contain_text("WARNING  consumer.num_pending TEAM_A/ORDERS/audit")
        expect(page.locator("#alerts-firing")).to_contain_text("ORDERS/audit")
        expect(page.locator("#health-overall")).to_have_text("WARNING")
        assert page.evaluate("window.notReloaded") is True
    finally:
        in_worker_thread(run_nats, nats_cluster, "TEAM_A", clean)
