"""The model gateway: every call, good or failed, leaves one `model_call` audit event."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest
from fake_openai_server import FakeOpenAIServer, Reply
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from bpa.config import Settings
from bpa.errors import ModelError
from bpa.models import (
    Classification,
    ClassifyTask,
    Extraction,
    ExtractTask,
    GenerateTask,
    ModelGateway,
    PromptLibrary,
)
from bpa.models.offline import OfflineBackend
from bpa.models.openai_backend import OpenAIBackend

SettingsFactory = Callable[..., Settings]
LABELS = ("invoice", "receipt", "other")
DOCUMENT = "ACME GmbH\nInvoice no. INV-7\nTotal EUR 119.00"


class Invoice(BaseModel):
    number: str
    total: float | None = None


@dataclass
class Event:
    kind: str
    payload: dict[str, Any]
    node: str | None
    duration_ms: float | None


class ListSink:
    """An audit sink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        node: str | None = None,
        duration_ms: float | None = None,
    ) -> None:
        self.events.append(Event(kind, dict(payload), node, duration_ms))


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def gateway(openai_settings: SettingsFactory, sink: ListSink) -> ModelGateway:
    return ModelGateway(OpenAIBackend(openai_settings(model_max_retries=1)), sink)


def sha16(prompts: PromptLibrary, name: str) -> str:
    return hashlib.sha256((prompts.directory / name).read_bytes()).hexdigest()[:16]


async def test_an_extraction_is_one_audited_call(
    openai_server: FakeOpenAIServer, gateway: ModelGateway, sink: ListSink, prompts: PromptLibrary
) -> None:
    answer = {"data": {"number": "INV-7", "total": 119.0}, "confidence": 0.93}
    openai_server.reply(
        Reply.slow(0.05, then=Reply.structured(answer, prompt_tokens=321, completion_tokens=54))
    )
    task = ExtractTask(name="invoice_fields", schema=Invoice, prompts=prompts, prompt="extract.j2")

    extraction = await gateway.extract(task, text=DOCUMENT, company="Globex")

    assert extraction.value.number == "INV-7"
    [event] = sink.events
    assert event.kind == "model_call"
    assert event.payload == {
        "task": "extract",
        "name": "invoice_fields",
        "backend": "openai",
        "model": "fake-model",
        "input_chars": len(DOCUMENT),
        "ok": True,
        "template": "extract.j2",
        "template_sha256": sha16(prompts, "extract.j2"),
        "input_tokens": 321,
        "output_tokens": 54,
        "confidence": pytest.approx(0.93),
    }
    assert event.duration_ms is not None and 50 <= event.duration_ms < 5000
    assert event.node is None  # called outside a graph


async def test_a_classification_records_its_label(
    openai_server: FakeOpenAIServer, gateway: ModelGateway, sink: ListSink, prompts: PromptLibrary
) -> None:
    openai_server.reply(Reply.structured({"label": "receipt", "confidence": 0.6}))
    task = ClassifyTask(name="doc_type", labels=LABELS, prompts=prompts, prompt="classify.j2")

    result = await gateway.classify(task, text=DOCUMENT)

    assert result.label == "receipt"
    [event] = sink.events
    assert event.payload["label"] == "receipt"
    assert event.payload["confidence"] == pytest.approx(0.6)
    assert event.payload["template_sha256"] == sha16(prompts, "classify.j2")


async def test_tokens_of_every_attempt_are_counted(
    openai_server: FakeOpenAIServer, gateway: ModelGateway, sink: ListSink, prompts: PromptLibrary
) -> None:
    openai_server.reply(
        Reply.structured({"label": "memo", "confidence": 0.6}, prompt_tokens=50),
        Reply.structured({"label": "other", "confidence": 0.6}, prompt_tokens=50),
    )
    task = ClassifyTask(name="doc_type", labels=LABELS, prompts=prompts, prompt="classify.j2")

    await gateway.classify(task, text=DOCUMENT)

    [event] = sink.events
    assert (event.payload["input_tokens"], event.payload["output_tokens"]) == (100, 16)


