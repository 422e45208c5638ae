"""The everyday-wording intent set: kept apart from training, and read well enough."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flows.customer_service.intents import INTENTS
from flows.customer_service.tasks import INTENT, TRAINING_FILE

HERE = TRAINING_FILE.parent
TRAIN = HERE / "intents_everyday_train.jsonl"
EVAL = HERE / "intents_everyday_eval.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def subset() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cs_make_subset", HERE / "make_subset.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_set_is_large_labelled_with_the_flows_intents_and_split_by_the_fixed_rule(
    subset: ModuleType,
) -> None:
    train, held_out = _rows(TRAIN), _rows(EVAL)
    assert len(train) + len(held_out) >= 200 and len(held_out) >= 100
    assert {r["label"] for r in train + held_out} == set(INTENTS)
    assert all(subset.is_training_row(r["text"]) for r in train)
    assert not any(subset.is_training_row(r["text"]) for r in held_out)
    assert not any("#W" in r["text"] for r in train + held_out)  # written without ids


def test_evaluation_messages_are_never_trained_on(subset: ModuleType) -> None:
    trained = [json.loads(line) for line in TRAINING_FILE.read_text().splitlines() if line]
    seen = {subset.normalise(r["text"]) for r in trained}
    assert not [r["text"] for r in _rows(EVAL) if subset.normalise(r["text"]) in seen]
    everyday = [r for r in trained if r["source"] == "everyday"]
    assert [(r["text"], r["label"]) for r in everyday] == [
        (r["text"], r["label"]) for r in _rows(TRAIN)
    ], "intents_train.jsonl is stale: run fixtures/customer_service/make_subset.py"


def test_everyday_wording_is_read_as_meant() -> None:
    classifier = INTENT.offline(None)
    held_out = _rows(EVAL)
    right = sum(classifier.predict(r["text"]).label == r["label"] for r in held_out)
    assert right / len(held_out) >= 0.9
