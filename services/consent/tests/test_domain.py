"""Consent rules without I/O (DOM-10)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gjeld_consent import domain
from gjeld_consent.domain import Consent, Scope, State, Use

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def consent(**changes: object) -> Consent:
    base = Consent(uuid.uuid4(), "911222333", Scope.PROCESSING, NOW, NOW + timedelta(days=1), None)
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_default_terms_are_one_use_within_ten_minutes() -> None:
    terms, problems = domain.terms(Scope.PROCESSING, None, None, NOW)
    assert problems == [] and terms == domain.Terms(NOW + timedelta(minutes=10), 1)


def test_longest_validity_per_scope() -> None:
    assert domain.terms(Scope.PROCESSING, timedelta(days=28), None, NOW)[1] == []
    assert domain.terms(Scope.PROCESSING, timedelta(days=28, seconds=1), None, NOW)[1][0][0] == "validity"
    assert domain.terms(Scope.PRESENTATION, timedelta(days=365), None, NOW)[1] == []
    assert domain.terms(Scope.PRESENTATION, timedelta(days=366), None, NOW)[1][0][0] == "validity"
    assert domain.terms(Scope.PROCESSING, None, 0, NOW)[1] == [("max_uses", "must be at least 1")]


def test_states() -> None:
    assert consent().state(NOW) is State.ACTIVE
    assert consent().state(NOW + timedelta(days=1)) is State.EXPIRED
    assert consent(withdraw_time=NOW).state(NOW) is State.WITHDRAWN
    assert consent(max_uses=1, uses=[Use(NOW, "d")], use_count=1).state(NOW) is State.USED_UP


def test_the_newest_active_consent_is_chosen_else_the_newest_ones_reason() -> None:
    old_active, new_withdrawn = consent(), consent(withdraw_time=NOW)
    assert domain.choose([new_withdrawn, old_active], NOW) == (old_active, "")
    assert domain.choose([new_withdrawn], NOW) == (None, "CONSENT_WITHDRAWN")
    assert domain.choose([], NOW) == (None, "CONSENT_NOT_FOUND")
    assert domain.choose([consent()], NOW + timedelta(days=2)) == (None, "CONSENT_EXPIRED")
