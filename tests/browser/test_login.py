"""In a real Chromium: anonymous visits go to the login page; a user logs in and sees the home page."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_visit_is_sent_to_the_login_page(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_user_logs_in_sees_home_with_live_updates_and_logs_out(page, make_user):
    make_user("dora", "dora-long-password-1")
    page.goto("/")
    page.get_by_label("User name").fill("dora")
    page.get_by_label("Password").fill("dora-long-password-1")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    expect(page.locator(".who")).to_have_text("dora")
    # The page's WebSocket reached Daphne through the session cookie.
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.get_by_text("No NATS clusters are shared with your teams yet")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_wrong_password_is_refused_with_a_message(page, make_user):
    make_user("erin", "erin-long-password-1")
    page.goto("/login/")
    page.get_by_label("User name").fill("erin")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_superuser_home_shows_the_state_of_natsdash_itself(page, make_user):
    make_user("root", "root-long-password-1", is_superuser=True, is_staff=True)
    page.goto("/login/")
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password").fill("root-long-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("row", name=re.compile("Database"))).to_contain_text("reachable")
    expect(page.get_by_role("row", name=re.compile("Redis"))).to_contain_text("reachable")
    expect(page.get_by_role("link", name="Register a cluster")).to_be_visible()
