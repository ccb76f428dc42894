"""The Procfile as data: what `make run` and the process tests start is what production starts.

A Procfile line is `name: command`, where the command may use `${VAR}` and `${VAR:-default}`
(the shell's forms, which Heroku-style runners and honcho expand). `procfile_commands` reads
the file and expands those against an environment, so a test that asks for "the Procfile's
processes at their default sizes" and `make run` get exactly the lines operators deploy.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand(command: str, env: Mapping[str, str]) -> str:
    """`${VAR:-default}` → env's VAR when set and non-empty, else default; `${VAR}` → VAR or ''."""

    def value(match: re.Match[str]) -> str:
        found = env.get(match["name"], "")
        return found if found else (match["default"] or "")

    return _VARIABLE.sub(value, command)


def procfile_commands(
    env: Mapping[str, str], *, path: Path = PROCFILE, python: str | None = None
) -> dict[str, list[str]]:
    """Each process of the Procfile as argv, expanded against `env`.

    With `python` set, `gunicorn …` and `celery …` become `python -m gunicorn …` and
    `python -m celery …`, and `python …` uses that interpreter: a virtualenv need not be on
    PATH for its processes to start.
    """
    commands: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        argv = shlex.split(expand(command.strip(), env))
        if python is not None and argv:
            if argv[0] in {"gunicorn", "celery"}:
                argv = [python, "-m", *argv]
            elif argv[0] == "python":
                argv = [python, *argv[1:]]
        commands[name.strip()] = argv
    return commands
