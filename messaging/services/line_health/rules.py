"""The line-health rules: a handle's recent outcomes and contact signals in, a state and the
reasons for it out. Pure (no database, no clock, no settings read here): the same inputs give
the same answer, which is what the unit tests hold it to.

A signal is judged only on enough evidence (`min_outcomes`, `min_contacts`), so a handle's first
failed send is not a 100% failure rate. The state is the worst level any signal reached; every
signal that reached a level is a reason, critical ones first (docs/compliance.md, "Line health").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

HEALTHY, AT_RISK, CRITICAL = "healthy", "at_risk", "critical"
_SEVERITY = {HEALTHY: 0, AT_RISK: 1, CRITICAL: 2}


@dataclass(frozen=True)
class Outcome:
    """How one outbound message ended, as health reads it (newest first in a list)."""

    failed: bool
    # Tried on iMessage (including a message that fell back to SMS after `not_registered`).
    imessage: bool = False
    not_registered: bool = False


@dataclass(frozen=True)
class ContactSignals:
    """What the people the handle wrote to first did, over the contact window."""

    new_contacts: int = 0  # people it wrote to first in the window
    opted_out: int = 0  # keyword opt-outs (STOP…) said to this handle in the window
    settled: int = 0  # new contacts written to longer ago than the grace period
    unanswered: int = 0  # of those, how many never wrote back


@dataclass(frozen=True)
class Thresholds:
    """A signal's value from which the handle is at risk, and critical."""

    at_risk: float
    critical: float


@dataclass(frozen=True)
class Rules:
    outcomes: int
    min_outcomes: int
    min_contacts: int
    window: timedelta
    grace: timedelta
    failure_rate: Thresholds
    not_registered_rate: Thresholds
    device_errors: Thresholds
    opt_out_rate: Thresholds
    unanswered_rate: Thresholds

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Rules:
        """Rules from the `SWITCHBOARD_LINE_HEALTH` setting's shape (config/settings/base.py)."""

        def pair(name: str) -> Thresholds:
            at_risk, critical = config[name]
            return Thresholds(float(at_risk), float(critical))

        return cls(
            outcomes=int(config["outcomes"]),
            min_outcomes=int(config["min_outcomes"]),
            min_contacts=int(config["min_contacts"]),
            window=timedelta(hours=float(config["contact_window_hours"])),
            grace=timedelta(hours=float(config["unanswered_grace_hours"])),
            failure_rate=pair("failure_rate"),
            not_registered_rate=pair("not_registered_rate"),
            device_errors=pair("device_errors"),
            opt_out_rate=pair("opt_out_rate"),
            unanswered_rate=pair("unanswered_rate"),
        )


@dataclass(frozen=True)
class Assessment:
    health: str
    reasons: list[dict[str, Any]]


def _percent(value: float) -> str:
    return f"{value * 100:.1f}".removesuffix(".0") + "%"


def _reason(
    code: str,
    value: float,
    thresholds: Thresholds,
    describe: Callable[[str], str],
    show: Callable[[float], str] = _percent,
) -> dict[str, Any] | None:
    """The reason `code` gives at `value`, or None below its at-risk threshold."""
    if value >= thresholds.critical:
        level, threshold = CRITICAL, thresholds.critical
    elif value >= thresholds.at_risk:
        level, threshold = AT_RISK, thresholds.at_risk
    else:
        return None
    limit = "critical" if level == CRITICAL else "at risk"
    return {
        "code": code,
        "level": level,
        "value": round(value, 4),
        "threshold": threshold,
        "message": f"{describe(show(value))} ({limit} from {show(threshold)}).",
    }


def _count(value: float) -> str:
    return f"{value:g}"


def health_assess(
    outcomes: Sequence[Outcome], contacts: ContactSignals, rules: Rules
) -> Assessment:
    """The handle's state and reasons from its last outcomes (newest first, at most
    `rules.outcomes` are read) and what its new contacts did."""
    recent = list(outcomes[: rules.outcomes])
    found: list[dict[str, Any] | None] = []
    if len(recent) >= rules.min_outcomes:
        failed = sum(outcome.failed for outcome in recent)
        found.append(
            _reason(
                "failure_rate",
                failed / len(recent),
                rules.failure_rate,
                lambda shown: f"{shown} of the last {len(recent)} sends failed",
            )
        )
        tried = [outcome for outcome in recent if outcome.imessage]
        if len(tried) >= rules.min_outcomes:
            missing = sum(outcome.not_registered for outcome in tried)
            found.append(
                _reason(
                    "not_registered_rate",
                    missing / len(tried),
                    rules.not_registered_rate,
                    lambda shown: (
                        f"{shown} of the last {len(tried)} iMessage recipients are not on iMessage"
                    ),
                )
            )
    streak = 0
    for outcome in recent:
        if not outcome.failed:
            break
        streak += 1
    found.append(
        _reason(
            "device_errors",
            streak,
            rules.device_errors,
            lambda shown: f"The device reported the last {shown} sends failed, in a row",
            show=_count,
        )
    )
    if contacts.new_contacts >= rules.min_contacts:
        found.append(
            _reason(
                "opt_out_rate",
                min(1.0, contacts.opted_out / contacts.new_contacts),
                rules.opt_out_rate,
                lambda shown: (
                    f"{contacts.opted_out} opt-outs for {contacts.new_contacts} new "
                    f"contacts ({shown})"
                ),
            )
        )
    if contacts.settled >= rules.min_contacts:
        found.append(
            _reason(
                "unanswered_rate",
                contacts.unanswered / contacts.settled,
                rules.unanswered_rate,
                lambda shown: f"{shown} of {contacts.settled} new contacts never replied",
            )
        )
    reasons = sorted(
        (reason for reason in found if reason is not None),
        key=lambda reason: -_SEVERITY[reason["level"]],
    )
    levels = [reason["level"] for reason in reasons]
    health = max(levels, key=_SEVERITY.__getitem__, default=HEALTHY)
    return Assessment(health=health, reasons=reasons)
