"""Background work: Celery's behaviour, its two queues and their routes, the delivery
workers' sizes, and beat's schedule of sweepers (docs/operations.md). The broker itself is
chosen in `base` (Redis, or the embedded file broker)."""

from __future__ import annotations

from kombu import Queue

from config.settings.environment import VAR_DIR, env_int

CELERY_TASK_IGNORE_RESULT = True
# Workers log through Django's LOGGING (JSON lines), like the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Two queues, two kinds of worker (the Procfile's `worker` and `webhooks` lines): waiting on
# a webhook receiver happens only on the `webhooks` queue, in a thread pool, so no receiver,
# however slow or dead, can hold the processes that dispatch messages. `deliveries_sweep`
# goes with the deliveries it feeds: a backlogged delivery worker is not flooded with copies.
# A worker started without `--queues` consumes both (one process can run everything, but
# then without that isolation).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("webhooks"))
CELERY_TASK_ROUTES = {
    "webhooks.tasks.endpoint_drain": {"queue": "webhooks"},
    "webhooks.tasks.event_fan_out": {"queue": "webhooks"},
    "webhooks.tasks.webhook_deliver": {"queue": "webhooks"},
    "webhooks.tasks.deliveries_sweep": {"queue": "webhooks"},
}
# The delivery worker's thread pool (the Procfile's `--concurrency ${WEBHOOK_CONCURRENCY:-32}`:
# keep the two defaults equal) and each endpoint's share of it: at most this many attempts in
# flight per endpoint across all delivery workers, 1/16 of one worker's pool by default, so
# it takes 16 receivers that never answer to fill one worker (docs/operations.md).
SWITCHBOARD_WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 32)
SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY = env_int(
    "SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY", max(1, SWITCHBOARD_WEBHOOK_CONCURRENCY // 16)
)
# beat keeps its last-run times in this file, in every mode: without the directory beat dies
# at start (and with it every sweeper), so it is made here, not only for the embedded mode.
VAR_DIR.mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {
        "task": "accounts.tasks.idempotency_records_purge",
        "schedule": 15 * 60.0,
    },
    "sweep-webhook-deliveries": {
        "task": "webhooks.tasks.deliveries_sweep",
        "schedule": 5.0,
    },
    "sweep-messages": {
        "task": "messaging.tasks.messages_sweep",
        "schedule": 5.0,
    },
    # Held messages (new-contact budgets, line health): a budget's slots free by the minute.
    "release-held-messages": {
        "task": "messaging.tasks.held_release_due",
        "schedule": 60.0,
    },
    "purge-unused-attachments": {
        "task": "messaging.tasks.attachments_purge_unused",
        "schedule": 60 * 60.0,
    },
    "mark-quiet-handles-offline": {
        "task": "handles.tasks.handles_mark_offline",
        "schedule": 10.0,
    },
    # Line health: each minute the handles that sent lately (or are not healthy); each hour all.
    "evaluate-line-health": {
        "task": "messaging.tasks.line_health_evaluate",
        "schedule": 60.0,
    },
    "evaluate-line-health-all": {
        "task": "messaging.tasks.line_health_evaluate",
        "schedule": 60 * 60.0,
        "kwargs": {"everything": True},
    },
}
