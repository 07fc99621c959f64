import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "natsdash.settings")

app = Celery("natsdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

WORKER_DB_CONN_MAX_AGE = 600  # seconds a worker keeps a database connection between tasks


@worker_init.connect
def keep_database_connections(**kwargs) -> None:
    """A worker runs a poll per cluster every few seconds: opening a database connection for every
    task (Django's default, right for Daphne) costs a tenth of a poll's CPU on SQLite and a round
    trip and authentication on PostgreSQL. Workers keep theirs, checked before each reuse."""
    from django.conf import settings

    for config in settings.DATABASES.values():
        config["CONN_MAX_AGE"] = WORKER_DB_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = True
