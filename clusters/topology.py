"""The cluster graph: which servers exist, how they are connected, and what looks wrong.

Pure functions over the snapshots that clusters.monitoring returns: no I/O, no Django.

How the graph is read from nats-server (2.9 to 2.15):
- Servers are keyed by server_name; server_id changes on every restart.
- Routes are pooled since 2.10: /routez lists several connections per peer (pool_size,
  default 3, plus one per pinned account such as $SYS). All connections between two servers,
  as either side lists them, become one edge. 2.9 has one route per peer and no pool_size.
- A dead peer vanishes from the survivors' /routez, so a missing node is only known from the
  registered inventory (and the JetStream meta group).
- Only the JetStream meta leader's view of its peers (current, offline, lag) is meaningful;
  followers report their peers as not current.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

from clusters.monitoring import GatewayConn, LeafConn, MetaCluster, NodeSnapshot, RouteConn, Varz

SERVER, GATEWAY, LEAF = "server", "gateway", "leaf"
UP, DOWN = "up", "down"
ROUTE, GATEWAY_EDGE, LEAFNODE = "route", "gateway", "leafnode"
OK, DEGRADED, ONE_SIDED = "ok", "degraded", "one-sided"
CRITICAL, WARNING, INFO = "critical", "warning", "info"

_SEVERITY_ORDER = {CRITICAL: 0, WARNING: 1, INFO: 2}
_NODE_KIND_ORDER = {SERVER: 0, GATEWAY: 1, LEAF: 2}


# -- the graph -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedNode:
    """One registered node of the inventory."""

    monitor_url: str
    server_name: str = ""  # last known name ("" if never polled)


@dataclass(frozen=True)
class GraphNode:
    id: str  # server_name; a never-seen down node's monitor_url; "gateway:<cluster>" / "leaf:<name>"
    name: str
    kind: str  # "server", "gateway" (a remote cluster) or "leaf" (the far end of a leafnode connection)
    status: str  # "up" or "down"
    monitored: bool  # False for servers seen in routes or the meta group but not registered
    monitor_url: str = ""
    version: str = ""
    cluster: str = ""
    server_id: str = ""
    is_meta_leader: bool = False
    error: str = ""  # why a registered node is down


@dataclass(frozen=True)
class GraphEdge:
    source: str  # node ids; routes have source < target; leafnodes go from the hub
    target: str
    kind: str  # "route", "gateway" or "leafnode"
    connections: int  # connections grouped into this edge (for routes: the larger side's count)
    expected_connections: int | None  # routes: pool size + pinned accounts, or 1 before 2.10
    status: str  # "ok", "degraded" or "one-sided"
    rtt_us: float | None  # the best rtt among the grouped connections
    msgs_total: int  # in + out over the grouped connections, from the source's view when it has one
    bytes_total: int
    account: str = ""  # leafnode edges: the account
    source_connections: int | None = None  # routes: as the source lists them; None if it cannot tell
    target_connections: int | None = None  # routes: as the target lists them; None if it cannot tell

    @property
    def id(self) -> str:
        suffix = f"/{self.account}" if self.account else ""
        return f"{self.kind}:{self.source}->{self.target}{suffix}"


@dataclass(frozen=True)
class Finding:
    severity: str  # "critical", "warning" or "info"
    kind: str
    message: str
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topology:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    findings: tuple[Finding, ...]
    unmonitored_peers: tuple[str, ...]  # seen in /routez or the meta group, not registered
    meta_leader: str = ""

    def as_dict(self) -> dict:
        """The JSON body of GET /api/clusters/<name>/topology."""
        return {
            "nodes": [asdict(node) for node in self.nodes],
            "edges": [{"id": edge.id, **asdict(edge)} for edge in self.edges],
            "findings": [{**asdict(finding), "nodes": list(finding.nodes)} for finding in self.findings],
            "unmonitored_peers": list(self.unmonitored_peers),
            "meta_leader": self.meta_leader,
        }


# -- registered servers ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Server:
    """A registered node matched with its poll result."""

    id: str
    monitor_url: str
    snapshot: NodeSnapshot | None

    @property
    def varz(self) -> Varz | None:
        return self.snapshot.varz if self.snapshot else None

    @property
    def up(self) -> bool:
        return self.varz is not None

    @property
    def cluster(self) -> str:
        return self.varz.cluster_name if self.varz else ""

    def answered(self, endpoint: str) -> bool:
        """Up, and this endpoint answered too (its empty list means "none", not "unknown")."""
        return self.up and all(name != endpoint for name, _ in self.snapshot.partial_errors)


def _normalized_url(url: str) -> str:
    return url.strip().rstrip("/")


def _registered_servers(expected: Sequence[ExpectedNode], snapshots: Sequence[NodeSnapshot],
                        ) -> tuple[list[_Server], list[Finding]]:
    """Match snapshots to the inventory by URL and give every server its id.

    Up servers are named by server_name. A down server keeps its last known name unless an up
    server now answers to it; then, like a never-seen server, it is keyed by its URL. Two URLs
    answering as the same server are drawn once.
    """
    snapshot_by_url = {_normalized_url(s.monitor_url): s for s in snapshots}
    last_name_by_url: dict[str, str] = {}
    display_url: dict[str, str] = {}
    for node in expected:
        key = _normalized_url(node.monitor_url)
        last_name_by_url.setdefault(key, node.server_name)
        display_url.setdefault(key, node.monitor_url)
    for snapshot in snapshots:  # polled but not in the inventory: still shown
        display_url.setdefault(_normalized_url(snapshot.monitor_url), snapshot.monitor_url)

    servers: dict[str, _Server] = {}
    findings = []
    urls = sorted(display_url)
    for key in urls:
        snapshot = snapshot_by_url.get(key)
        if snapshot is None or not snapshot.up:
            continue
        name = snapshot.server_name
        if name in servers:
            findings.append(_duplicate_node_finding(name, servers[name].monitor_url, display_url[key]))
            continue
        servers[name] = _Server(id=name, monitor_url=display_url[key], snapshot=snapshot)
    for key in urls:
        snapshot = snapshot_by_url.get(key)
        if snapshot is not None and snapshot.up:
            continue
        last_name = last_name_by_url.get(key, "")
        server_id = last_name if last_name and last_name not in servers else display_url[key]
        servers[server_id] = _Server(id=server_id, monitor_url=display_url[key], snapshot=snapshot)
    return sorted(servers.values(), key=lambda s: s.id), findings


def _duplicate_node_finding(name: str, first_url: str, second_url: str) -> Finding:
    return Finding(INFO, "duplicate_node",
                   f"{first_url} and {second_url} both answer as {name}; it is shown once.", (name,))


# -- routes ------------------------------------------------------------------------------------


RouteViews = dict[tuple[str, str], list[RouteConn]]  # (reporter, peer) -> the reporter's connections


def _route_peer(route: RouteConn, name_by_server_id: dict[str, str]) -> str:
    return route.remote_name or name_by_server_id.get(route.remote_id, route.remote_id)


def _route_views(servers: Iterable[_Server]) -> RouteViews:
    """Every up server's /routez, grouped by the peer it connects to."""
    servers = [s for s in servers if s.answered("routez")]
    name_by_server_id = {s.varz.server_id: s.id for s in servers if s.varz.server_id}
    views: RouteViews = defaultdict(list)
    for server in servers:
        for route in server.snapshot.routes:
            peer = _route_peer(route, name_by_server_id)
            if peer and peer != server.id:
                views[(server.id, peer)].append(route)
    return dict(views)


