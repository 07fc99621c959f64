"""Writes to the fleet. Keyword-only arguments; each function is one transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clusters.models import Account, ApiToken, Cluster, Membership, Node, Team, TeamGrant
from clusters.provisioning import AccountPlan, ClusterPlan, ProvisionError, ProvisionPlan

CREDENTIAL_FIELDS = ("user", "password", "token", "nkey_seed", "creds", "creds_file",
                     "tls_ca_file", "tls_cert_file", "tls_key_file")


# -- provisioning -----------------------------------------------------------------------------


def apply_provision(*, plan: ProvisionPlan, source: str) -> list[str]:
    """Make the database match the plan; returns what changed. Nothing is written when any
    reference is wrong. Nodes, grants and members of the listed clusters and teams follow the
    file exactly; accounts, clusters, teams and users missing from the file are left alone."""
    with transaction.atomic():
        _check_references(plan, source)
        changes: list[str] = []
        for user_plan in plan.users:
            changes += _apply_user(user_plan)
        for cluster_plan in plan.clusters:
            changes += _apply_cluster(cluster_plan)
        for team_plan in plan.teams:
            changes += _apply_team(team_plan)
    return changes


def _check_references(plan: ProvisionPlan, source: str) -> None:
    problems = []
    User = get_user_model()
    known_users = {u.username for u in plan.users} | set(
        User.objects.filter(username__in=[m for t in plan.teams for m, _ in t.members]).values_list("username", flat=True))
    planned_accounts = {(c.name, a.name) for c in plan.clusters for a in c.accounts}
    for t_index, team in enumerate(plan.teams):
        for m_index, (username, _role) in enumerate(team.members):
            if username not in known_users:
                problems.append(f"{source}: teams[{t_index}].members[{m_index}].user: "
                                f"unknown user {username!r} (not in users and not in the database)")
        for g_index, (cluster, account) in enumerate(team.grants):
            if (cluster, account) in planned_accounts:
                continue
            if not Account.objects.filter(cluster__name=cluster, name=account).exists():
                problems.append(f"{source}: teams[{t_index}].grants[{g_index}]: "
                                f"unknown account {account!r} of cluster {cluster!r}")
    if problems:
        raise ProvisionError(problems)


def _apply_user(plan) -> list[str]:
    User = get_user_model()
    user, created = User.objects.get_or_create(username=plan.username)
    changed = []
    if created or not user.check_password(plan.password):
        user.set_password(plan.password)
        changed.append("password")
    for attribute, value in (("is_superuser", plan.superuser), ("is_staff", plan.superuser), ("email", plan.email)):
        if getattr(user, attribute) != value:
            setattr(user, attribute, value)
            changed.append(attribute)
    if created:
        user.save()
        return [f"created user {plan.username}"]
    if changed:
        user.save()
        return [f"updated user {plan.username} ({', '.join(changed)})"]
    return []


def _apply_cluster(plan: ClusterPlan) -> list[str]:
    cluster, created = Cluster.objects.get_or_create(
        name=plan.name, defaults={"nats_urls": list(plan.nats_urls), "poll_interval": plan.poll_interval})
    changes = [f"created cluster {plan.name}"] if created else []
    if not created:
        changed = []
        if cluster.nats_urls != list(plan.nats_urls):
            cluster.nats_urls = list(plan.nats_urls)
            changed.append("nats_urls")
        if cluster.poll_interval != plan.poll_interval:
            cluster.poll_interval = plan.poll_interval
            changed.append("poll_interval")
        if changed:
            cluster.save(update_fields=changed)
            changes.append(f"updated cluster {plan.name} ({', '.join(changed)})")
    changes += sync_nodes(cluster=cluster, monitor_urls=plan.monitor_urls)
    for account_plan in plan.accounts:
        changes += _apply_account(cluster, account_plan)
    return changes


def sync_nodes(*, cluster: Cluster, monitor_urls) -> list[str]:
    existing = {node.monitor_url: node for node in cluster.nodes.all()}
    changes = []
    for url in monitor_urls:
        if url not in existing:
            Node.objects.create(cluster=cluster, monitor_url=url)
            changes.append(f"added node {url} to {cluster.name}")
    for url, node in existing.items():
        if url not in monitor_urls:
            node.delete()
            changes.append(f"removed node {url} from {cluster.name}")
    return changes


def _apply_account(cluster: Cluster, plan: AccountPlan) -> list[str]:
    wanted = {
        "user": plan.credentials.user, "password": plan.credentials.password, "token": plan.credentials.token,
        "nkey_seed": plan.credentials.nkey_seed, "creds": plan.credentials.creds,
        "creds_file": plan.credentials.creds_file, "tls_ca_file": plan.credentials.tls_ca_file,
        "tls_cert_file": plan.credentials.tls_cert_file, "tls_key_file": plan.credentials.tls_key_file,
        "is_system": plan.is_system,
    }
    account = Account.objects.filter(cluster=cluster, name=plan.name).first()
    if account is None:
        if plan.is_system:
            Account.objects.filter(cluster=cluster, is_system=True).update(is_system=False)
        Account.objects.create(cluster=cluster, name=plan.name, **wanted)
        return [f"created account {cluster.name}/{plan.name}"]
    changed = [field for field, value in wanted.items() if getattr(account, field) != value]
    if not changed:
        return []
    if plan.is_system and not account.is_system:
        Account.objects.filter(cluster=cluster, is_system=True).update(is_system=False)
    for field in changed:
        setattr(account, field, wanted[field])
    account.save(update_fields=changed)
    # Name the changed fields, never their values.
    return [f"updated account {cluster.name}/{plan.name} ({', '.join(changed)})"]


def _apply_team(plan) -> list[str]:
    team, created = Team.objects.get_or_create(name=plan.name)
    changes = [f"created team {plan.name}"] if created else []
    wanted_accounts = {Account.objects.get(cluster__name=c, name=a).pk: f"{c}/{a}" for c, a in plan.grants}
    current = {grant.account_id: grant for grant in team.grants.all()}
    for account_id, label in wanted_accounts.items():
        if account_id not in current:
            TeamGrant.objects.create(team=team, account_id=account_id)
            changes.append(f"granted {label} to team {plan.name}")
    for account_id, grant in current.items():
        if account_id not in wanted_accounts:
            grant.delete()
            changes.append(f"revoked {grant.account} from team {plan.name}")
    User = get_user_model()
    wanted_members = dict(plan.members)
    memberships = {m.user.username: m for m in team.memberships.select_related("user")}
    for username, role in wanted_members.items():
        membership = memberships.get(username)
        if membership is None:
            Membership.objects.create(team=team, user=User.objects.get(username=username), role=role)
            changes.append(f"added {username} to team {plan.name} as {role}")
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
            changes.append(f"changed {username}'s role in team {plan.name} to {role}")
    for username, membership in memberships.items():
        if username not in wanted_members:
            membership.delete()
            changes.append(f"removed {username} from team {plan.name}")
    return changes


# -- registration from the UI ---------------------------------------------------------------


def register_cluster(*, name: str, nats_urls: list[str], monitor_urls: list[str],
                     poll_interval: int | None = None) -> Cluster:
    with transaction.atomic():
        cluster = Cluster.objects.create(name=name, nats_urls=nats_urls, poll_interval=poll_interval)
        sync_nodes(cluster=cluster, monitor_urls=monitor_urls)
    return cluster


def add_node(*, cluster: Cluster, monitor_url: str) -> Node:
    node, _ = Node.objects.get_or_create(cluster=cluster, monitor_url=monitor_url)
    return node


# -- API tokens --------------------------------------------------------------------------------


def api_token_for(*, user) -> str:
    """The user's API token, created on first use."""
    existing = ApiToken.objects.filter(user=user).first()
    if existing:
        return str(existing.token)
    token = ApiToken.new_token()
    ApiToken.objects.create(user=user, digest=ApiToken.digest_of(token), token=token)
    return token


