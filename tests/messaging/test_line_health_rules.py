"""The line-health rules as a pure function: outcomes and contact signals in, state and
reasons out (messaging.services.line_health.rules)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from messaging.services.line_health.rules import (
    ContactSignals,
    Outcome,
    Rules,
    Thresholds,
    health_assess,
)

RULES = Rules(
    outcomes=10,
    min_outcomes=5,
    min_contacts=10,
    window=timedelta(days=7),
    grace=timedelta(hours=24),
    failure_rate=Thresholds(0.2, 0.5),
    not_registered_rate=Thresholds(0.3, 0.6),
    device_errors=Thresholds(3, 6),
    opt_out_rate=Thresholds(0.02, 0.05),
    unanswered_rate=Thresholds(0.8, 0.95),
)
OK = Outcome(failed=False)
FAILED = Outcome(failed=True)
NO_CONTACTS = ContactSignals()


def codes(assessment):
    return [(reason["code"], reason["level"]) for reason in assessment.reasons]


def test_a_handle_with_only_successes_is_healthy_with_no_reasons():
    assessment = health_assess([OK] * 10, NO_CONTACTS, RULES)
    assert (assessment.health, assessment.reasons) == ("healthy", [])


def test_a_failure_rate_past_the_at_risk_threshold_puts_the_handle_at_risk():
    outcomes = [OK, FAILED, OK, OK, FAILED, OK, OK, FAILED, OK, OK]  # 30%
    assessment = health_assess(outcomes, NO_CONTACTS, RULES)
    assert assessment.health == "at_risk"
    assert assessment.reasons == [
        {
            "code": "failure_rate",
            "level": "at_risk",
            "value": 0.3,
            "threshold": 0.2,
            "message": "30% of the last 10 sends failed (at risk from 20%).",
        }
    ]


def test_a_failure_rate_at_the_critical_threshold_is_critical():
    outcomes = [OK, FAILED] * 5
    assessment = health_assess(outcomes, NO_CONTACTS, RULES)
    assert assessment.health == "critical"
    assert codes(assessment) == [("failure_rate", "critical")]


def test_only_the_last_n_outcomes_count():
    # Ten successes, then (older) ten failures: the old failures are past N.
    assessment = health_assess([OK] * 10 + [FAILED] * 10, NO_CONTACTS, RULES)
    assert assessment.health == "healthy"


def test_rates_are_not_judged_on_fewer_outcomes_than_the_minimum():
    assessment = health_assess([OK, FAILED], NO_CONTACTS, RULES)
    assert assessment.health == "healthy"


def test_failed_sends_in_a_row_are_device_errors_even_before_the_minimum_sample():
    assessment = health_assess([FAILED] * 3, NO_CONTACTS, RULES)
    assert codes(assessment) == [("device_errors", "at_risk")]
    assert assessment.reasons[0]["message"] == (
        "The device reported the last 3 sends failed, in a row (at risk from 3)."
    )


def test_a_success_ends_the_streak_of_device_errors():
    assessment = health_assess([OK] + [FAILED] * 4, NO_CONTACTS, RULES)
    # Four of five failed (a failure rate), but the newest went out: no streak.
    assert codes(assessment) == [("failure_rate", "critical")]


def test_not_registered_rate_counts_only_imessage_attempts():
    tried = [Outcome(failed=False, imessage=True, not_registered=True)] * 4 + [
        Outcome(failed=False, imessage=True)
    ] * 2
    sms = [OK] * 4
    assessment = health_assess(tried + sms, NO_CONTACTS, RULES)
    # 4 of 6 iMessage attempts (67%), though only 4 of 10 outcomes.
    assert codes(assessment) == [("not_registered_rate", "critical")]
    assert assessment.reasons[0]["value"] == pytest.approx(0.6667)


def test_the_worst_level_wins_and_critical_reasons_come_first():
    outcomes = [FAILED] * 6 + [OK] * 4  # 60% failed, six in a row
    contacts = ContactSignals(new_contacts=20, opted_out=1)  # 5%: critical
    assessment = health_assess(outcomes, contacts, RULES)
    assert assessment.health == "critical"
    assert codes(assessment) == [
        ("failure_rate", "critical"),
        ("device_errors", "critical"),
        ("opt_out_rate", "critical"),
    ]


def test_opt_outs_are_a_rate_of_new_contacts():
    contacts = ContactSignals(new_contacts=50, opted_out=2)  # 4%
    assessment = health_assess([], contacts, RULES)
    assert codes(assessment) == [("opt_out_rate", "at_risk")]
    assert assessment.reasons[0]["message"] == (
        "2 opt-outs for 50 new contacts (4%) (at risk from 2%)."
    )


def test_opt_outs_are_not_judged_on_too_few_new_contacts():
    assessment = health_assess([], ContactSignals(new_contacts=5, opted_out=3), RULES)
    assert assessment.health == "healthy"


def test_new_contacts_that_never_replied_past_the_grace_period_are_the_unanswered_ratio():
    contacts = ContactSignals(new_contacts=30, settled=20, unanswered=17)  # 85%
    assessment = health_assess([OK] * 10, contacts, RULES)
    assert codes(assessment) == [("unanswered_rate", "at_risk")]


def test_rules_read_the_settings_shape():
    rules = Rules.of(
        {
            "outcomes": 100,
            "min_outcomes": 20,
            "min_contacts": 20,
            "contact_window_hours": 168,
            "unanswered_grace_hours": 24,
            "failure_rate": [0.08, 0.125],
            "not_registered_rate": [0.3, 0.5],
            "device_errors": [5, 10],
            "opt_out_rate": [0.02, 0.03],
            "unanswered_rate": [0.85, 0.95],
        }
    )
    assert rules.window == timedelta(days=7)
    assert rules.failure_rate == Thresholds(0.08, 0.125)
