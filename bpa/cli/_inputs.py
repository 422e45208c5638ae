"""Flow inputs from files, for `bpa run` and `bpa batch`: checked before any run is recorded.

An input that does not fit its flow is an `InvalidInput` whose message is one line naming
the file and what to fix (`with_suite` prints it and exits with 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bpa.errors import InvalidInput
from bpa.explain import explain_input

if TYPE_CHECKING:
    from bpa.documents import DocumentStore
    from bpa.flows import Flow
    from bpa.runs.runner import Runner

__all__ = ["checked_inputs", "read_input"]


def read_input(flow: Flow, path: Path | None, documents: DocumentStore) -> dict[str, Any]:
    """The run input in `path`; none given is the flow's defaults, unless it reads files."""
    if path is None:
        if flow.load_input is not None:
            raise InvalidInput(
                f"{flow.name} needs an input file: bpa run {flow.name} --input FILE "
                f"({', '.join(flow.input_suffixes)})"
            )
        return {}
    try:
        return flow.input_from_file(path, documents)
    except ValidationError as exc:
        raise InvalidInput(explain_input(exc, flow.input_model, path.name)) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text; save it as UTF-8 JSON") from None


def checked_inputs(
    runner: Runner, flow: Flow, files: list[Path], documents: DocumentStore
) -> list[dict[str, Any]]:
    """Every file's input, each checked as the runner will check it; one bad file refuses
    the whole batch (nothing is run), like a batch sent to the API."""
    payloads: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in files:
        try:
            payload = read_input(flow, path, documents)
            runner.prepare(flow.name, payload)
        except InvalidInput as exc:
            problems.append(str(exc) if path.name in str(exc) else f"{path.name}: {exc}")
            continue
        payloads.append(payload)
    if problems:
        raise InvalidInput(
            f"{len(problems)} of {len(files)} inputs do not fit {flow.name}, so none was run; "
            f"first: {problems[0]}"
        )
    return payloads