# -- polls --------------------------------------------------------------------------------------


# What a poll writes; everything else on these rows belongs to users and the admin.
POLLED_NODE_FIELDS = ("server_name", "server_id", "version", "started_at", "status", "error", "last_seen_at",
                      "figures")
POLLED_CLUSTER_FIELDS = ("nats_cluster_name", "status", "topology", "summary", "last_polled_at", "last_poll_ms")


def record_poll(*, cluster_id: int, snapshots, polled_at, poll_ms: float) -> Cluster:
    """Store one poll: latest node state, samples, topology, merged JetStream state, events;
    then push a compact update to the cluster's live group once the transaction commits.

    The cluster's lease keeps other polls of it away, so everything is worked out from the
    stored state before the transaction, which only writes: on SQLite, whose writers take turns,
    the write lock is held for the writes alone."""
    from clusters import live, monitoring, state, topology
    from clusters.models import ConsumerSample, Event, NodeSample, Resolution, StreamSample
    from core.db import insert_rows

    raw = int(Resolution.RAW)
    cluster = Cluster.objects.get(pk=cluster_id)
    nodes = {node.monitor_url: node for node in cluster.nodes.all()}
    by_url = {snapshot.monitor_url: snapshot for snapshot in snapshots}
    changes: list[tuple[Node | None, state.Change]] = []
    samples = []
    polled_nodes: list[Node] = []
    for url, node in nodes.items():
        snapshot = by_url.get(url)
        if snapshot is None:  # registered after the fetch: its first poll is the next one
            continue
        polled_nodes.append(node)
        for change in state.node_changes(name=node.display_name, monitor_url=url, was_status=node.status,
                                         was_server_id=node.server_id, snapshot=snapshot):
            changes.append((node, change))
        if snapshot.up:
            figures = state.node_figures(snapshot, node.figures if node.status == "up" else None)
            varz = snapshot.varz
            node.server_name, node.server_id, node.version = varz.server_name, varz.server_id, varz.version
            node.started_at = varz.start
            node.status, node.error, node.last_seen_at, node.figures = "up", "", polled_at, figures
            samples.append((node.pk, polled_at, raw, *(figures.get(name) for name in NodeSample.VALUES)))
        else:
            node.status, node.error = "down", snapshot.error

    expected = [topology.ExpectedNode(monitor_url=n.monitor_url, server_name=n.server_name) for n in nodes.values()]
    graph = topology.build_topology(expected, monitoring.with_peer_names(snapshots)).as_dict()
    previous_graph = cluster.topology or {}
    graph["edges"] = state.edges_with_rates(previous_graph, graph, polled_at)
    graph["polled_at"] = polled_at.isoformat()
    for change in state.topology_changes(previous_graph, graph):
        changes.append((None, change))

    streams = state.merge_streams(list(snapshots))
    stream_rows = [state.stream_dict(stream) for stream in streams]
    up = [snapshot for snapshot in snapshots if snapshot.up]
    cluster.nats_cluster_name = next((s.varz.cluster_name for s in up if s.varz.cluster_name),
                                     cluster.nats_cluster_name)
    cluster.status = state.cluster_status([s.up for s in snapshots], graph["findings"])
    cluster.topology = graph
    cluster.summary = {
        "polled_at": polled_at.isoformat(),
        "nodes_up": len(up),
        "nodes_total": len(nodes),
        "connections": sum(s.varz.connections for s in up),
        "msgs_in_per_s": state.total_rate(nodes.values(), "msgs_in_per_s"),
        "msgs_out_per_s": state.total_rate(nodes.values(), "msgs_out_per_s"),
        "streams": len(streams),
        "consumers": sum(len(s.consumers) for s in streams),
    }
    cluster.last_polled_at, cluster.last_poll_ms = polled_at, poll_ms
    accounts, figured = _with_account_figures(cluster, snapshots, polled_at)

    with transaction.atomic():
        for node in polled_nodes:
            node.save(update_fields=POLLED_NODE_FIELDS)
        insert_rows(NodeSample, ("node_id", "at", "resolution", *NodeSample.VALUES), samples)
        insert_rows(StreamSample, ("cluster_id", "account", "stream", "at", "resolution", "messages", "bytes"),
                    ((cluster.pk, s.account, s.name, polled_at, raw, s.messages, s.bytes) for s in streams))
        insert_rows(ConsumerSample, ("cluster_id", "account", "stream", "consumer", "at", "resolution",
                                     *ConsumerSample.VALUES),
                    ((cluster.pk, s.account, s.name, c.name, polled_at, raw, c.num_pending, c.num_ack_pending,
                      c.num_redelivered, c.ack_floor_stream_seq) for s in streams for c in s.consumers))
        cluster.save(update_fields=POLLED_CLUSTER_FIELDS)
        _store_account_streams(cluster, stream_rows, polled_at)
        if figured:
            Account.objects.bulk_update(accounts, ["figures"])
        Event.objects.bulk_create(
            Event(cluster=cluster, node=node, at=polled_at, kind=change.kind, severity=change.severity,
                  message=change.message) for node, change in changes)
        live.push_cluster_update(cluster, events=[change for _, change in changes], nodes=list(nodes.values()))
    _evaluate_alerts(cluster, nodes=list(nodes.values()), streams=stream_rows, accounts=accounts)
    return cluster