def _expected_route_connections(varz_of_ends: Sequence[Varz], pinned_accounts: set[str]) -> int:
    """Pool size (the larger if the ends disagree) plus one per pinned account.

    A server before 2.10 has no pool: one route per peer, and a pooling server talks to it
    over a single route too.
    """
    pool_sizes = [varz.pool_size for varz in varz_of_ends]
    if not pool_sizes or any(size is None for size in pool_sizes):
        return 1
    return max(1, *pool_sizes) + len(pinned_accounts)


def _route_edge(a: str, b: str, views: RouteViews, reporters: set[str], varz_by_id: dict[str, Varz],
                ) -> GraphEdge:
    """One edge for everything a and b list about each other (a < b)."""
    a_routes, b_routes = views.get((a, b), []), views.get((b, a), [])
    a_count = len(a_routes) if a in reporters else None
    b_count = len(b_routes) if b in reporters else None
    pinned = {route.pinned_account for route in a_routes + b_routes if route.pinned_account}
    expected = _expected_route_connections([varz_by_id[x] for x in (a, b) if x in varz_by_id], pinned)
    counts = [count for count in (a_count, b_count) if count is not None]
    if len(counts) == 2 and 0 in counts:
        status = ONE_SIDED
    elif any(count < expected for count in counts):
        status = DEGRADED
    else:
        status = OK
    view = a_routes or b_routes
    return GraphEdge(
        source=a,
        target=b,
        kind=ROUTE,
        connections=max(counts, default=0),
        expected_connections=expected,
        status=status,
        rtt_us=_best_rtt(a_routes + b_routes),
        msgs_total=sum(route.in_msgs + route.out_msgs for route in view),
        bytes_total=sum(route.in_bytes + route.out_bytes for route in view),
        source_connections=a_count,
        target_connections=b_count,
    )


