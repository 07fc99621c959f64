"""What a poll pushes to browsers: a compact cluster update for the cluster page and the overview."""

from core.live import FLEET_GROUP, push_after_commit


def cluster_group(cluster_id: int) -> str:
    return f"cluster.{cluster_id}"


def node_brief(node) -> dict:
    figures = node.figures or {}
    return {
        "name": node.display_name,
        "monitor_url": node.monitor_url,
        "status": node.status,
        "error": node.error,
        "version": node.version,
        "connections": figures.get("connections"),
        "msgs_in_per_s": figures.get("msgs_in_per_s"),
        "msgs_out_per_s": figures.get("msgs_out_per_s"),
        "cpu": figures.get("cpu"),
        "mem": figures.get("mem"),
    }


def cluster_brief(cluster) -> dict:
    summary = cluster.summary or {}
    return {
        "name": cluster.name,
        "status": cluster.status,
        "nodes_up": summary.get("nodes_up", 0),
        "nodes_total": summary.get("nodes_total", 0),
        "connections": summary.get("connections", 0),
        "msgs_in_per_s": summary.get("msgs_in_per_s"),
        "msgs_out_per_s": summary.get("msgs_out_per_s"),
        "findings": len((cluster.topology or {}).get("findings", [])),
        "polled_at": cluster.last_polled_at.isoformat() if cluster.last_polled_at else None,
    }


def push_cluster_update(cluster, *, events, nodes=None) -> None:
    """`nodes`: the cluster's nodes as just saved, when the caller holds them (else read)."""
    brief = cluster_brief(cluster)
    nodes = cluster.nodes.all() if nodes is None else nodes
    push_after_commit(cluster_group(cluster.pk), "cluster", {
        **brief,
        "nodes": [node_brief(node) for node in nodes],
        "topology": cluster.topology,
        "events": [{"kind": e.kind, "severity": e.severity, "message": e.message} for e in events],
    }, cluster=cluster.name)
    push_after_commit(FLEET_GROUP, "fleet", brief, cluster=cluster.name)
