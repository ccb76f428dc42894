"""The Procfile is read the way a Procfile runner reads it."""

from __future__ import annotations

from config.procfile import expand, procfile_commands


def test_a_default_is_used_when_the_variable_is_unset_or_empty():
    assert expand("--concurrency ${N:-8}", {}) == "--concurrency 8"
    assert expand("--concurrency ${N:-8}", {"N": ""}) == "--concurrency 8"


def test_a_set_variable_wins_over_the_default():
    assert expand("--concurrency ${N:-8}", {"N": "2"}) == "--concurrency 2"


def test_the_procfile_names_the_web_worker_and_beat_processes():
    commands = procfile_commands({}, python="/venv/bin/python")
    assert {"web", "worker", "beat"} <= commands.keys()
    assert commands["web"][:3] == ["/venv/bin/python", "-m", "gunicorn"]
    assert commands["beat"][:3] == ["/venv/bin/python", "-m", "celery"]