def _route_edges(servers: Sequence[_Server], views: RouteViews) -> list[GraphEdge]:
    reporters = {s.id for s in servers if s.answered("routez")}
    varz_by_id = {s.id: s.varz for s in servers if s.up}
    pairs = {tuple(sorted(key)) for key in views}
    return [_route_edge(a, b, views, reporters, varz_by_id) for a, b in sorted(pairs)]


def _best_rtt(connections: Iterable[RouteConn | GatewayConn | LeafConn]) -> float | None:
    return min((c.rtt_us for c in connections if c.rtt_us is not None), default=None)


def _count_text(count: int | None) -> str:
    return "cannot tell" if count is None else str(count)


def _route_edge_findings(edges: Iterable[GraphEdge]) -> list[Finding]:
    findings = []
    for edge in edges:
        if edge.kind != ROUTE:
            continue
        pair = (edge.source, edge.target)
        if edge.status == ONE_SIDED:
            lister, silent = pair if edge.source_connections else pair[::-1]
            findings.append(Finding(
                WARNING, "one_sided_route",
                f"{lister} lists {edge.connections} route connection(s) to {silent}, but {silent} lists "
                f"none back: a restart in progress or a half-open connection.", (lister, silent)))
        elif edge.status == DEGRADED:
            findings.append(Finding(
                WARNING, "degraded_pool",
                f"The route pool between {edge.source} and {edge.target} is short: {edge.source} sees "
                f"{_count_text(edge.source_connections)}, {edge.target} sees "
                f"{_count_text(edge.target_connections)}, of {edge.expected_connections} expected "
                f"connections.", pair))
    return findings


def _partial_mesh_findings(servers: Sequence[_Server], edges: Iterable[GraphEdge]) -> list[Finding]:
    """Two up servers of one cluster with no route either way (routes are not forwarded)."""
    connected = {(e.source, e.target) for e in edges if e.kind == ROUTE}
    findings = []
    for a, b in combinations([s for s in servers if s.up and s.cluster], 2):
        if a.cluster != b.cluster or (a.id, b.id) in connected:
            continue
        if not (a.answered("routez") or b.answered("routez")):
            continue  # neither view is known: nothing to judge
        findings.append(Finding(
            CRITICAL, "partial_mesh",
            f"{a.id} and {b.id} are both up in cluster {a.cluster} but have no route to each other: "
            f"their clients cannot exchange messages.", (a.id, b.id)))
    return findings


def _unknown_route_peers(views: RouteViews, registered: set[str]) -> dict[str, list[str]]:
    """Route peers that are not registered, with the servers that route to them."""
    reporters_by_peer: dict[str, list[str]] = defaultdict(list)
    for reporter, peer in sorted(views):
        if peer not in registered:
            reporters_by_peer[peer].append(reporter)
    return dict(reporters_by_peer)


