"""The Procfile is read the way a Procfile runner reads it."""

from __future__ import annotations

from config.procfile import expand, procfile_commands


def test_a_default_is_used_when_the_variable_is_unset_or_empty():
    assert expand("--concurrency ${N:-8}", {}) == "--concurrency 8"
    assert expand("--concurrency ${N:-8}", {"N": ""}) == "--concurrency 8"


def test_a_set_variable_wins_over_the_default():
    assert expand("--concurrency ${N:-8}", {"N": "2"}) == "--concurrency 2"


def test_the_procfile_names_the_web_agents_worker_and_beat_processes():
    commands = procfile_commands({}, python="/venv/bin/python")
    assert {"web", "agents", "worker", "beat"} <= commands.keys()
    assert commands["web"][:3] == ["/venv/bin/python", "-m", "gunicorn"]
    assert commands["beat"][:3] == ["/venv/bin/python", "-m", "celery"]


def test_device_long_polls_have_a_process_of_their_own_serving_the_asgi_application():
    agents = procfile_commands({}, python="/venv/bin/python")["agents"]
    assert agents[:3] == ["/venv/bin/python", "-m", "gunicorn"]
    assert "config.asgi" in agents
    assert agents[agents.index("--worker-class") + 1] == "asgi"


def test_the_agents_port_is_its_own_and_sized_by_the_environment():
    agents = procfile_commands({"AGENTS_PORT": "9001", "AGENTS_CONCURRENCY": "3"})["agents"]
    assert agents[agents.index("--bind") + 1] == "0.0.0.0:9001"
    assert agents[agents.index("--workers") + 1] == "3"
