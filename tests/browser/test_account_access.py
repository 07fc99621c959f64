"""In Chromium: a member of team A finds account A from the landing page and cannot reach account B."""

import re

import pytest
from playwright.sync_api import expect

from clusters import polling
from tests.support.browser import in_worker_thread, log_in
from tests.support.fleet import publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_of_team_a_sees_account_a_and_cannot_reach_account_b(page, make_user, nats_cluster):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    users["viewer"].set_password("victor-long-password-1")
    users["viewer"].save()

    async def stream_in(nc, js):
        await js.add_stream(name="SECRETS_B", subjects=["secrets.>"])
        await publish_when_ready(js, "secrets.one", b"{}")

    async def drop(nc, js):
        await js.delete_stream("SECRETS_B")

    in_worker_thread(run_nats, nats_cluster, "TEAM_B", stream_in)
    try:
        in_worker_thread(polling.poll_cluster, cluster.pk)
        log_in(page, "victor", "victor-long-password-1")

        # The landing page lists the team's account, and only it.
        accounts_section = page.locator("#my-accounts")
        expect(accounts_section.get_by_role("link", name="TEAM_A")).to_be_visible()
        expect(accounts_section.get_by_text("TEAM_B")).to_have_count(0)

        accounts_section.get_by_role("link", name="TEAM_A").click()
        expect(page).to_have_url(re.compile(r"/clusters/lab/accounts/TEAM_A/$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("TEAM_A")

        # Account B's pages answer as if they did not exist, and nothing names its streams.
        for path in ("/clusters/lab/accounts/TEAM_B/", "/clusters/lab/accounts/TEAM_B/streams/SECRETS_B/",
                     "/clusters/lab/accounts/TEAM_B/publish/"):
            response = page.goto(path)
            assert response.status == 404, path
        page.goto("/clusters/lab/streams/")
        expect(page.get_by_text("SECRETS_B")).to_have_count(0)
        page.goto("/")
        expect(page.get_by_text("TEAM_B")).to_have_count(0)
    finally:
        in_worker_thread(run_nats, nats_cluster, "TEAM_B", drop)
