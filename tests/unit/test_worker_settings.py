"""Celery workers keep their database connections between tasks (Daphne does not)."""

from celery.signals import worker_init
from django.conf import settings

from natsdash.celery import WORKER_DB_CONN_MAX_AGE, app


def test_a_starting_worker_keeps_database_connections_and_checks_them_before_reuse():
    saved = {alias: dict(config) for alias, config in settings.DATABASES.items()}
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0  # the web process: one per request
    try:
        worker_init.send(sender=app)
        config = settings.DATABASES["default"]
        assert config["CONN_MAX_AGE"] == WORKER_DB_CONN_MAX_AGE and config["CONN_HEALTH_CHECKS"] is True
    finally:
        for alias, config in saved.items():
            settings.DATABASES[alias].clear()
            settings.DATABASES[alias].update(config)
