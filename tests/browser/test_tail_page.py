"""In Chromium: the tail page shows live messages and its counters move."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.fleet import register_fleet

pytestmark = pytest.mark.django_db(transaction=True)


def publish_in_thread(nats_cluster, count: int, subject: str = "orders.created"):
    import nats

    async def main():
        account = nats_cluster.account("TEAM_A")
        nc = await nats.connect(nats_cluster.client_urls[1], user=account.user, password=account.password)
        for index in range(count):
            await nc.publish(subject, b'{"order": %d, "trace": "tr-%d"}' % (index, index), headers={"trace-id": f"tr-{index}"})
        await nc.flush()
        await nc.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(main())).result(timeout=60)


def test_tail_page_shows_messages_and_counters_move(page, make_user, nats_cluster):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    users["viewer"].set_password("victor-long-password-1")
    users["viewer"].save()
    connection.close()
    log_in(page, "victor", "victor-long-password-1")

    page.goto("/clusters/lab/tail/?account=TEAM_A&subject=orders.>")
    expect(page.locator("#tail-status")).to_have_text("live")
    publish_in_thread(nats_cluster, 40)
    expect(page.locator("#tail-received")).to_have_text("40")
    expect(page.locator("#tail-messages li")).to_have_count(40)
    expect(page.locator("#tail-messages li").first).to_contain_text("orders.created")
    expect(page.locator("#tail-messages li").first).to_contain_text("trace-id: tr-39")
    expect(page.locator("#tail-dropped")).to_have_text("0")
    expect(page.locator("#tail-subjects")).to_contain_text("orders.created")

    page.locator("#tail-filter").fill("tr-7")
    expect(page.locator("#tail-messages li")).to_have_count(1)
    page.locator("#tail-filter").fill("")

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#tail-status")).to_contain_text("paused")
    publish_in_thread(nats_cluster, 5)
    page.wait_for_timeout(500)
    expect(page.locator("#tail-received")).to_have_text("40")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#tail-received")).to_have_text("45")
