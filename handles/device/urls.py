from __future__ import annotations

from django.urls import path

from handles.device.views import (
    EventsView,
    HeartbeatView,
    JobResultsView,
    JobResultView,
    JobsView,
)

urlpatterns = [
    path("heartbeat", HeartbeatView.as_view(), name="device-heartbeat"),
    path("jobs", JobsView.as_view(), name="device-jobs"),
    path("jobs/results", JobResultsView.as_view(), name="device-job-results"),
    path("jobs/<str:job_id>/result", JobResultView.as_view(), name="device-job-result"),
    path("events", EventsView.as_view(), name="device-events"),
]
