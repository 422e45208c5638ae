"""The typed question a waiting run asks, and the typed decision that resumes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from bpa.errors import InvalidDecision

__all__ = ["ReviewAction", "ReviewDecision", "ReviewQuestion"]

ReviewAction = Literal["approve", "reject", "correct"]


_DEFAULT_ACTIONS: list[ReviewAction] = ["approve", "reject"]


class ReviewQuestion(BaseModel):
    """What a human is asked. Flows pass `question.model_dump(mode="json")` to `interrupt`."""

    kind: str = Field(description="What is being reviewed, e.g. invoice_approval")
    title: str
    reasons: list[str] = Field(description="Why a human is asked (issues, thresholds)")
    details: dict[str, Any] = Field(default_factory=dict, description="What the flow found")
    actions: list[ReviewAction] = Field(default_factory=lambda: _DEFAULT_ACTIONS.copy())
    editable_fields: list[str] = Field(
        default_factory=list, description="Fields a `correct` decision may change"
    )

    def check_fields(self, corrections: Mapping[str, Any]) -> None:
        """`InvalidDecision` naming the first field of `corrections` this question does not
        let a human change, and the ones it does."""
        unknown = sorted(set(corrections) - set(self.editable_fields))
        if unknown:
            raise InvalidDecision(
                f"corrections: unknown field {unknown[0]!r}; fields you can correct: "
                f"{', '.join(self.editable_fields) or 'none'}"
            )


class ReviewDecision(BaseModel):
    """A human's answer. Flows subclass it to type `corrections`."""

    action: ReviewAction
    comment: str | None = Field(default=None, max_length=4000)
    corrections: dict[str, Any] = Field(default_factory=dict)
    decided_by: str | None = None

    def check_answers(self, question: ReviewQuestion) -> None:
        if self.action not in question.actions:
            raise InvalidDecision(
                f"{self.action!r} is not possible here; the run accepts {question.actions}"
            )
        if self.action == "correct":
            fields = (
                self.corrections.model_dump(exclude_unset=True)
                if isinstance(self.corrections, BaseModel)
                else self.corrections
            )
            if not fields:
                raise InvalidDecision("a `correct` decision needs at least one corrected field")
            question.check_fields(fields)
        elif self.corrections and (
            not isinstance(self.corrections, BaseModel)
            or self.corrections.model_dump(exclude_unset=True)
        ):
            raise InvalidDecision("corrections are only accepted with action `correct`")
