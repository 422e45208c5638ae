"""Answers to a run's question: corrections name fields the question lets a human change."""

from __future__ import annotations

import pytest

from bpa.errors import InvalidDecision
from bpa.review import ReviewDecision, ReviewQuestion

QUESTION = ReviewQuestion(
    kind="invoice_approval",
    title="check it",
    reasons=["total mismatch"],
    actions=["approve", "reject", "correct"],
    editable_fields=["total", "due_date"],
)


def test_an_unknown_field_is_named_with_the_fields_that_can_be_corrected() -> None:
    answer = ReviewDecision(action="correct", corrections={"nosuchfield": 3, "total": "9"})
    with pytest.raises(InvalidDecision) as refused:
        answer.check_answers(QUESTION)
    assert str(refused.value) == (
        "corrections: unknown field 'nosuchfield'; fields you can correct: total, due_date"
    )


def test_known_fields_pass_and_an_empty_correction_is_refused() -> None:
    ReviewDecision(action="correct", corrections={"total": "9"}).check_answers(QUESTION)
    with pytest.raises(InvalidDecision, match="at least one corrected field"):
        ReviewDecision(action="correct").check_answers(QUESTION)
