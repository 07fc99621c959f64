"""The cluster fixture really forms a routed JetStream cluster, and notices a dead node."""

import httpx

from devstack.ports import wait_until


def route_peers(cluster, index) -> set[str]:
    return {route["remote_name"] for route in cluster.routez(index)["routes"]}


def test_three_nodes_form_a_full_mesh_with_jetstream(nats_cluster):
    names = set(nats_cluster.node_names)
    for index, name in enumerate(nats_cluster.node_names):
        assert httpx.get(f"{nats_cluster.monitor_urls[index]}/healthz", timeout=2).status_code == 200
        varz = nats_cluster.varz(index)
        assert varz["server_name"] == name
        assert varz["cluster"]["name"] == "test"
        assert varz["remotes"] == 2
        assert route_peers(nats_cluster, index) == names - {name}
        jsz = httpx.get(f"{nats_cluster.monitor_urls[index]}/jsz", timeout=2).json()
        assert jsz["meta_cluster"]["cluster_size"] == 3
        assert jsz["meta_cluster"].get("leader") in names


def test_killed_node_vanishes_from_the_others_and_returns_on_restart(nats_cluster):
    nats_cluster.kill_node(2)
    wait_until(lambda: all(route_peers(nats_cluster, i) == {"n1", "n2"} - {nats_cluster.node_names[i]}
                           for i in (0, 1)), timeout=15, what="survivors dropping n3")
    assert nats_cluster.varz(0)["remotes"] == 1
    assert nats_cluster.varz(1)["remotes"] == 1

    nats_cluster.restart_node(2)
    for index in range(3):
        assert nats_cluster.varz(index)["remotes"] == 2
    assert "n3" in route_peers(nats_cluster, 0)


def test_accounts_of_the_demo_layout_accept_their_users(nats_cluster):
    import asyncio

    import nats

    async def connect_all():
        for name in ("SYS", "TEAM_A", "TEAM_B"):
            account = nats_cluster.account(name)
            nc = await nats.connect(nats_cluster.client_urls[0], user=account.user,
                                    password=account.password, connect_timeout=2,
                                    allow_reconnect=False, max_reconnect_attempts=0)
            await nc.close()

    asyncio.run(connect_all())
    accountz = httpx.get(f"{nats_cluster.monitor_urls[0]}/accountz", timeout=2).json()
    assert {"SYS", "TEAM_A", "TEAM_B"} <= set(accountz["accounts"])
    assert accountz["system_account"] == "SYS"