def _evaluate_alerts(cluster: Cluster, *, nodes, streams, accounts) -> None:
    """Health checks and alerts over the poll just stored, from what is still in memory; their
    failure never fails the poll."""
    from alerts.services import evaluate_poll, polled_state

    try:
        streams = sorted(streams, key=lambda row: row["account"])  # as stored: by account, then name
        polled = polled_state(cluster, timezone.now(), nodes=nodes, streams=streams, accounts=accounts)
        evaluate_poll(cluster=cluster, polled=polled)
    except Exception:  # noqa: BLE001 - logged with its traceback; the poll itself is stored
        import logging

        logging.getLogger(__name__).exception("alert evaluation of cluster %s failed", cluster.pk)


def _with_account_figures(cluster: Cluster, snapshots, polled_at) -> tuple[list[Account], bool]:
    """The cluster's registered accounts, their figures worked out from the nodes' /accstatz
    (unregistered accounts are not kept) and their JetStream usage loaded; and whether there
    were figures to work out (no node answered /accstatz: nothing to store)."""
    from clusters.account_figures import account_figures

    accounts = list(cluster.accounts.only("pk", "name", "figures", "jetstream"))
    computed = account_figures(list(snapshots), {a.name: a.figures for a in accounts}, [a.name for a in accounts],
                               at=polled_at)
    if computed is None:
        return accounts, False
    for account in accounts:
        account.figures = computed[account.name]
    return accounts, bool(accounts)


def _store_account_streams(cluster: Cluster, stream_rows: list[dict], polled_at) -> None:
    """Each account's streams as one row: a summary for lists, and one JSON line per stream."""
    import json

    from clusters import state
    from clusters.models import AccountStreams

    by_account: dict[str, list] = {}
    for row in stream_rows:
        by_account.setdefault(row["account"], []).append(row)
    stored = dict(AccountStreams.objects.filter(cluster=cluster).values_list("account", "pk"))
    for account, rows in by_account.items():
        values = {
            "polled_at": polled_at,
            "summary": [state.stream_summary(row) for row in rows],
            "detail_lines": "".join(f"{json.dumps(row['name'])}\t{json.dumps(row, separators=(',', ':'))}\n"
                                    for row in rows),
        }
        if account in stored:
            AccountStreams.objects.filter(pk=stored.pop(account)).update(**values)
        else:
            AccountStreams.objects.create(cluster=cluster, account=account, **values)
    if stored:  # accounts whose last stream is gone
        AccountStreams.objects.filter(pk__in=stored.values()).delete()
