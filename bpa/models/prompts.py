"""Prompt and message templates: one sandboxed Jinja2 environment, files from the repo only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["PromptLibrary", "RenderedPrompt"]


def _money(value: Any) -> str:
    """`1234.5` -> `1,234.50`; through `Decimal`, so large amounts keep their cents."""
    if value is None:
        return "n/a"
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:,.2f}"


def _sentence(text: Any, aside: str = "") -> str:
    """`text` as a sentence: its first letter a capital (the rest as written: names and
    order numbers keep their case), `aside` in parentheses before its closing mark, and a
    full stop when it has no closing mark ("which size?" stays a question, "options:" leads
    on)."""
    body = str(text or "").strip()
    end = body[-1] if body and body[-1] in ".?!:" else "."
    body = body[:-1].rstrip() if body and body[-1] in ".?!:" else body
    if aside:
        body = f"{body} ({aside})"
    return f"{body[:1].upper()}{body[1:]}{end}"


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    text: str
    template_sha256: str


class PromptLibrary:
    """Templates of one flow, from its `prompts/` folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def beside(cls, module_file: str) -> PromptLibrary:
        return cls(Path(module_file).resolve().parent / "prompts")

    @cached_property
    def env(self) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=FileSystemLoader(self.directory),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["money"] = _money
        env.filters["sentence"] = _sentence
        return env

    def template_hash(self, name: str) -> str:
        return hashlib.sha256((self.directory / name).read_bytes()).hexdigest()[:16]

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        text = self.env.get_template(name).render(**variables)
        return RenderedPrompt(name=name, text=text, template_sha256=self.template_hash(name))
