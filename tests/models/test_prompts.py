"""Prompt templates: rendered strictly, hashed for the audit trail, money shown exactly."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest

from bpa.models import PromptLibrary


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    (tmp_path / "total.j2").write_text("Total: {{ amount | money }} {{ currency }}\n")
    return PromptLibrary(tmp_path)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("1234.5"), "1,234.50"),
        (Decimal("2.675"), "2.68"),  # half up, as on an invoice; a float would say 2.67
        (Decimal("1234567890123456.78"), "1,234,567,890,123,456.78"),
        (19.99, "19.99"),
        ("-80", "-80.00"),
        (None, "n/a"),
    ],
)
def test_money_keeps_every_cent(library: PromptLibrary, amount: object, shown: str) -> None:
    assert library.render("total.j2", amount=amount, currency="EUR").text == f"Total: {shown} EUR\n"


def test_the_hash_names_the_template_version(library: PromptLibrary, tmp_path: Path) -> None:
    first = library.render("total.j2", amount=1, currency="EUR")
    assert (
        first.template_sha256
        == hashlib.sha256(b"Total: {{ amount | money }} {{ currency }}\n").hexdigest()[:16]
    )

    (tmp_path / "other.j2").write_text("Total due: {{ amount | money }}\n")
    assert library.render("other.j2", amount=1).template_sha256 != first.template_sha256


def test_a_missing_variable_is_an_error_not_a_blank(library: PromptLibrary) -> None:
    with pytest.raises(jinja2.UndefinedError, match="currency"):
        library.render("total.j2", amount=1)


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "evil.j2").write_text("{{ amount.__class__.__mro__ }}")

    with pytest.raises(jinja2.exceptions.SecurityError):
        PromptLibrary(tmp_path).render("evil.j2", amount=1)


@pytest.mark.parametrize(
    ("text", "aside", "shown"),
    [
        ("which order is this about?", "", "Which order is this about?"),
        ("which size would you like?", "order #W1", "Which size would you like (order #W1)?"),
        ("order #W2982823 was delivered", "", "Order #W2982823 was delivered."),
        ("we could not find it.", "order #W1", "We could not find it (order #W1)."),
        ("", "", "."),
        ("the options are:", "", "The options are:"),
    ],
)
def test_a_sentence_keeps_its_question_mark_and_the_case_of_its_names(
    tmp_path: Path, text: str, aside: str, shown: str
) -> None:
    (tmp_path / "s.j2").write_text("{{ text | sentence(aside) }}")
    assert PromptLibrary(tmp_path).render("s.j2", text=text, aside=aside).text == shown
