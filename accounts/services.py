"""Writes for accounts: the latest JetStream usage and limits, read over each account's own
connection. Keyword-only arguments."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.utils import timezone

from clusters.models import Account
from streams import jetstream
from streams.services import connection_settings

# The account page refreshes the usage while the user waits: a short bound, then the stored one.
LIVE_TIMEOUT = 2.0


async def read_account_info(account: Account, *, timeout: float) -> tuple[jetstream.AccountInfo | None, str]:
    """(info, "") or (None, the error); never raises for NATS failures."""
    try:
        info = await asyncio.wait_for(
            jetstream.account_info(connection_settings(account), timeout=timeout, connect_timeout=timeout),
            timeout=timeout * 2)  # the connect and the request, each bounded by `timeout`
    except jetstream.JetStreamError as error:
        return None, str(error)
    except asyncio.TimeoutError:
        return None, f"no answer within {timeout * 2:g}s"
    return info, ""


def store_jetstream(*, account: Account, info: jetstream.AccountInfo | None, error: str = "", at=None) -> Account:
    """Keep the new usage, or keep the last one and note why it could not be refreshed."""
    if info is not None:
        account.jetstream, account.jetstream_at, account.jetstream_error = info.as_dict(), at or timezone.now(), ""
        account.save(update_fields=["jetstream", "jetstream_at", "jetstream_error"])
    else:
        account.jetstream_error = error
        account.save(update_fields=["jetstream_error"])
    return account


def keep_live_jetstream(*, account: Account, live) -> Account:
    """Keep the JetStream usage the account page read (selectors.read_live), or why it could not."""
    if live.jetstream_read:
        store_jetstream(account=account, info=live.jetstream, error=live.jetstream_error)
    return account


def refresh_cluster_accounts(*, cluster_id: int, timeout: float | None = None) -> int:
    """Refresh every non-system account of a cluster at once; returns how many answered."""
    accounts = list(Account.objects.filter(cluster_id=cluster_id, is_system=False).select_related("cluster"))
    if not accounts:
        return 0
    timeout = timeout or settings.NATS_CONNECT_TIMEOUT

    async def main():
        return await asyncio.gather(*(read_account_info(a, timeout=timeout) for a in accounts))

    results = asyncio.run(main())
    now = timezone.now()
    for account, (info, error) in zip(accounts, results):
        store_jetstream(account=account, info=info, error=error, at=now)
    return sum(1 for info, _ in results if info is not None)
