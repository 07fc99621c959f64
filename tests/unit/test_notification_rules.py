"""Pure notification rules: who is told, what a silence covers, retries and backoff, redacted URLs."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from notifications import rules
from notifications.rules import InvalidInput, SilenceMatch

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
GRANTS = {(1, "TEAM_A"), (1, "SHARED"), (2, "TEAM_A")}


@pytest.mark.parametrize(("cluster_id", "account", "told"), [
    (1, "TEAM_A", True),        # a grant on exactly that account
    (1, "TEAM_B", False),       # same cluster, another account
    (2, "SHARED", False),       # the account name granted, but on another cluster
    (1, "", True),              # cluster-wide alert of a cluster the team holds an account on
    (3, "", False),             # cluster-wide alert elsewhere
])
def test_team_is_told_only_about_its_accounts(cluster_id, account, told):
    assert rules.team_is_told(cluster_id=cluster_id, account=account, grants=GRANTS) is told


def test_no_grants_no_alerts():
    assert rules.team_is_told(cluster_id=1, account="", grants=set()) is False


LATER = NOW + timedelta(hours=1)


@pytest.mark.parametrize(("silence", "alert", "covered"), [
    (SilenceMatch(None, "", "", LATER), (1, "TEAM_A", "consumer.pending"), True),
    (SilenceMatch(1, "", "", LATER), (1, "TEAM_A", "consumer.pending"), True),
    (SilenceMatch(2, "", "", LATER), (1, "TEAM_A", "consumer.pending"), False),
    (SilenceMatch(1, "TEAM_A", "", LATER), (1, "TEAM_A", "consumer.pending"), True),
    (SilenceMatch(1, "TEAM_A", "", LATER), (1, "", "node.unreachable"), False),
    (SilenceMatch(1, "", "node.unreachable", LATER), (1, "", "node.unreachable"), True),
    (SilenceMatch(1, "", "node.unreachable", LATER), (1, "TEAM_A", "consumer.pending"), False),
    (SilenceMatch(None, "", "", NOW), (1, "TEAM_A", "consumer.pending"), False),  # ended
])
def test_silence_covers_alerts_matching_every_field_it_sets(silence, alert, covered):
    cluster_id, account, check = alert
    assert rules.silenced(silence, cluster_id=cluster_id, account=account, check=check, now=NOW) is covered


@pytest.mark.parametrize(("duration", "ends_at", "expected"), [
    ("30m", "", NOW + timedelta(minutes=30)),
    ("4h", "", NOW + timedelta(hours=4)),
    (" 2D ", "", NOW + timedelta(days=2)),
    ("1w", "", NOW + timedelta(weeks=1)),
    ("", "2026-05-01T18:00", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),
    ("", "2026-05-01T18:00+02:00", datetime(2026, 5, 1, 16, 0, tzinfo=UTC)),
])
def test_silence_end(duration, ends_at, expected):
    assert rules.silence_end(duration=duration, ends_at=ends_at, now=NOW) == expected


@pytest.mark.parametrize(("duration", "ends_at", "message"), [
    ("", "", "needs a duration or an end time"),
    ("4h", "2026-05-01T18:00", "not both"),
    ("soon", "", "not like 30m"),
    ("0m", "", "in the past"),
    ("", "2026-05-01T11:00", "in the past"),
    ("", "tomorrow", "not a date and time"),
    ("13w", "", "at most 90 days"),
])
def test_bad_silence_end_is_refused_with_a_reason(duration, ends_at, message):
    with pytest.raises(InvalidInput, match=message):
        rules.silence_end(duration=duration, ends_at=ends_at, now=NOW)


@pytest.mark.parametrize(("status", "retry"), [
    (None, True), (500, True), (502, True), (503, True), (429, True), (408, True),
    (400, False), (401, False), (404, False), (410, False),
])
def test_what_is_retried(status, retry):
    assert rules.retryable(status_code=status) is retry


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 10), (2, 20), (3, 40), (4, 80), (10, 3600)])
def test_backoff_doubles_up_to_the_cap(attempt, seconds):
    assert rules.backoff_seconds(attempt, base=10, cap=3600) == seconds


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.example.com/natsdash", "https://hooks.example.com"),
    ("https://hooks.slack.com/services/T000/B000/SECRETTOKEN", "https://hooks.slack.com"),
    ("https://webhook.site/SECRET-0b1c-4d2e-8f90", "https://webhook.site"),
    ("https://user:pw@alerts.example.com:8443/hook?token=SECRET#x", "https://alerts.example.com:8443"),
    ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
    ("http://[::1]:9000/?key=SECRET", "http://[::1]:9000"),
    ("http://example.com:port/SECRET", "(invalid URL)"),
])
def test_webhook_urls_are_shown_as_scheme_host_and_port_only(url, shown):
    assert rules.redact_url(url) == shown
    assert "SECRET" not in rules.redact_url(url) and "pw" not in rules.redact_url(url)


@pytest.mark.parametrize(("url", "message"), [
    ("", "needs a URL"), ("ftp://example.com/x", "http:// or https://"), ("https://", "http:// or https://"),
    ("http://example.com:port/", "cannot be parsed"),
    # Link-local and cloud metadata addresses, however they are spelled.
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://169.254.1.1:8080/hook", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),        # NAT64
    ("http://[fe80::1%25eth0]:8080/", "link-local"),        # with a zone
    ("http://[fd00:ec2::254]/latest/meta-data/", "link-local or cloud metadata"),
    ("http://2852039166/latest", "link-local"),          # 169.254.169.254 as one number
    ("http://0xa9.0xfe.0xa9.0xfe/latest", "link-local"),  # ... in hex
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
    ("http://METADATA.Google.Internal./computeMetadata/v1/", "cloud metadata"),
])
def test_bad_webhook_urls_are_refused(url, message):
    with pytest.raises(InvalidInput, match=message):
        rules.validate_webhook_url(url)


@pytest.mark.parametrize("url", [
    "https://hooks.example.com/natsdash?token=x",
    "http://127.0.0.1:9000/hook",        # loopback: a relay on the same host
    "http://10.1.2.3/hook",              # private: an internal relay
    "http://192.168.1.10:8080/hook",
    "http://[::1]:9000/hook",
    "http://169.255.0.1/hook",           # just outside 169.254.0.0/16
    "http://metadata.example.com/hook",
])
def test_loopback_private_and_public_webhooks_are_allowed(url):
    assert rules.validate_webhook_url(url) == url


@pytest.mark.parametrize(("subject", "message"), [
    ("$JS.API.STREAM.DELETE.ORDERS", "reserved"),
    ("$KV.config.key", "reserved"),
    ("$SYS.REQ.SERVER.PING", "reserved"),
    ("$O.bucket.C.x", "reserved"),
    ("_INBOX.abc123", "reserved"),
    ("_INBOX", "reserved"),
    ("alerts.*", "wildcard"),
    ("alerts..x", "empty token"),
    ("", "empty"),
])
def test_nats_channel_subjects_refuse_api_and_inbox_subjects(subject, message):
    with pytest.raises(InvalidInput, match=message):
        rules.validate_channel_subject(subject)


@pytest.mark.parametrize("subject", ["alerts.natsdash", "ops.$JS.copy", "alerts._INBOX", "_INBOXES.x", "a"])
def test_nats_channel_subjects_that_are_allowed(subject):
    assert rules.validate_channel_subject(subject) == subject


@pytest.mark.parametrize(("check", "stored"), [
    ("", ""), ("consumer.num_pending", "consumer.num_pending"), ("node", "node"), (" Node.CPU ", "node.cpu"),
    ("mesh", "mesh"), ("account.storage", "account.storage"),
])
def test_silence_checks_are_check_names_or_families(check, stored):
    assert rules.validate_silence_check(check) == stored


@pytest.mark.parametrize("check", ["consumer_pending", "consumer.", "nodes", "node.cpu.x", "consumer.pending", "*"])
def test_unknown_silence_checks_are_refused(check):
    with pytest.raises(InvalidInput, match="not a check"):
        rules.validate_silence_check(check)


@pytest.mark.parametrize(("silence_check", "alert_check", "covered"), [
    ("consumer", "consumer.num_pending", True),
    ("consumer", "consumer.stalled", True),
    ("consumer", "node.cpu", False),
    ("node", "node.cpu", True),
    ("node.cpu", "node.memory", False),
    ("stream", "stream.messages", True),
])
def test_a_silence_of_a_family_covers_its_checks(silence_check, alert_check, covered):
    silence = SilenceMatch(None, "", silence_check, LATER)
    assert rules.silenced(silence, cluster_id=1, account="", check=alert_check, now=NOW) is covered


@dataclass
class FakeCluster:
    name: str


@dataclass
class AlertLike:
    pk: int = 7
    account: str = "TEAM_A"
    check_name: str = "consumer.pending"
    target: str = "ORDERS/audit"
    key: str = "consumer.pending|ORDERS/audit"
    state: str = "firing"
    severity: str = "critical"
    message: str = "audit has 12000 pending"
    value: float = 12000.0
    peak: float = 12500.0
    threshold: float = 10000.0
    started_at: datetime = NOW - timedelta(minutes=5)
    fired_at: datetime = NOW
    resolved_at: datetime | None = None


def test_alert_body_carries_the_alert_and_where_to_look():
    body = rules.alert_body(AlertLike(), transition="fired", cluster="lab", link="http://dash/clusters/lab/")
    assert body == {
        "transition": "fired", "cluster": "lab", "account": "TEAM_A", "link": "http://dash/clusters/lab/",
        "alert": {"id": 7, "check": "consumer.pending", "target": "ORDERS/audit", "key": "consumer.pending|ORDERS/audit",
                  "state": "firing", "severity": "critical", "message": "audit has 12000 pending", "value": 12000.0,
                  "peak": 12500.0, "threshold": 10000.0, "started_at": "2026-05-01T11:55:00+00:00",
                  "fired_at": "2026-05-01T12:00:00+00:00", "resolved_at": None}}


def test_alert_body_tolerates_missing_fields():
    class Sparse:
        pk = 1
        check_name = "node.unreachable"

    body = rules.alert_body(Sparse(), transition="resolved", cluster="lab", link="")
    assert body["account"] is None and body["alert"]["check"] == "node.unreachable"
    assert body["alert"]["value"] is None and body["alert"]["fired_at"] is None


@pytest.mark.parametrize("value", ["dash.example.com", "ftp://dash.example.com", "https://", "https://d.example/?x=1"])
def test_a_bad_notify_base_url_stops_start_up(monkeypatch, value):
    from django.core.exceptions import ImproperlyConfigured

    from natsdash import env

    monkeypatch.setenv("NOTIFY_BASE_URL", value)
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_BASE_URL"):
        env.env_http_url("NOTIFY_BASE_URL", "http://localhost:8000")


def test_notify_base_url_loses_its_trailing_slash(monkeypatch):
    from natsdash import env

    monkeypatch.setenv("NOTIFY_BASE_URL", "https://dash.example.com/natsdash/")
    assert env.env_http_url("NOTIFY_BASE_URL", "http://localhost:8000") == "https://dash.example.com/natsdash"
