"""In Chromium: the cluster page draws the mesh and a killed node turns red without a reload."""

import re

import pytest
from playwright.sync_api import expect

from clusters import polling, services
from tests.support.browser import in_worker_thread, log_in

pytestmark = pytest.mark.django_db(transaction=True)
RED = "rgb(198,40,40)"
GREEN = "rgb(31,138,76)"


def poll(cluster_id: int):
    """Poll from a worker thread, as Celery would."""
    return in_worker_thread(polling.poll_cluster, cluster_id)


def node_colour(page, name: str) -> str:
    return page.evaluate(
        "(name) => document.getElementById('mesh').cy.getElementById(name).style('background-color')", name
    ).replace(" ", "")


def test_mesh_shows_three_nodes_and_a_killed_one_turns_red_without_reload(page, make_user, nats_cluster):
    make_user("root", "root-long-password-1", is_superuser=True, is_staff=True)
    cluster = services.register_cluster(name="lab", nats_urls=nats_cluster.client_urls,
                                        monitor_urls=nats_cluster.monitor_urls)
    poll(cluster.pk)
    log_in(page, "root", "root-long-password-1")
    expect(page.get_by_role("link", name="lab")).to_be_visible()
    page.get_by_role("link", name="lab").click()

    mesh = page.locator("#mesh")
    expect(mesh).to_have_attribute("data-ready", "true")
    expect(mesh).to_have_attribute("data-nodes-up", "3")
    expect(page.locator("#live-status")).to_have_text("live")
    assert page.evaluate("document.getElementById('mesh').cy.edges('[kind = \"route\"]').length") == 3
    assert [node_colour(page, name) for name in ("n1", "n2", "n3")] == [GREEN] * 3
    page.evaluate("window.notReloaded = true")

    nats_cluster.kill_node(2)
    try:
        poll(cluster.pk)
        expect(mesh).to_have_attribute("data-nodes-down", "n3")
        assert node_colour(page, "n3") == RED
        assert node_colour(page, "n1") == GREEN
        expect(page.locator("#cluster-status")).to_have_text("degraded")
        expect(page.locator("#findings")).to_contain_text("n3")
        expect(page.locator("#events")).to_contain_text("n3 is down")
        assert page.evaluate("window.notReloaded") is True

        page.evaluate("() => { document.getElementById('mesh').cy.getElementById('n3').emit('tap'); }")
        expect(page.locator("#node-panel")).to_be_visible()
        expect(page.locator("#panel-figures")).to_contain_text("down")
    finally:
        nats_cluster.restart_node(2)


def test_node_page_draws_charts_from_samples(page, make_user, nats_cluster):
    make_user("root", "root-long-password-1", is_superuser=True, is_staff=True)
    cluster = services.register_cluster(name="lab", nats_urls=nats_cluster.client_urls,
                                        monitor_urls=nats_cluster.monitor_urls)
    for _ in range(3):
        poll(cluster.pk)
    log_in(page, "root", "root-long-password-1")
    page.goto("/clusters/lab/nodes/n1/")
    expect(page.get_by_role("heading", name=re.compile("n1"))).to_be_visible()
    expect(page.locator("#charts")).to_have_attribute("data-points", "3")
    expect(page.locator("#charts .uplot")).to_have_count(6)
