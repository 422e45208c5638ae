"""`bpa approve`: the answer a person types, checked against the question the run asks.

Each mistake is one line that says what the run accepts: an action the question does not
offer, a field it cannot correct (with the fields it can), a value of the wrong type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bpa.errors import InvalidDecision, RunStateError

if TYPE_CHECKING:
    from bpa.runs.store import RunStore

__all__ = ["check_answer", "explain_refusal", "parse_corrections"]

_OPTION = {"approve": "", "reject": " --reject", "correct": " --correct FIELD=VALUE"}
_PAST = {"approve": "approved", "reject": "rejected", "correct": "corrected"}


def parse_corrections(items: list[str]) -> dict[str, str]:
    """`--correct FIELD=VALUE` options as a dict; `InvalidDecision` for one without `=`."""
    corrections: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidDecision(
                f"--correct takes FIELD=VALUE (e.g. --correct total=120.50), got {item!r}"
            )
        corrections[name.strip()] = value.strip()
    return corrections


def check_answer(store: RunStore, run_id: str, action: str, corrections: dict[str, Any]) -> None:
    """Refuse an answer the run's open question does not take, before it is recorded."""
    run = store.get(run_id)
    approval = store.pending_approval(run_id)
    if approval is None:
        raise RunStateError(f"run {run_id} is {run.status}, not waiting for a decision")
    question = approval.question
    actions: list[str] = list(question.get("actions") or ["approve", "reject"])
    if action not in actions:
        first, *others = [_OPTION[a] for a in actions if a in _OPTION]
        how = ", or ".join([f"bpa approve {run_id}{first}", *(o.strip() for o in others)])
        raise InvalidDecision(
            f"run {run_id} cannot be {_PAST[action]}: its question takes "
            f"{' or '.join(actions)} ({how})"
        )
    editable: list[str] = list(question.get("editable_fields") or [])
    unknown = [name for name in corrections if name not in editable]
    if unknown:
        name = unknown[0]
        raise InvalidDecision(
            f"--correct {name}={corrections[name]}: unknown field {name!r}; fields you can "
            f"correct: {', '.join(editable) or 'none'}"
        )


def explain_refusal(exc: InvalidDecision, corrections: dict[str, Any]) -> str:
    """The runner's refusal of an answer, as one line about the option that caused it."""
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return str(exc)
    problems = []
    for error in cause.errors(include_url=False):
        loc = [str(p) for p in error["loc"]]
        if len(loc) >= 2 and loc[0] == "corrections" and loc[1] in corrections:
            where = f"--correct {loc[1]}={corrections[loc[1]]}"
        else:
            where = ".".join(loc) or "answer"
        problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)
