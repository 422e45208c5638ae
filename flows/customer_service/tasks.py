"""The model tasks of the customer-service flow: intent, entities and the reply."""

from __future__ import annotations

from pathlib import Path

from bpa.models import ClassifyTask, ExtractTask, GenerateTask, PromptLibrary
from bpa.models.offline.classifier import trained_from
from flows.customer_service.entities import MessageEntities, parse_message
from flows.customer_service.intents import INTENTS

__all__ = [
    "ENTITIES",
    "INTENT",
    "PROMPTS",
    "REPLIES",
    "TRAINING_FILE",
]

PROMPTS = PromptLibrary.beside(__file__)
TRAINING_FILE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "customer_service" / "intents_train.jsonl"
)
#: The reply templates, one per outcome of the policy (prompts/<outcome>.offline.j2).
OUTCOMES = ("act", "confirm", "clarify", "inform", "human", "refuse")


INTENT = ClassifyTask(
    name="customer_intent",
    labels=INTENTS,
    prompts=PROMPTS,
    prompt="classify_intent.j2",
    offline=trained_from(TRAINING_FILE, remake="python fixtures/customer_service/make_subset.py"),
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
