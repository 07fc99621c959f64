"""Bounded history: every poll is kept for SAMPLES_RAW_HOURS, then folded into one-minute
averages kept for SAMPLES_MINUTE_DAYS, then into hourly averages kept for SAMPLES_HOUR_DAYS.
Each moment exists at exactly one resolution, so charts read all three in time order."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

import alerts.services
import notifications.services
from clusters.models import ConsumerSample, Event, NodeSample, Resolution, StreamSample

SERIES_KEYS = {
    NodeSample: ("node_id",),
    StreamSample: ("cluster_id", "account", "stream"),
    ConsumerSample: ("cluster_id", "account", "stream", "consumer"),
}


def _fold(model, *, source: int, target: int, before, trunc) -> int:
    keys = SERIES_KEYS[model]
    rows = (model.objects.filter(resolution=source, at__lt=before)
            .annotate(bucket=trunc("at")).values(*keys, "bucket")
            .annotate(**{f"avg_{name}": Avg(name) for name in model.VALUES}))
    folded = []
    for row in rows:
        values = {name: row[f"avg_{name}"] for name in model.VALUES}
        for name, field in ((n, model._meta.get_field(n)) for n in model.VALUES):
            if values[name] is not None and field.get_internal_type() in ("IntegerField", "BigIntegerField"):
                values[name] = round(values[name])
        folded.append(model(**{key: row[key] for key in keys}, at=row["bucket"], resolution=target, **values))
    with transaction.atomic():
        model.objects.bulk_create(folded, batch_size=1000)
        model.objects.filter(resolution=source, at__lt=before).delete()
    return len(folded)


def downsample_and_prune(now=None) -> dict:
    now = now or timezone.now()
    raw_cutoff = (now - timedelta(hours=settings.SAMPLES_RAW_HOURS)).replace(second=0, microsecond=0)
    minute_cutoff = (now - timedelta(days=settings.SAMPLES_MINUTE_DAYS)).replace(minute=0, second=0, microsecond=0)
    hour_cutoff = now - timedelta(days=settings.SAMPLES_HOUR_DAYS)
    report = {}
    for model in SERIES_KEYS:
        minutes = _fold(model, source=Resolution.RAW, target=Resolution.MINUTE, before=raw_cutoff, trunc=TruncMinute)
        hours = _fold(model, source=Resolution.MINUTE, target=Resolution.HOUR, before=minute_cutoff, trunc=TruncHour)
        expired, _ = model.objects.filter(resolution=Resolution.HOUR, at__lt=hour_cutoff).delete()
        report[model.__name__] = {"minute_rows": minutes, "hour_rows": hours, "expired": expired}
    report["events_expired"] = Event.objects.filter(at__lt=now - timedelta(days=settings.EVENTS_DAYS)).delete()[0]
    report["alerts_expired"] = alerts.services.prune_history(now=now)
    report["notifications"] = notifications.services.prune_history(now=now)
    return report
