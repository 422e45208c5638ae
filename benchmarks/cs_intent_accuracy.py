"""Intent accuracy of the offline customer-service classifier on held-out bitext rows.

    /work/venv/bin/python benchmarks/cs_intent_accuracy.py [--data PATH] [--json FILE]
        [--show-errors N]

The classifier (`flows.customer_service.tasks.INTENT`, offline backend) is trained on
`fixtures/customer_service/intents_train.jsonl`: about half of bitext's rows plus synthetic
return / exchange / modify examples (see `fixtures/customer_service/make_subset.py`). This
scores it on every bitext row of ``../shared/datasets/bitext-customer-service/intents.csv``
that the fixed split did NOT put in training, each labelled with the flow's intent through
`BITEXT_TO_INTENT`. The run goes through the model gateway, as a flow's node would. It also
checks that no held-out utterance is in the training file. Without the data set the script
says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bpa.models import ModelGateway  # noqa: E402
from bpa.models.offline import OfflineBackend  # noqa: E402
from bpa.models.offline.classifier import read_examples  # noqa: E402
from flows.customer_service.intents import BITEXT_TO_INTENT, INTENTS  # noqa: E402
from flows.customer_service.tasks import INTENT, TRAINING_FILE  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "bitext-customer-service" / "intents.csv"
AIM = 0.90


def _subset_module() -> Any:
    path = REPO / "fixtures" / "customer_service" / "make_subset.py"
    spec = importlib.util.spec_from_file_location("cs_make_subset", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def evaluate(rows: list[dict[str, str]]) -> list[tuple[dict[str, str], str, str, float]]:
    gateway = ModelGateway(OfflineBackend())
    results = []
    for row in rows:
        got = await gateway.classify(INTENT, text=row["utterance"])
        results.append((row, BITEXT_TO_INTENT[row["intent"]], got.label, got.confidence))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--show-errors", type=int, default=10, metavar="N")
    args = parser.parse_args()
    console = Console()
    if not args.data.exists():
        console.print(
            f"[red]bitext data set not found at {args.data}[/red]: it lives in "
            "../shared/datasets (see its README); pass --data PATH"
        )
        return 2
    subset = _subset_module()
    rows = subset.read_bitext(args.data)
    held_out = [r for r in rows if not subset.is_training_row(r["utterance"])]
    trained_on = {subset.normalise(t) for t in read_examples(TRAINING_FILE)[0]}
    leaked = sum(subset.normalise(r["utterance"]) in trained_on for r in held_out)

    started = time.perf_counter()
    INTENT.offline(None)  # train, timed separately from classifying
    trained_s = time.perf_counter() - started
    started = time.perf_counter()
    results = asyncio.run(evaluate(held_out))
    per_message_ms = (time.perf_counter() - started) * 1000 / max(1, len(results))

    correct = sum(want == got for _, want, got, _ in results)
    accuracy = correct / len(results) if results else 0.0
    table = Table(title=f"intent accuracy on {len(results):,} held-out bitext rows")
    for column in ("intent", "support", "correct", "recall", "precision"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    predicted = Counter(got for _, _, got, _ in results)
    per_intent: dict[str, dict[str, float]] = {}
    for intent in INTENTS:
        support = sum(want == intent for _, want, _, _ in results)
        hits = sum(want == got == intent for _, want, got, _ in results)
        recall = hits / support if support else float("nan")
        precision = hits / predicted[intent] if predicted[intent] else float("nan")
        per_intent[intent] = {
            "support": support,
            "correct": hits,
            "recall": recall,
            "precision": precision,
        }
        table.add_row(
            intent,
            str(support),
            str(hits),
            "-" if not support else f"{recall:.1%}",
            "-" if not predicted[intent] else f"{precision:.1%}",
        )
    console.print(table)
    by_bitext = Counter(row["intent"] for row, want, got, _ in results if want != got)
    if by_bitext:
        console.print(
            "errors by bitext intent: " + ", ".join(f"{k} {v}" for k, v in by_bitext.most_common())
        )
    for row, want, got, confidence in [r for r in results if r[1] != r[2]][: args.show_errors]:
        console.print(f"  [dim]{row['utterance']!r}[/dim]: {want} -> {got} ({confidence:.2f})")
    verdict = "[green]meets[/green]" if accuracy >= AIM else "[red]below[/red]"
    console.print(
        f"accuracy {accuracy:.2%} ({correct}/{len(results)}), {verdict} the {AIM:.0%} aim; "
        f"held-out rows found in training: {leaked}; trained in {trained_s:.1f} s, "
        f"{per_message_ms:.2f} ms per message"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "n": len(results),
                    "accuracy": accuracy,
                    "per_intent": per_intent,
                    "leaked": leaked,
                    "train_s": trained_s,
                    "ms_per_message": per_message_ms,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