def _unknown_peer_findings(unknown_route_peers: dict[str, list[str]]) -> list[Finding]:
    return [
        Finding(WARNING, "unknown_peer",
                f"{', '.join(reporters)} {'has a route' if len(reporters) == 1 else 'have routes'} to "
                f"{peer}, which is not registered in this cluster: add its monitoring URL to watch it.",
                (peer, *reporters))
        for peer, reporters in sorted(unknown_route_peers.items())
    ]


# -- JetStream meta group --------------------------------------------------------------------


@dataclass(frozen=True)
class _MetaState:
    leader: str  # "" when no server reports one
    leader_view: MetaCluster | None  # the leader's own report, when the leader is registered and up
    views: dict[str, MetaCluster]  # up, registered server -> its report of the meta group


def _meta_views(servers: Iterable[_Server]) -> dict[str, MetaCluster]:
    views = {}
    for server in servers:
        jsz = server.snapshot.jsz if server.answered("jsz") else None
        if jsz is not None and jsz.enabled and jsz.meta is not None:
            views[server.id] = jsz.meta
    return views


def _meta_state(servers: Iterable[_Server]) -> _MetaState:
    """The meta leader: one that claims itself, else the name most servers report."""
    views = _meta_views(servers)
    self_claimed = [server for server, meta in views.items() if meta.leader == server]
    reported = Counter(meta.leader for meta in views.values() if meta.leader)
    candidates = self_claimed or list(reported)
    if not candidates:
        return _MetaState(leader="", leader_view=None, views=views)
    leader = min(candidates, key=lambda name: (-reported[name], name))
    return _MetaState(leader=leader, leader_view=views.get(leader) if leader in self_claimed else None,
                      views=views)


def _meta_peer_names(meta: _MetaState) -> set[str]:
    names = {meta.leader} if meta.leader else set()
    for view in meta.views.values():
        names.update(peer.name for peer in view.replicas if peer.name)
        if view.leader:
            names.add(view.leader)
    return names


def _meta_offline_peers(meta: _MetaState) -> set[str]:
    view = meta.leader_view
    return {peer.name for peer in view.replicas if peer.offline} if view else set()


def _no_meta_leader_findings(meta: _MetaState) -> list[Finding]:
    leaderless = sorted(server for server, view in meta.views.items() if not view.leader)
    if not leaderless:
        return []
    if not meta.leader:
        message = f"The JetStream meta group has no leader ({', '.join(leaderless)} report none): " \
                  f"streams and consumers cannot be created, changed or deleted."
    else:
        message = f"{', '.join(leaderless)} {'sees' if len(leaderless) == 1 else 'see'} no JetStream " \
                  f"meta leader while others report {meta.leader}: JetStream requests through " \
                  f"{'it' if len(leaderless) == 1 else 'them'} fail."
    return [Finding(CRITICAL, "no_meta_leader", message, tuple(leaderless))]


def _meta_replica_findings(meta: _MetaState, down: set[str], lag_warning: int) -> list[Finding]:
    """Offline and lagging peers as the meta leader sees them; down servers are reported already."""
    if meta.leader_view is None:
        return []
    findings = []
    for peer in meta.leader_view.replicas:
        if not peer.name or peer.name == meta.leader or peer.name in down:
            continue
        nodes = (peer.name, meta.leader)
        if peer.offline:
            findings.append(Finding(
                CRITICAL, "meta_replica_offline",
                f"The JetStream meta leader {meta.leader} reports {peer.name} offline: the meta group "
                f"now tolerates one fewer failure.", nodes))
        elif not peer.current or peer.lag >= lag_warning:
            state = "not current" if not peer.current else "current"
            findings.append(Finding(
                WARNING, "meta_replica_lagging",
                f"The JetStream meta leader {meta.leader} reports {peer.name} behind: {state}, "
                f"lag {peer.lag}.", nodes))
    return findings


# -- gateways and leafnodes ------------------------------------------------------------------