async def test_a_generation_is_audited_without_input_chars(
    openai_server: FakeOpenAIServer, gateway: ModelGateway, sink: ListSink, prompts: PromptLibrary
) -> None:
    openai_server.reply(Reply.text("Dear Ms Lee, done.", completion_tokens=6))
    task = GenerateTask(name="reply", prompts=prompts, prompt="reply.j2")

    generation = await gateway.generate(task, customer="Ms Lee", topic="a refund")

    assert generation.text == "Dear Ms Lee, done."
    [event] = sink.events
    assert event.payload["task"] == "generate"
    assert event.payload["input_chars"] is None
    assert event.payload["output_tokens"] == 6
    assert event.payload["confidence"] is None


async def test_a_failed_call_is_audited_and_raises_a_model_error(
    openai_server: FakeOpenAIServer, gateway: ModelGateway, sink: ListSink, prompts: PromptLibrary
) -> None:
    openai_server.reply(Reply.structured("{oops"), Reply.structured("{oops"))
    task = ExtractTask(name="invoice_fields", schema=Invoice, prompts=prompts, prompt="extract.j2")

    with pytest.raises(ModelError, match="Invoice"):
        await gateway.extract(task, text=DOCUMENT, company="Globex")

    [event] = sink.events
    assert event.payload["ok"] is False
    assert event.payload["error"].startswith("ModelError:")
    assert "2 attempts" in event.payload["error"]
    assert event.payload["backend"] == "openai"
    assert event.duration_ms is not None


# -- with the offline backend -----------------------------------------------------------


class FixedClassifier:
    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, text: str) -> Classification:
        return Classification(label=self.label, confidence=0.99)


def offline_task(prompts: PromptLibrary, label: str) -> ClassifyTask:
    return ClassifyTask(
        name="doc_type",
        labels=LABELS,
        prompts=prompts,
        prompt="classify.j2",
        offline=lambda _cache_dir: FixedClassifier(label),
    )


async def test_a_label_outside_the_set_is_a_failed_call(
    sink: ListSink, prompts: PromptLibrary
) -> None:
    gateway = ModelGateway(OfflineBackend(), sink)

    with pytest.raises(ModelError, match="'memo' is not one of"):
        await gateway.classify(offline_task(prompts, "memo"), text=DOCUMENT)

    [event] = sink.events
    assert event.payload["ok"] is False
    assert "label" not in event.payload


async def test_an_unexpected_backend_error_becomes_a_model_error(
    sink: ListSink, prompts: PromptLibrary
) -> None:
    def broken_parser(text: str) -> Extraction[Invoice]:
        raise ValueError("no total found")

    task = ExtractTask(
        name="invoice_fields",
        schema=Invoice,
        prompts=prompts,
        prompt="extract.j2",
        offline=broken_parser,
    )
    gateway = ModelGateway(OfflineBackend(), sink)

    with pytest.raises(ModelError, match="extract invoice_fields failed on offline"):
        await gateway.extract(task, text=DOCUMENT)

    [event] = sink.events
    assert event.payload["error"] == "ValueError: no total found"
    assert event.payload["model"] == "offline-baseline"


async def test_the_event_names_the_graph_node_that_made_the_call(
    sink: ListSink, prompts: PromptLibrary
) -> None:
    gateway = ModelGateway(OfflineBackend(), sink)
    task = offline_task(prompts, "invoice")

    class State(TypedDict, total=False):
        text: str
        label: str

    async def classify_document(state: State) -> dict[str, str]:
        result = await gateway.classify(task, text=state["text"])
        return {"label": result.label}

    graph = StateGraph(State)
    graph.add_node("classify_document", classify_document)
    graph.add_edge(START, "classify_document")
    graph.add_edge("classify_document", END)

    out = await graph.compile().ainvoke({"text": DOCUMENT})

    assert out["label"] == "invoice"
    [event] = sink.events
    assert event.node == "classify_document"
    assert event.payload["template"] is None  # the offline classifier uses no prompt


async def test_bind_sends_events_to_the_run_sink_only(prompts: PromptLibrary) -> None:
    first, second = ListSink(), ListSink()
    shared = ModelGateway(OfflineBackend())
    task = offline_task(prompts, "other")

    await shared.classify(task, text=DOCUMENT)  # no sink: nothing to record, nothing fails
    await shared.bind(first).classify(task, text=DOCUMENT)
    await shared.bind(second).classify(task, text=DOCUMENT)

    assert (len(first.events), len(second.events)) == (1, 1)
    assert shared.sink is None
