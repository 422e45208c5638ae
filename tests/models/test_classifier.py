"""The offline text classifier: learns from examples, answers fast, reports how good it is."""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path

import pytest
from sklearn.model_selection import train_test_split

from bpa.errors import ModelError
from bpa.models import ClassifyTask, ModelGateway, PromptLibrary
from bpa.models.offline import OfflineBackend
from bpa.models.offline.classifier import TextClassifier, read_examples

DOC_TYPES = Path(__file__).resolve().parents[2] / "fixtures" / "doc_types" / "examples.jsonl"

EXAMPLES: dict[str, list[str]] = {
    "invoice": [
        "INVOICE No. 2024-118 Date 03.04.2024 Amount due EUR 1,190.00 payable within 30 days",
        "Tax invoice INV-5521 subtotal 400.00 VAT 20% 80.00 total due 480.00",
        "Rechnung Nr. 7781 Rechnungsdatum 12.01.2024 Gesamtbetrag 238,00 EUR",
        "Invoice number 0042 please pay the balance due to IBAN DE89 3704 0044 0532 0130 00",
        "Facture n° F-2024-07 montant TTC 360,00 EUR échéance 15/02/2024",
        "Commercial invoice 88/2024 for consulting services, payment terms net 14",
        "Your invoice from Globex Ltd: invoice date 2 May 2024, due date 1 June 2024",
        "INVOICE bill to ACME Corp, invoice # 9931, amount payable USD 5,400.00",
    ],
    "credit_note": [
        "CREDIT NOTE No. CN-102 refers to invoice 2024-118, amount credited EUR -190.00",
        "Gutschrift Nr. 55 zur Rechnung 7781, Gutschriftsbetrag 38,00 EUR",
        "Credit memo for returned goods, credit amount 120.00 will be offset",
        "Avoir n° A-12 annule partiellement la facture F-2024-07, montant -60,00",
        "Credit note CN-7: we credit your account with 45.00 for the damaged items",
        "CREDIT NOTE issued against invoice INV-5521, total credit 80.00 incl. VAT",
        "Credit note for price correction, credited amount 15.50 GBP",
        "Credit memo CM-3301 refund of overbilling on invoice 9931",
    ],
    "receipt": [
        "RECEIPT thank you for shopping with us, paid by VISA ****1234, change 0.00",
        "Cash receipt: 2 coffee 1 croissant total 7.40 paid cash 10.00 change 2.60",
        "Kassenbon Summe 12,99 EUR bar gegeben 20,00 Rückgeld 7,01 Danke für Ihren Einkauf",
        "Payment receipt: we have received your payment of 480.00 on 05/04/2024",
        "Store receipt #0091 cashier Anna, items 3, total paid 23.10 by card",
        "Ticket de caisse total 18,50 EUR payé par carte merci de votre visite",
        "Receipt for parking 2 hours 4.00 paid contactless, keep this ticket",
        "Thank you! Your card was charged 59.99. This is your receipt, order 7731",
    ],
    "purchase_order": [
        "PURCHASE ORDER PO-4471 please deliver 200 units of item A-12 by 30 April",
        "Bestellung Nr. B-2024-33 wir bestellen hiermit 50 Stück Artikel 4711",
        "Purchase order number 88120, ship to our warehouse, quote the PO on your invoice",
        "Bon de commande n° BC-901 veuillez livrer 10 cartons de papier A4",
        "PO 55-231 order for 3 laptops, delivery address Main Street 5, requested date May 3",
        "Purchase Order: buyer Globex, supplier ACME, order date 2024-02-01, qty 12",
        "Please accept this purchase order for office chairs, 24 pieces, PO ref 7731-B",
        "ORDER CONFIRMATION REQUESTED for purchase order PO-9902, 500 kg steel",
    ],
    "letter": [
        "Dear Mr Smith, thank you for your letter of 3 March. We are pleased to inform you",
        "Dear customer, we would like to inform you about our new office address from June",
        "Sehr geehrte Damen und Herren, hiermit kündigen wir den Vertrag fristgerecht",
        "Madame, Monsieur, nous vous remercions de votre courrier du 12 février",
        "Dear Ms Lee, following our meeting last week I am writing to confirm the agenda",
        "To whom it may concern, this letter confirms that Jane Doe is employed with us",
        "Dear partners, we are delighted to announce our merger with Initech. Kind regards",
        "Dear Sir or Madam, please find our comments on the proposed schedule below. Yours",
    ],
}