def _own_gateway_name(varz: Varz) -> str:
    return varz.gateway_name or varz.cluster_name


def _gateways_by_remote(server: _Server) -> dict[str, list[GatewayConn]]:
    own = _own_gateway_name(server.varz)
    grouped: dict[str, list[GatewayConn]] = defaultdict(list)
    for gateway in server.snapshot.gateways:
        if gateway.remote_cluster and gateway.remote_cluster != own:
            grouped[gateway.remote_cluster].append(gateway)
    return dict(grouped)


def _has_outbound(connections: Iterable[GatewayConn]) -> bool:
    return any(c.direction == "outbound" for c in connections)


def _gateway_edges(servers: Iterable[_Server]) -> list[GraphEdge]:
    """One edge per server and remote cluster; one-sided when only the remote connects in."""
    edges = []
    for server in servers:
        if not server.answered("gatewayz"):
            continue
        for remote, connections in _gateways_by_remote(server).items():
            edges.append(GraphEdge(
                source=server.id,
                target=f"gateway:{remote}",
                kind=GATEWAY_EDGE,
                connections=len(connections),
                expected_connections=None,
                status=OK if _has_outbound(connections) else ONE_SIDED,
                rtt_us=_best_rtt(connections),
                msgs_total=sum(c.in_msgs + c.out_msgs for c in connections),
                bytes_total=0,
            ))
    return edges


def _gateway_findings(servers: Sequence[_Server]) -> list[Finding]:
    """Every server keeps its own outbound gateway to each remote cluster; flag one that lost it.

    The remote clusters expected of a server are those its cluster mates reach outbound.
    """
    reporting = [s for s in servers if s.answered("gatewayz") and s.varz.gateway_name]
    outbound_by_server = {
        s.id: {remote for remote, conns in _gateways_by_remote(s).items() if _has_outbound(conns)}
        for s in reporting
    }
    findings = []
    for server in reporting:
        cluster = _own_gateway_name(server.varz)
        mates = [s for s in reporting if _own_gateway_name(s.varz) == cluster and s.id != server.id]
        reached_by_mates = set().union(*(outbound_by_server[m.id] for m in mates))
        for remote in sorted(reached_by_mates - outbound_by_server[server.id]):
            findings.append(Finding(
                WARNING, "gateway_down",
                f"{server.id} has no outbound gateway to cluster {remote}, though other servers of "
                f"cluster {cluster} have one: its clients' messages do not reach {remote}.",
                (server.id, f"gateway:{remote}")))
    return findings


def _leaf_edges(servers: Iterable[_Server]) -> list[GraphEdge]:
    """Hub -> leaf per account; when the polled server is itself a leaf, the remote is its hub."""
    grouped: dict[tuple[str, str, str], list[LeafConn]] = defaultdict(list)
    for server in servers:
        if not server.answered("leafz"):
            continue
        for leaf in server.snapshot.leafs:
            remote = f"leaf:{leaf.name}"
            source, target = (remote, server.id) if leaf.is_spoke else (server.id, remote)
            grouped[(source, target, leaf.account)].append(leaf)
    return [
        GraphEdge(
            source=source,
            target=target,
            kind=LEAFNODE,
            connections=len(connections),
            expected_connections=None,
            status=OK,
            rtt_us=_best_rtt(connections),
            msgs_total=sum(c.in_msgs + c.out_msgs for c in connections),
            bytes_total=0,
            account=account,
        )
        for (source, target, account), connections in grouped.items()
    ]


# -- nodes -------------------------------------------------------------------------------------


def _server_node(server: _Server, meta_leader: str) -> GraphNode:
    varz = server.varz
    if varz is None:
        error = server.snapshot.error if server.snapshot else "not polled yet"
        return GraphNode(id=server.id, name=server.id, kind=SERVER, status=DOWN, monitored=True,
                         monitor_url=server.monitor_url, error=error or "not answering")
    return GraphNode(id=server.id, name=server.id, kind=SERVER, status=UP, monitored=True,
                     monitor_url=server.monitor_url, version=varz.version, cluster=varz.cluster_name,
                     server_id=varz.server_id, is_meta_leader=server.id == meta_leader)


