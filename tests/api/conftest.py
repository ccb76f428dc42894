"""The live pipeline (server, Celery worker, simulated devices) for the API's black-box tests."""

from __future__ import annotations

from tests.messaging.conftest import celery_worker, platform

__all__ = ["celery_worker", "platform"]