#: New phrasings, none of them in the examples above.
UNSEEN = [
    ("Invoice INV-9001, total amount due 2,300.00 EUR, due in 30 days", "invoice"),
    ("Credit note CN-88 crediting invoice INV-9001 for 300.00", "credit_note"),
    ("Receipt: paid by card, total 14.20, thank you for your visit", "receipt"),
    ("Purchase order PO-7310: please deliver 40 units by Friday", "purchase_order"),
    ("Dear Mr Brown, thank you for your kind letter. Yours sincerely", "letter"),
    ("lnvoice no. 77 amount due 99.00", "invoice"),  # OCR: a lowercase L for the I
]


def flat(examples: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    pairs = [(text, label) for label, texts in examples.items() for text in texts]
    return [t for t, _ in pairs], [lbl for _, lbl in pairs]


@pytest.fixture(scope="module")
def classifier() -> TextClassifier:
    texts, labels = flat(EXAMPLES)
    return TextClassifier.train(texts, labels)


@pytest.mark.parametrize(("text", "label"), UNSEEN)
def test_it_labels_new_phrasings(classifier: TextClassifier, text: str, label: str) -> None:
    assert classifier.predict(text).label == label


def test_a_classification_has_a_confidence_and_a_score_per_label(
    classifier: TextClassifier,
) -> None:
    result = classifier.predict("Credit note CN-88 crediting invoice INV-9001")

    assert set(result.scores) == set(EXAMPLES)
    assert sum(result.scores.values()) == pytest.approx(1.0)
    assert result.confidence == max(result.scores.values()) == result.scores[result.label]
    assert classifier.labels == tuple(sorted(EXAMPLES))


def test_it_is_surer_of_a_clear_text_than_of_a_vague_one(classifier: TextClassifier) -> None:
    clear = classifier.predict("PURCHASE ORDER PO-1234 please deliver 10 units, PO number 1234")
    vague = classifier.predict("see attached")

    assert clear.confidence > 0.5
    assert vague.confidence < clear.confidence


def test_one_text_and_a_batch_get_the_same_answer(classifier: TextClassifier) -> None:
    texts = [text for text, _ in UNSEEN] + ["", "???", "x" * 3000, "Dear invoice receipt"]

    batch = classifier.predict_many(texts)

    assert len(batch) == len(texts)
    for text, from_batch in zip(texts, batch, strict=True):
        alone = classifier.predict(text)
        assert alone.label == from_batch.label
        for label in classifier.labels:
            assert alone.scores[label] == pytest.approx(from_batch.scores[label], abs=1e-9)
    assert classifier.predict_many([]) == []


def test_training_is_repeatable() -> None:
    texts, labels = flat(EXAMPLES)
    first = TextClassifier.train(texts, labels).predict("paid by card, total 9.99")
    again = TextClassifier.train(texts, labels).predict("paid by card, total 9.99")

    assert first == again


def test_two_labels_are_enough() -> None:
    texts, labels = flat({k: EXAMPLES[k] for k in ("invoice", "letter")})
    classifier = TextClassifier.train(texts, labels)

    for text in ("Invoice INV-9001, amount due 2,300.00", "Dear Mr Brown, yours sincerely"):
        alone, [batch] = classifier.predict(text), classifier.predict_many([text])
        assert alone.label == batch.label
        assert alone.scores["invoice"] == pytest.approx(batch.scores["invoice"], abs=1e-9)
    assert classifier.predict("Dear Mr Brown, yours sincerely").label == "letter"


def test_evaluate_reports_accuracy_per_label_scores_and_confusion(
    classifier: TextClassifier,
) -> None:
    texts = [text for text, _ in UNSEEN] + ["Quotation Q-17 valid for 30 days"]
    truth = [label for _, label in UNSEEN] + ["quote"]  # a label it never saw

    report = classifier.evaluate(texts, truth)

    predicted = [r.label for r in classifier.predict_many(texts)]
    right = sum(p == t for p, t in zip(predicted, truth, strict=True))
    assert report["n"] == len(texts)
    assert report["accuracy"] == pytest.approx(right / len(texts))
    assert report["per_label"]["quote"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    assert report["per_label"]["receipt"]["recall"] == 1.0
    assert sum(report["confusion"]["quote"].values()) == 1
    assert "quote" not in report["confusion"]["quote"]
    for label, row in report["confusion"].items():
        assert sum(row.values()) == report["per_label"][label]["support"]


def test_from_jsonl_reads_the_named_fields(tmp_path: Path) -> None:
    path = tmp_path / "intents.jsonl"
    rows = [
        {"utterance": text, "intent": label, "id": i}
        for i, (text, label) in enumerate(zip(*flat(EXAMPLES), strict=True))
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")

    classifier = TextClassifier.from_jsonl(path, text_field="utterance", label_field="intent")

    assert classifier.predict("Receipt: paid by card, total 14.20").label == "receipt"


def test_bad_training_data_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text('{"text": "an invoice", "label": "invoice"}\n{"text": "no label"}\n')

    with pytest.raises(ValueError, match=r"examples.jsonl:2: no string field 'label'"):
        read_examples(path)
    with pytest.raises(ValueError, match="at least two labels"):
        TextClassifier.train(["a", "b"], ["invoice", "invoice"])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        TextClassifier.train(["a", "b"], ["invoice"])


async def test_it_serves_a_classify_task_on_the_offline_backend(
    classifier: TextClassifier, tmp_path: Path
) -> None:
    task = ClassifyTask(
        name="document_type",
        labels=tuple(EXAMPLES),
        prompts=PromptLibrary(tmp_path),
        prompt="unused.j2",
        offline=lambda _cache_dir: classifier,
    )
    gateway = ModelGateway(OfflineBackend())

    result = await gateway.classify(task, text="Credit note CN-88 for invoice INV-9001")

    assert result.label == "credit_note"
    narrower = ClassifyTask(
        name="document_type",
        labels=("invoice", "letter"),
        prompts=PromptLibrary(tmp_path),
        prompt="unused.j2",
        offline=lambda _cache_dir: classifier,
    )
    with pytest.raises(ModelError, match="not one of"):
        await gateway.classify(narrower, text="Credit note CN-88 for invoice INV-9001")


def synthetic_intents(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """Short customer messages for 20 intents, made up word by word."""
    rng = random.Random(seed)
    verbs = ["cancel", "track", "change", "return", "pay", "check", "update", "delete", "open"]
    things = ["order", "invoice", "refund", "account", "delivery", "address", "card", "plan"]
    intents = list(itertools.islice(itertools.product(verbs, things), 20))
    fillers = ["please", "I want to", "how do I", "can you", "help me", "need to", "asap", "my"]
    texts, labels = [], []
    for _ in range(n):
        verb, thing = rng.choice(intents)
        words = [*rng.sample(fillers, 3), verb, "the", thing, str(rng.randint(1, 9999))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(f"{verb}_{thing}")
    return texts, labels


def test_it_trains_in_seconds_and_answers_in_under_a_millisecond() -> None:
    """CPU time, not wall time: other work on the machine must not fail this test."""
    texts, labels = synthetic_intents(3000)

    started = time.process_time()
    classifier = TextClassifier.train(texts, labels)
    trained_s = time.process_time() - started

    probes, truth = synthetic_intents(500, seed=8)
    started = time.process_time()
    answers = [classifier.predict(text) for text in probes]
    per_text_ms = (time.process_time() - started) * 1000 / len(probes)

    assert trained_s < 2.0  # about 0.4 s
    assert per_text_ms < 1.0  # about 0.05 ms
    right = sum(a.label == t for a, t in zip(answers, truth, strict=True))
    assert right / len(truth) > 0.95


def test_it_learns_the_invoice_flow_document_types_from_the_fixture() -> None:
    """Held out: 30% of the fixture examples, never seen in training."""
    texts, labels = read_examples(DOC_TYPES)
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=0.3, stratify=labels, random_state=0
    )

    report = TextClassifier.train(train_x, train_y).evaluate(test_x, test_y)

    assert set(report["per_label"]) == set(labels)
    assert report["accuracy"] >= 0.95
    assert min(scores["recall"] for scores in report["per_label"].values()) >= 0.85