def _unmonitored_nodes(names: Iterable[str], servers: Iterable[_Server],
                       unknown_route_peers: dict[str, list[str]], meta: _MetaState) -> list[GraphNode]:
    """Servers seen but not registered. A route proves a peer is up (and in the reporter's cluster);
    a peer known only from the meta group is down when the meta leader reports it offline."""
    cluster_of = {s.id: s.cluster for s in servers}
    offline = _meta_offline_peers(meta)
    nodes = []
    for name in names:
        reporters = unknown_route_peers.get(name, [])
        status = DOWN if not reporters and name in offline else UP
        nodes.append(GraphNode(id=name, name=name, kind=SERVER, status=status, monitored=False,
                               cluster=cluster_of[reporters[0]] if reporters else "",
                               is_meta_leader=name == meta.leader))
    return nodes


def _external_nodes(edges: Iterable[GraphEdge]) -> list[GraphNode]:
    nodes = {}
    for edge in edges:
        for node_id in (edge.source, edge.target):
            for kind in (GATEWAY, LEAF):
                prefix = f"{kind}:"
                if node_id.startswith(prefix):
                    name = node_id[len(prefix):]
                    nodes[node_id] = GraphNode(id=node_id, name=name, kind=kind, status=UP, monitored=False,
                                               cluster=name if kind == GATEWAY else "")
    return list(nodes.values())


def _node_down_findings(servers: Iterable[_Server]) -> list[Finding]:
    findings = []
    for server in servers:
        if server.up:
            continue
        who = server.id if server.id == server.monitor_url else f"{server.id} ({server.monitor_url})"
        if server.snapshot is None:
            reason = "it has not been polled yet"
        else:
            reason = server.snapshot.error or "no answer"
        findings.append(Finding(CRITICAL, "node_down", f"{who} is down: {reason}.", (server.id,)))
    return findings


# -- assembly ----------------------------------------------------------------------------------


def _finding_order(finding: Finding):
    return _SEVERITY_ORDER.get(finding.severity, len(_SEVERITY_ORDER)), finding.kind, finding.nodes, finding.message


def _node_order(node: GraphNode):
    return _NODE_KIND_ORDER.get(node.kind, len(_NODE_KIND_ORDER)), node.id


def _edge_order(edge: GraphEdge):
    return edge.kind, edge.source, edge.target, edge.account


def build_topology(expected: Sequence[ExpectedNode], snapshots: Sequence[NodeSnapshot], *,
                   meta_lag_warning: int = 1000) -> Topology:
    """The graph of one registered cluster from its latest poll, with what an operator should fix."""
    servers, findings = _registered_servers(expected, snapshots)
    registered = {s.id for s in servers}
    down = {s.id for s in servers if not s.up}

    route_views = _route_views(servers)
    route_edges = _route_edges(servers, route_views)
    unknown_route_peers = _unknown_route_peers(route_views, registered)
    meta = _meta_state(servers)

    unmonitored = sorted((set(unknown_route_peers) | _meta_peer_names(meta)) - registered)
    edges = route_edges + _gateway_edges(servers) + _leaf_edges(servers)
    nodes = [_server_node(s, meta.leader) for s in servers]
    nodes += _unmonitored_nodes(unmonitored, servers, unknown_route_peers, meta)
    nodes += _external_nodes(edges)

    findings += _node_down_findings(servers)
    findings += _route_edge_findings(route_edges)
    findings += _partial_mesh_findings(servers, route_edges)
    findings += _unknown_peer_findings(unknown_route_peers)
    findings += _no_meta_leader_findings(meta)
    findings += _meta_replica_findings(meta, down, meta_lag_warning)
    findings += _gateway_findings(servers)

    return Topology(
        nodes=tuple(sorted(nodes, key=_node_order)),
        edges=tuple(sorted(edges, key=_edge_order)),
        findings=tuple(sorted(findings, key=_finding_order)),
        unmonitored_peers=tuple(unmonitored),
        meta_leader=meta.leader,
    )
