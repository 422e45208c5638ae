"""Query strings in the access log, with the values of secret-looking parameters masked.

Keys belong in headers (`Authorization`, `X-API-Key`) and the API reads them nowhere else,
but a client may still put one in a URL (`?api_key=...`); the server's access log must not
keep it. uvicorn logs `(client, method, path with query, version, status)` on the
`uvicorn.access` logger: this filter rewrites the path before any handler sees it.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

from bpa.redaction import MASK, is_secret_name, redact_text

__all__ = ["RedactQueryStrings", "install_access_log_redaction", "redact_target"]

#: Parameter names that carry credentials in common APIs, besides secret-looking names.
_KEY_PARAMS = frozenset({"key", "k", "auth", "sig", "signature", "code", "x-api-key"})


def redact_target(target: str) -> str:
    """`/path?api_key=abc&x=1` -> `/path?api_key=***&x=1`."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(k, MASK if _secret_param(k) else redact_text(v)) for k, v in pairs]
    return f"{path}?{urlencode(masked, safe='*')}"


def _secret_param(name: str) -> bool:
    return name.lower() in _KEY_PARAMS or is_secret_name(name)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Once per process (the filter is not added twice)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
        logger.addFilter(RedactQueryStrings())
