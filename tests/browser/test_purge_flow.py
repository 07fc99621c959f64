"""In Chromium: an operator previews a purge, must type the stream's name, and sees the result."""


import pytest
from nats.js.api import StreamConfig
from playwright.sync_api import expect

from clusters import polling
from streams.models import AuditEntry
from tests.support.browser import in_worker_thread, log_in
from tests.support.fleet import publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_purges_a_subject_with_a_typed_confirmation(page, make_user, nats_cluster):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    users["operator"].set_password("olga-long-password-1")
    users["operator"].save()

    async def fill(nc, js):
        await js.add_stream(StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=3))
        for index in range(12):
            await publish_when_ready(js, "orders.created" if index % 3 else "orders.cancelled", b"{}")

    async def subjects(nc, js):
        return dict((await js.stream_info("ORDERS", subjects_filter=">")).state.subjects)

    async def drop(nc, js):
        await js.delete_stream("ORDERS")

    in_worker_thread(run_nats, nats_cluster, "TEAM_A", fill)
    try:
        in_worker_thread(polling.poll_cluster, cluster.pk)
        log_in(page, "olga", "olga-long-password-1")

        page.goto("/clusters/lab/streams/")
        page.get_by_role("link", name="ORDERS").click()
        page.get_by_role("link", name="Purge").click()
        page.get_by_label("Only subject").fill("orders.cancelled")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#purge-count")).to_have_text("4")
        expect(page.locator("#purge-preview")).to_contain_text("orders.cancelled")

        page.get_by_label("Type ORDERS to confirm").fill("orders")  # wrong: case matters
        page.get_by_role("button", name="Purge").click()
        expect(page.locator("#purge-error")).to_contain_text("to confirm")
        assert in_worker_thread(run_nats, nats_cluster, "TEAM_A", subjects) == {"orders.created": 8, "orders.cancelled": 4}

        page.get_by_label("Type ORDERS to confirm").fill("ORDERS")
        page.get_by_role("button", name="Purge").click()
        expect(page.get_by_text("Purged 4 message(s) from ORDERS.")).to_be_visible()
        assert in_worker_thread(run_nats, nats_cluster, "TEAM_A", subjects) == {"orders.created": 8}
        assert list(AuditEntry.objects.values_list("action", "outcome", "result")) == [("purge", "ok", {"purged": 4})]

        page.goto("/audit/")
        expect(page.locator("#audit")).to_contain_text("purged=4")
    finally:
        in_worker_thread(run_nats, nats_cluster, "TEAM_A", drop)
