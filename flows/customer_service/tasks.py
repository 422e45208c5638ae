"""The model tasks of the customer-service flow: intent, entities and the reply."""

from __future__ import annotations

from pathlib import Path

from bpa.models import ClassifyTask, ExtractTask, GenerateTask, PromptLibrary
from bpa.models.offline.classifier import TextClassifier
from flows.customer_service.entities import MessageEntities, parse_message
from flows.customer_service.intents import INTENTS

__all__ = ["ENTITIES", "INTENT", "PROMPTS", "REPLIES", "TRAINING_FILE", "prepare_intent_model"]

PROMPTS = PromptLibrary.beside(__file__)
TRAINING_FILE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "customer_service" / "intents_train.jsonl"
)
#: The reply templates, one per outcome of the policy (prompts/<outcome>.offline.j2).
OUTCOMES = ("act", "confirm", "clarify", "inform", "human", "refuse")


def prepare_intent_model(cache_dir: Path | None = None) -> TextClassifier:
    """The offline intent classifier: trained once per process, and kept under `cache_dir`
    (the suite's home) keyed by the training file's hash, so `bpa run` does not retrain."""
    if not TRAINING_FILE.exists():
        raise FileNotFoundError(
            f"training data for the offline intent classifier is missing: {TRAINING_FILE}; "
            "run `python fixtures/customer_service/make_subset.py`"
        )
    return TextClassifier.cached(TRAINING_FILE, cache_dir)


INTENT = ClassifyTask(
    name="customer_intent",
    labels=INTENTS,
    prompts=PROMPTS,
    prompt="classify_intent.j2",
    offline=prepare_intent_model,
    description="What a customer wants from customer service.",
)

ENTITIES = ExtractTask(
    name="customer_message_entities",
    schema=MessageEntities,
    prompts=PROMPTS,
    prompt="extract_entities.j2",
    offline=parse_message,
    description="Order ids, identity, reasons and confirmations in a customer message.",
)

REPLIES: dict[str, GenerateTask] = {
    outcome: GenerateTask(
        name=f"customer_reply_{outcome}",
        prompts=PROMPTS,
        prompt="reply.j2",
        offline_template=f"{outcome}.offline.j2",
        description="The answer to the customer, from the facts of the run only.",
        max_chars=8000,
    )
    for outcome in OUTCOMES
}
