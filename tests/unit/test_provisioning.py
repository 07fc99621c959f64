"""`manage.py provision FILE`: the example file, idempotent re-runs, clear errors, nothing applied on error."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from clusters.models import Account, Cluster, Membership, Node, Team, TeamGrant

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "provision-example.yaml"


def provision(path, monkeypatch=None, **environ) -> str:
    out = StringIO()
    call_command("provision", str(path), stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (get_user_model(), Cluster, Node, Account, Team, TeamGrant, Membership)}


def test_example_file_is_accepted_and_a_rerun_changes_nothing(monkeypatch):
    monkeypatch.setenv("SYS_PASSWORD", "sys-secret-from-env")
    first = provision(EXAMPLE)
    assert "created cluster lab" in first
    lab = Cluster.objects.get(name="lab")
    assert lab.nats_urls == ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]
    assert sorted(lab.nodes.values_list("monitor_url", flat=True)) == [
        "http://127.0.0.1:8222", "http://127.0.0.1:8223", "http://127.0.0.1:8224"]
    system = lab.accounts.get(name="SYS")
    assert system.is_system and system.user == "sys" and system.password == "sys-secret-from-env"
    assert lab.accounts.get(name="TEAM_B").token == "b-token"
    assert lab.accounts.get(name="TEAM_B").auth_method == "token"
    payments = Team.objects.get(name="payments")
    assert [g.account.name for g in payments.grants.all()] == ["TEAM_A"]
    assert dict(payments.memberships.values_list("user__username", "role")) == {"alice": "operator", "bob": "viewer"}
    root = get_user_model().objects.get(username="root")
    assert root.is_superuser and root.check_password("root-secret-1")

    before = counts()
    second = provision(EXAMPLE)
    assert second.strip().endswith("no changes"), second
    assert counts() == before


def test_rerun_applies_only_what_changed(monkeypatch, tmp_path):
    monkeypatch.setenv("SYS_PASSWORD", "one")
    provision(EXAMPLE)
    monkeypatch.setenv("SYS_PASSWORD", "two")
    edited = tmp_path / "fleet.yaml"
    edited.write_text(EXAMPLE.read_text().replace("      - monitor_url: http://127.0.0.1:8224\n", "")
                      .replace("{user: bob, role: viewer}", "{user: bob, role: operator}"))
    output = provision(edited)
    assert output.splitlines()[:-1] == [
        "removed node http://127.0.0.1:8224 from lab",
        "updated account lab/SYS (password)",
        "changed bob's role in team payments to operator",
    ]
    assert "two" not in output  # names the field, never the secret
    assert Account.objects.get(name="SYS").password == "two"


def test_secrets_are_not_stored_as_plain_text(monkeypatch):
    monkeypatch.setenv("SYS_PASSWORD", "sys-plain-text-canary")
    provision(EXAMPLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, token FROM clusters_account")
        stored = [value for row in cursor.fetchall() for value in row if value]
    assert stored and all(value.startswith("fernet:") for value in stored)
    assert not any("sys-plain-text-canary" in v or "a-secret" in v or "b-token" in v for v in stored)


BROKEN = {
    "bad YAML": ("clusters:\n  - name: lab\n    nodes: [\n", "invalid YAML"),
    "unknown key": (EXAMPLE.read_text().replace("    nats_urls:", "    nats_url:"),
                    "clusters[0].nats_url: unknown key"),
    "missing password variable": (EXAMPLE.read_text(),
                                  "clusters[0].system_account.password: environment variable SYS_PASSWORD is not set"),
    "unknown user in a team": (EXAMPLE.read_text().replace("{user: bob, role: viewer}", "{user: carol, role: viewer}"),
                               "teams[0].members[1].user: unknown user 'carol'"),
    "unknown account in a grant": (EXAMPLE.read_text().replace("{cluster: lab, account: TEAM_A}", "{cluster: lab, account: TEAM_C}"),
                                   "teams[0].grants[0]: unknown account 'TEAM_C' of cluster 'lab'"),
    "two ways to authenticate": (EXAMPLE.read_text().replace("        token: b-token", "        token: b-token\n        user: b\n        password: x"),
                                 "give one way to authenticate"),
    "bad monitoring URL": (EXAMPLE.read_text().replace("http://127.0.0.1:8223", "127.0.0.1:8223"),
                           "clusters[0].nodes[1].monitor_url"),
    "bad role": (EXAMPLE.read_text().replace("role: viewer", "role: admin"), "'admin' is not one of viewer, operator"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_files_are_rejected_with_clear_errors_and_nothing_applied(monkeypatch, tmp_path, case):
    text, expected = BROKEN[case]
    if case != "missing password variable":
        monkeypatch.setenv("SYS_PASSWORD", "x")
    else:
        monkeypatch.delenv("SYS_PASSWORD", raising=False)
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    before = counts()
    with pytest.raises(CommandError) as error:
        provision(path)
    message = str(error.value)
    assert "nothing was applied" in message
    assert str(path) in message and expected in message, message
    assert counts() == before


def test_a_broken_rerun_leaves_the_earlier_state_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("SYS_PASSWORD", "x")
    provision(EXAMPLE)
    before = counts()
    path = tmp_path / "fleet.yaml"
    # Valid YAML and keys, but the team names an unknown user: the new node must not be added either.
    path.write_text(EXAMPLE.read_text().replace("      - monitor_url: http://127.0.0.1:8224\n",
                                                "      - monitor_url: http://127.0.0.1:8224\n      - monitor_url: http://127.0.0.1:8225\n")
                    .replace("{user: bob, role: viewer}", "{user: nobody, role: viewer}"))
    with pytest.raises(CommandError):
        provision(path)
    assert counts() == before
