"""One redaction rule for everything that leaves the suite as text: errors, problems, logs.

A value is secret when the name it is given under looks like a secret (`password`,
`passwd`, `token`, `api_key`, `secret`, ...), when it is the password part of a URL
(`scheme://user:PASSWORD@host`), or when it is one of the secrets the settings hold
(`Redactor.from_settings`). Errors are described by what is wrong and where, never by the
value that was given (`describe_error`): a misspelt setting must not echo its password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["MASK", "Redactor", "describe_error", "is_secret_name", "redact_text", "redact_value"]

MASK = "***"

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|credential|private[_-]?key"
    r"|authorization|auth[_-]?key|access[_-]?key|client[_-]?secret|cookie|session",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)", re.IGNORECASE)
_ASSIGNED = re.compile(
    r"(?P<name>[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key)[\w-]*)"
    r"(?P<sep>['\"]?\s*[:=]\s*['\"]?)(?P<value>[^\s'\",}&;]+)",
    re.IGNORECASE,
)
#: Secrets shorter than this are not searched for in text (too many false hits).
_MIN_SECRET = 4


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact_value(value: Any, name: str = "") -> Any:
    """A copy of a JSON-like value with every entry under a secret-looking name masked."""
    if name and is_secret_name(name) and value not in (None, ""):
        return MASK
    if isinstance(value, Mapping):
        return {key: redact_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """Masks URL passwords and `name=value` pairs whose name looks secret."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _ASSIGNED.sub(lambda m: m.group("name") + m.group("sep") + MASK, text)


def describe_error(exc: BaseException) -> str:
    """`Type: what went wrong`, without the values that were given, and redacted."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )
        return redact_text(f"invalid {exc.title}: {problems}")
    return redact_text(f"{type(exc).__name__}: {exc}")


class Redactor:
    """Masks known secret values wherever they appear in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET}
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in sorted(found, key=len, reverse=True)))
            if found
            else None
        )

    @classmethod
    def from_settings(cls, settings: Any) -> Redactor:
        """The secrets a `Settings` holds: the model API key, and every connector setting
        under a secret-looking name."""
        secrets: list[str] = []
        key = getattr(settings, "openai_api_key", None)
        if key is not None:
            secrets.append(key.get_secret_value() if hasattr(key, "get_secret_value") else key)
        for config in (getattr(settings, "connectors", None) or {}).values():
            secrets.extend(_secrets_in(config))
        for name in ("database_url", "checkpoint_url", "openai_base_url"):
            secrets.extend(_secrets_in(getattr(settings, name, None)))
        return cls(secrets)

    def text(self, text: str) -> str:
        text = redact_text(text)
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def error(self, exc: BaseException) -> str:
        return self.text(describe_error(exc))


def _secrets_in(value: Any, name: str = "") -> list[str]:
    if isinstance(value, Mapping):
        return [s for key, item in value.items() for s in _secrets_in(item, str(key))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _secrets_in(item, name)]
    if isinstance(value, str) and name and is_secret_name(name):
        return [value]
    if isinstance(value, str):
        match = _URL_PASSWORD.search(value)
        return [value[match.end("head") : match.end()]] if match else []
    return []
