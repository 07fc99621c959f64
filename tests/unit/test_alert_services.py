"""The alerts app's writes against the database: threshold validation, alert field sizes, and how many
queries an evaluation costs. No NATS: the polled state is stored as a poll would store it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from alerts import services
from alerts.models import Alert, AlertState, Threshold
from clusters.models import Cluster, Node, NodeStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab():
    return Cluster.objects.create(name="lab")


# -- thresholds -------------------------------------------------------------------------------------

CONSUMER = {"account": "TEAM_A", "stream": "ORDERS", "consumer": "audit"}


@pytest.mark.parametrize(("check", "scope", "warning", "critical", "says"), [
    ("consumer.num_pending", CONSUMER, float("inf"), None, "warning must be a finite number"),
    ("consumer.num_pending", CONSUMER, None, float("1e999"), "critical must be a finite number"),
    ("consumer.num_pending", CONSUMER, float("nan"), 50, "warning must be a finite number"),
    ("consumer.num_pending", CONSUMER, -1, 50, "warning must be 0 or more"),
    ("consumer.num_pending", CONSUMER, 100, 50, "the warning (100) must not be above the critical (50)"),
    ("node.cpu", {}, 95, 80, "the warning (95) must not be above the critical (80)"),
    ("stream.limits", {"account": "TEAM_A", "stream": "ORDERS"}, 90.5, 90, "must not be above the critical"),
    # Uptime: lower is worse, so the critical is the lower one.
    ("node.restarted", {}, 60, 600, "the warning (60) must not be below the critical (600)"),
    ("consumer.num_pending", {**CONSUMER, "stream": "S" * 201}, 5, 50, "stream name is too long (201 characters"),
    ("consumer.num_pending", {**CONSUMER, "consumer": "C" * 256}, 5, 50, "consumer name is too long (256 characters"),
    ("account.storage", {"account": "A" * 201}, 80, 90, "account name is too long"),
])
def test_bad_thresholds_are_refused_with_a_clear_message_and_nothing_stored(lab, check, scope, warning, critical,
                                                                             says):
    with pytest.raises(services.ThresholdError) as refused:
        services.set_threshold(cluster=lab, check=check, warning=warning, critical=critical, **scope)
    assert says in str(refused.value)
    assert not Threshold.objects.exists()


@pytest.mark.parametrize(("check", "scope", "warning", "critical"), [
    ("consumer.num_pending", CONSUMER, 50, 50),  # equal: critical wins
    ("consumer.num_pending", CONSUMER, 5, 50),
    ("consumer.num_pending", CONSUMER, None, 50),
    ("node.cpu", {}, 95, None),
    ("node.restarted", {}, 600, 60),
    # natscli reads msgs-warn above msgs-critical as "at least this many": both orders mean something.
    ("stream.messages", {"account": "TEAM_A", "stream": "ORDERS"}, 100, 10),
    ("stream.messages", {"account": "TEAM_A", "stream": "ORDERS"}, 10, 100),
    ("consumer.num_pending", {**CONSUMER, "stream": "S" * 200, "consumer": "C" * 200}, 5, 50),
])
def test_good_thresholds_are_stored(lab, check, scope, warning, critical):
    threshold = services.set_threshold(cluster=lab, check=check, warning=warning, critical=critical, **scope)
    stored = Threshold.objects.get()
    assert stored == threshold and (stored.warning, stored.critical) == (warning, critical)


def test_a_refused_threshold_leaves_the_stored_one_unchanged(lab):
    services.set_threshold(cluster=lab, check="node.cpu", warning=80, critical=95)
    for warning, critical in ((float("inf"), 95), (99, 95)):
        with pytest.raises(services.ThresholdError):
            services.set_threshold(cluster=lab, check="node.cpu", warning=warning, critical=critical)
    assert list(Threshold.objects.values_list("warning", "critical")) == [(80, 95)]


def test_infinite_threshold_typed_in_the_form_is_refused(lab, make_user, client):
    client.force_login(make_user("root", is_superuser=True, is_staff=True))
    response = client.post("/clusters/lab/health/thresholds/", {"check": "node.cpu", "warning": "1e999",
                                                                "critical": ""}, follow=True)
    assert "Threshold not changed: warning must be a finite number" in response.content.decode()
    assert not Threshold.objects.exists()


# -- alerts ---------------------------------------------------------------------------------------


def test_an_alert_holds_a_consumer_target_of_two_longest_names():
    longest = f"{'S' * 255}/{'C' * 255}"  # nats-server allows names of up to 255 characters
    alert = Alert(cluster=Cluster(name="lab"), account="A" * 200, check_name="consumer.num_redelivered",
                  target=longest, key=f"consumer.num_redelivered|{'A' * 200}/{longest}", state=AlertState.FIRING,
                  severity="warning", message="redelivered 5", value=5, peak=5, threshold=1, started_at=timezone.now(),
                  last_failing_at=timezone.now())
    alert.full_clean(exclude=["cluster"])


def test_the_alert_models_and_their_migrations_agree():
    call_command("makemigrations", "alerts", "--check", "--dry-run", verbosity=0)


@override_settings(ALERT_FOR_SECONDS=3600.0, ALERT_FOR_SECONDS_BY_CHECK={})
def test_open_alerts_whose_state_holds_are_updated_in_one_query(lab):
    names = [f"n{i}" for i in range(1, 9)]
    for name in names:
        Node.objects.create(cluster=lab, monitor_url=f"http://{name}:8222", server_name=name,
                            status=NodeStatus.DOWN, error="connection refused")
    start = timezone.now()
    services.evaluate_cluster(cluster_id=lab.pk, now=start)
    keys = {f"node.unreachable|{name}" for name in names} | {"mesh.partial|routes"}
    assert set(Alert.objects.filter(state=AlertState.PENDING).values_list("key", flat=True)) == keys

    later = start + timedelta(seconds=30)
    with CaptureQueriesContext(connection) as queries:
        services.evaluate_cluster(cluster_id=lab.pk, now=later)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "alerts_alert"')]
    assert len(updates) == 1, updates
    assert Alert.objects.filter(state=AlertState.PENDING, last_failing_at=later).count() == len(keys)
    assert Alert.objects.filter(started_at=start).count() == len(keys)

    # A transition is still saved as before: with the period over, every alert fires.
    with override_settings(ALERT_FOR_SECONDS=10.0):
        services.evaluate_cluster(cluster_id=lab.pk, now=later + timedelta(seconds=1))
    assert Alert.objects.filter(state=AlertState.FIRING).count() == len(keys)


@override_settings(ALERT_HISTORY_DAYS=30)
def test_resolved_alerts_are_kept_alert_history_days_by_the_retention_task(lab):
    from clusters import retention

    now = timezone.now()

    def alert(key, state, resolved_days_ago=None):
        resolved_at = now - timedelta(days=resolved_days_ago) if resolved_days_ago is not None else None
        return Alert.objects.create(cluster=lab, check_name="node.unreachable", target=key, key=key, state=state,
                                    started_at=now - timedelta(days=40), last_failing_at=now - timedelta(days=35),
                                    resolved_at=resolved_at)

    old = alert("old", AlertState.RESOLVED, resolved_days_ago=31)
    recent = alert("recent", AlertState.RESOLVED, resolved_days_ago=29)
    firing = alert("firing", AlertState.FIRING)
    assert retention.downsample_and_prune(now=now)["alerts_expired"] == 1
    assert set(Alert.objects.values_list("pk", flat=True)) == {recent.pk, firing.pk}
    assert not Alert.objects.filter(pk=old.pk).exists()
