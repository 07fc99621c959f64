"""Actions on NATS (publish, request, purge, delete, create, edit, delete stream), each
validated before it touches NATS and written to the audit log with its outcome."""

from __future__ import annotations

import asyncio

from django.conf import settings

from clusters.models import Account
from streams import jetstream
from streams.models import Action, AuditEntry, Outcome
from streams.subjects import subject_matches
from streams.validation import PublishRequest, PurgeRequest


def connection_settings(account: Account) -> jetstream.ConnectionSettings:
    return jetstream.ConnectionSettings(
        servers=tuple(account.cluster.nats_urls), user=account.user, password=str(account.password or ""),
        token=str(account.token or ""), nkey_seed=str(account.nkey_seed or ""), creds=str(account.creds or ""),
        creds_file=account.creds_file, tls_ca_file=account.tls_ca_file, tls_cert_file=account.tls_cert_file,
        tls_key_file=account.tls_key_file, name=f"natsdash {account.cluster.name}/{account.name}")


def run(account: Account, work):
    """Run `work(nc)` on a fresh connection to the account and return its result."""
    async def main():
        async with jetstream.connection(connection_settings(account),
                                        timeout=settings.NATS_CONNECT_TIMEOUT) as nc:
            return await work(nc)

    return asyncio.run(main())


def audit(*, user, account: Account, action: str, target: str, parameters: dict, outcome: str,
          error: str = "", result: dict | None = None) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user, username=user.get_username(), cluster=account.cluster.name, account=account.name,
        action=action, target=target, parameters=parameters, outcome=outcome, error=error, result=result or {})


def audited(*, user, account: Account, action: str, target: str, parameters: dict, work):
    """Run the NATS work; audit success with its result dict, or failure with the error; re-raise."""
    try:
        result = run(account, work)
    except jetstream.JetStreamError as error:
        audit(user=user, account=account, action=action, target=target, parameters=parameters,
              outcome=Outcome.ERROR, error=str(error))
        raise
    audit(user=user, account=account, action=action, target=target, parameters=parameters,
          outcome=Outcome.OK, result=result if isinstance(result, dict) else {})
    return result


# -- publish -----------------------------------------------------------------------------------


def capturing_stream(streams: list[dict], account: str, subject: str) -> str | None:
    for stream in streams:
        if stream["account"] == account and any(subject_matches(f, subject) for f in stream.get("subjects", [])):
            return stream["name"]
    return None


def publish(*, user, account: Account, request: PublishRequest) -> dict:
    async def work(nc):
        if request.as_request:
            result = await jetstream.request(nc, request.subject, request.data, headers=request.headers,
                                             timeout=request.timeout)
        else:
            to_stream = await _captured_by_a_stream(nc, request.subject)
            result = await jetstream.publish(nc, request.subject, request.data, headers=request.headers,
                                             to_stream=to_stream, timeout=request.timeout)
        return publish_result_dict(result)

    return audited(user=user, account=account, action=Action.REQUEST if request.as_request else Action.PUBLISH,
                   target=request.subject, parameters=request.audit_parameters(), work=work)


async def _captured_by_a_stream(nc, subject: str) -> bool:
    try:
        streams = await jetstream.list_streams(nc)
    except jetstream.JetStreamError:
        return False  # no JetStream in this account: a plain publish
    return any(subject_matches(f, subject) for s in streams for f in s.get("config", {}).get("subjects") or [])


def publish_result_dict(result: jetstream.PublishResult) -> dict:
    data = {"subject": result.subject, "size": result.size, "stream": result.stream or None, "seq": result.seq,
            "duplicate": result.duplicate}
    if result.reply is not None:
        data["reply"] = {"subject": result.reply.subject, "headers": dict(result.reply.headers),
                         "data": result.reply.data.decode("utf-8", "replace"), "size": len(result.reply.data)}
    return data


# -- purge ---------------------------------------------------------------------------------


async def purge_preview_async(nc, stream: str, request: PurgeRequest) -> dict:
    """How many messages the purge would remove, in total and per subject for a filter."""
    info = await jetstream.stream_info(nc, stream, subjects_filter=request.subject,
                                       deleted_details=request.seq is not None and not request.subject)
    state = info.get("state") or {}
    first_seq, messages = int(state.get("first_seq") or 0), int(state.get("messages") or 0)
    if request.subject:
        per_subject = {s: int(n) for s, n in (state.get("subjects") or {}).items()}
        if request.keep is not None:
            doomed = {s: max(n - request.keep, 0) for s, n in per_subject.items()}
        elif request.seq is not None:
            doomed = await _count_below_by_subject(nc, stream, request.subject, request.seq, per_subject)
        else:
            doomed = per_subject
        doomed = {s: n for s, n in sorted(doomed.items()) if n}
        return {"total": sum(doomed.values()), "per_subject": doomed, "messages": messages}
    if request.keep is not None:
        total = max(messages - request.keep, 0)
    elif request.seq is not None:
        deleted = [d for d in state.get("deleted") or [] if d < request.seq]
        total = max(min(request.seq, int(state.get("last_seq") or 0) + 1) - first_seq, 0) - len(deleted)
        total = max(total, 0)
    else:
        total = messages
    return {"total": total, "per_subject": {}, "messages": messages}


