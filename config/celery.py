"""The Celery app: settings under the CELERY_ namespace, tasks autodiscovered from apps.

A prefork child keeps its pooled database connection from one task to the next: Celery's
Django fixup closes a prefork child's whole pool after every task (a new PostgreSQL session
per task); here the pool is closed once, when the child starts (it must not cross the fork),
and after each task the child only gives its connection back to its own pool, which drops
a connection PostgreSQL closed before handing it out again (config/postgresql/base.py).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from celery.fixups.django import DjangoFixup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
def _keep_the_pool_between_tasks(**_: Any) -> None:
    """In a prefork child, after the fixup closed the inherited pool: stop it from closing the
    pool after every task (it then does so once every two billion tasks)."""
    for fixup in getattr(app, "_fixups", None) or []:  # Celery keeps its fixups there
        if isinstance(fixup, DjangoFixup):
            fixup.worker_fixup.db_reuse_max = 10**9


@signals.task_postrun.connect
def _give_the_connection_back(**_: Any) -> None:
    """What the end of a request does: the task's connection goes back to the pool (or is
    closed if it broke)."""
    from django.db import close_old_connections  # the app module loads before Django is set up

    close_old_connections()


@signals.worker_init.connect
@signals.beat_init.connect
def _metrics_directory_prepare(**_: Any) -> None:
    """A worker or beat starting: the files of processes gone since the last run leave
    /metrics' directory (contract.metrics); the running processes' stay."""
    from contract.metrics import metrics_directory_prepare  # lazy: before Django is set up

    metrics_directory_prepare()


@signals.worker_process_shutdown.connect
def _metrics_process_dead(**_: Any) -> None:
    """A prefork child exiting: prometheus-client's bookkeeping for it (contract.metrics)."""
    from contract.metrics import process_dead  # lazy: before Django is set up

    process_dead(os.getpid())
