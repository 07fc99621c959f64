"""Pure rules of the streams app: subjects, action input, payload rendering, backlog judgement."""

from datetime import datetime, timedelta, timezone

import pytest

from streams import backlog
from streams.rendering import render_payload
from streams.subjects import InvalidSubject, subject_matches, validate_filter_subject, validate_publish_subject
from streams.validation import (
    InvalidInput,
    config_diff,
    limits_change,
    new_stream_config,
    publish_request,
    purge_request,
)


@pytest.mark.parametrize("subject", ["orders", "orders.created", "a.b-c.d_e", "$JS.API.INFO"])
def test_concrete_subjects_can_be_published_to(subject):
    assert validate_publish_subject(subject) == subject


@pytest.mark.parametrize(("subject", "problem"), [
    ("", "empty"), ("orders.*", "wildcard"), ("orders.>", "wildcard"), ("orders..x", "empty token"),
    (".orders", "empty token"), ("orders.", "empty token"), ("orders created", "whitespace"), ("a.b*", "wildcard"),
])
def test_bad_publish_subjects_are_refused(subject, problem):
    with pytest.raises(InvalidSubject, match=problem):
        validate_publish_subject(subject)


@pytest.mark.parametrize(("subject", "ok"), [
    ("orders.*", True), ("orders.>", True), (">", True), ("*.x.>", True),
    ("orders.>.x", False), ("orders.a*", False), ("orders..x", False),
])
def test_filter_subjects(subject, ok):
    if ok:
        assert validate_filter_subject(subject) == subject
    else:
        with pytest.raises(InvalidSubject):
            validate_filter_subject(subject)


@pytest.mark.parametrize(("pattern", "subject", "matches"), [
    ("orders.*", "orders.x", True), ("orders.*", "orders.x.y", False), ("orders.>", "orders.x.y", True),
    ("orders.>", "orders", False), ("orders", "orders", True), ("*.b", "a.b", True), (">", "a", True),
])
def test_subject_matching(pattern, subject, matches):
    assert subject_matches(pattern, subject) is matches


def test_purge_request_modes():
    assert purge_request({}).mode == "all"
    assert purge_request({"subject": "a.*"}).mode == "subject"
    assert purge_request({"keep": "3"}).keep == 3
    assert purge_request({"seq": 10}).mode == "below sequence"
    for bad, message in (({"keep": -1}, "at least 0"), ({"keep": 1, "seq": 2}, "not both"),
                         ({"seq": "ten"}, "whole number"), ({"seq": 0}, "at least 1"), ({"seq": True}, "whole number"),
                         ({"filter": "x"}, "unknown field")):
        with pytest.raises(InvalidInput, match=message):
            purge_request(bad)


def test_publish_request_checks_payload_size_headers_and_timeout():
    request = publish_request({"subject": "a.b", "data": "hé", "headers": {"trace-id": "1"}}, max_payload=10)
    assert request.data == "hé".encode() and request.headers == {"trace-id": "1"}
    assert publish_request({"subject": "a", "data_base64": "AAEC"}, max_payload=None).data == b"\x00\x01\x02"
    for body, message in (({"subject": "a", "data": "x" * 11}, "exceeds the server's max_payload of 10"),
                          ({"subject": "a", "headers": {"bad name": "x"}}, "header name"),
                          ({"subject": "a", "headers": {"x": "a\nb"}}, "one line"),
                          ({"subject": "a", "timeout": 0}, "timeout"),
                          ({"subject": "a", "data_base64": "!!"}, "base64")):
        with pytest.raises(InvalidInput, match=message):
            publish_request(body, max_payload=10)
    preview = publish_request({"subject": "a", "data": "y" * 500}, max_payload=None).audit_parameters()
    assert len(preview["payload_preview"]) == 200 and preview["size"] == 500


def test_limits_diff_lists_only_what_changes():
    current = {"name": "S", "max_msgs": -1, "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": -1, "discard": "old"}
    wanted = limits_change(current, {"max_msgs": "100", "max_age": "60", "discard": "old"})
    assert config_diff(current, wanted) == [("max_msgs", -1, 100), ("max_age", 0, 60_000_000_000)]
    with pytest.raises(InvalidInput, match="discard"):
        limits_change(current, {"discard": "oldest"})
    with pytest.raises(InvalidInput, match="at least -1"):
        limits_change(current, {"max_bytes": "-5"})


def test_new_stream_config_validation():
    config = new_stream_config({"name": "ORDERS", "subjects": "orders.> refunds.*", "replicas": "3"})
    assert config["subjects"] == ["orders.>", "refunds.*"] and config["num_replicas"] == 3
    for body, message in (({"name": "a.b", "subjects": "x"}, "stream name"), ({"name": "A", "subjects": ""}, "subject"),
                          ({"name": "A", "subjects": "x", "replicas": "7"}, "between 1 and 5"),
                          ({"name": "A", "subjects": "x", "storage": "disk"}, "storage")):
        with pytest.raises(InvalidInput, match=message):
            new_stream_config(body)


@pytest.mark.parametrize(("data", "kind"), [
    (b'{"a": [1, 2]}', "json"), (b"plain text\nline two", "text"), (b"\x00\x01\xffbinary", "binary"),
    ("naïve".encode(), "text"),
])
def test_payload_rendering(data, kind):
    rendered = render_payload(data)
    assert rendered["kind"] == kind and rendered["size"] == len(data) and not rendered["truncated"]
    if kind == "json":
        assert rendered["text"] == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    if kind == "binary":
        assert rendered["text"].startswith("00000000  00 01 ff 62")


def test_large_payloads_are_cut_and_marked():
    rendered = render_payload(b"x" * 100_000, limit=1000)
    assert rendered["truncated"] and len(rendered["text"]) == 1000 and rendered["size"] == 100_000
    assert render_payload(b"x" * 100_000, limit=None)["truncated"] is False


NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def samples(points):
    return [(NOW - timedelta(seconds=age), pending, floor) for age, pending, floor in points]


def test_draining_consumer_has_a_rate_and_an_eta():
    judged = backlog.judge(samples([(120, 1000, 10), (60, 700, 310), (0, 400, 610)]), now=NOW,
                           stalled_after=timedelta(minutes=5))
    assert judged.drain_per_s == 5.0 and judged.eta_seconds == 80.0 and not judged.stalled


def test_consumer_with_pending_and_a_still_ack_floor_is_stalled():
    judged = backlog.judge(samples([(600, 50, 7), (300, 60, 7), (0, 70, 7)]), now=NOW,
                           stalled_after=timedelta(minutes=5))
    assert judged.stalled and judged.stalled_since == NOW - timedelta(seconds=600)
    assert judged.drain_per_s < 0 and judged.eta_seconds is None


def test_idle_consumer_without_pending_is_not_stalled():
    judged = backlog.judge(samples([(600, 0, 7), (0, 0, 7)]), now=NOW, stalled_after=timedelta(minutes=5))
    assert not judged.stalled and judged.eta_seconds == 0.0


def test_recently_still_floor_is_not_yet_stalled():
    judged = backlog.judge(samples([(200, 50, 7), (0, 50, 7)]), now=NOW, stalled_after=timedelta(minutes=5))
    assert not judged.stalled