async def _count_below_by_subject(nc, stream: str, subject: str, below: int, per_subject: dict) -> dict:
    counts = {s: 0 for s in per_subject}
    seq = 1
    while seq < below:
        try:
            message = await jetstream.get_message(nc, stream, seq=seq, next_by_subject=subject)
        except jetstream.NotFound:
            break
        if message.seq >= below:
            break
        counts[message.subject] = counts.get(message.subject, 0) + 1
        seq = message.seq + 1
    return counts


def purge_preview(*, account: Account, stream: str, request: PurgeRequest) -> dict:
    return run(account, lambda nc: purge_preview_async(nc, stream, request))


def purge(*, user, account: Account, stream: str, request: PurgeRequest) -> dict:
    async def work(nc):
        return {"purged": await jetstream.purge(nc, stream, subject=request.subject, keep=request.keep,
                                                seq=request.seq)}

    return audited(user=user, account=account, action=Action.PURGE, target=stream,
                   parameters={"mode": request.mode, **request.as_dict()}, work=work)


# -- messages and streams --------------------------------------------------------------------


def delete_message(*, user, account: Account, stream: str, seq: int) -> dict:
    async def work(nc):
        await jetstream.delete_message(nc, stream, seq)
        return {"deleted": seq}

    return audited(user=user, account=account, action=Action.DELETE_MESSAGE, target=stream,
                   parameters={"seq": seq}, work=work)


def stream_info(*, account: Account, stream: str) -> dict:
    return run(account, lambda nc: jetstream.stream_info(nc, stream))


def stream_config(*, account: Account, stream: str) -> dict:
    async def work(nc):
        return (await jetstream.stream_info(nc, stream)).get("config") or {}

    return run(account, work)


def create_stream(*, user, account: Account, config: dict) -> dict:
    async def work(nc):
        created = await jetstream.create_stream(nc, config)
        return {"stream": config["name"], "created": (created.get("created") or "")}

    return audited(user=user, account=account, action=Action.CREATE_STREAM, target=config["name"],
                   parameters=config, work=work)


def update_stream_limits(*, user, account: Account, config: dict, diff: list) -> dict:
    async def work(nc):
        await jetstream.update_stream(nc, config)
        return {"stream": config["name"]}

    return audited(user=user, account=account, action=Action.UPDATE_STREAM, target=config["name"],
                   parameters={"changes": {key: [before, after] for key, before, after in diff}}, work=work)


def delete_stream(*, user, account: Account, stream: str) -> dict:
    async def work(nc):
        await jetstream.delete_stream(nc, stream)
        return {"deleted": stream}

    return audited(user=user, account=account, action=Action.DELETE_STREAM, target=stream, parameters={},
                   work=work)


def read_message(*, account: Account, stream: str, seq: int | None = None, subject: str | None = None,
                 direction: str = "at") -> jetstream.StoredMessage:
    """A stored message without consuming it: at a sequence, the next or previous one from a
    sequence, or the last on a subject."""
    async def work(nc):
        if subject:
            return await jetstream.get_message(nc, stream, last_by_subject=subject)
        if direction == "next":
            return await jetstream.get_message(nc, stream, seq=seq, next_by_subject=">")
        if direction == "previous":
            info = await jetstream.stream_info(nc, stream)
            first = int((info.get("state") or {}).get("first_seq") or 1)
            for candidate in range(seq, first - 1, -1):
                try:
                    return await jetstream.get_message(nc, stream, seq=candidate)
                except jetstream.NotFound:
                    continue
            raise jetstream.NotFound(f"no message at or before sequence {seq}")
        return await jetstream.get_message(nc, stream, seq=seq)

    return run(account, work)


def message_at_time(*, account: Account, stream: str, at) -> jetstream.StoredMessage:
    """The first message stored at or after a time, by binary search over sequences."""
    async def work(nc):
        state = (await jetstream.stream_info(nc, stream)).get("state") or {}
        first, last = int(state.get("first_seq") or 1), int(state.get("last_seq") or 0)
        seq = await jetstream.first_seq_at(nc, stream, at, first, last)
        if seq > last:
            raise jetstream.NotFound("no message at or after that time")
        return await jetstream.get_message(nc, stream, seq=seq)

    return run(account, work)


