"""The console's session: a signed cookie that names the signed-in API key and carries a
CSRF token.

The cookie holds no secret: only the key's public id and a random token, signed (HMAC, via
itsdangerous) with a secret from the settings, or one generated once and kept in the home
folder. Every request looks the key up again, so a revoked key or a changed role takes
effect at once. Forms echo the token back; a request whose token does not match the
session's is refused (`ConsoleError` 403, see _access.py).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from bpa.config import Settings

__all__ = ["COOKIE", "ConsoleSession", "SessionSigner", "console_secret"]

COOKIE = "bpa_console"
#: A session older than this must sign in again (the signature carries its time).
MAX_AGE_S = 12 * 3600
_SALT = "bpa.console.session"
_SECRET_FILE = "console_secret"


@dataclass(frozen=True)
class ConsoleSession:
    """`key_id` is None before sign-in (the CSRF token guards the sign-in form too)."""

    key_id: str | None
    csrf: str

    @classmethod
    def anonymous(cls) -> ConsoleSession:
        return cls(key_id=None, csrf=secrets.token_urlsafe(32))

    def signed_in(self, key_id: str) -> ConsoleSession:
        """A new session for the key, with a new token (none from before sign-in survives)."""
        return ConsoleSession(key_id=key_id, csrf=secrets.token_urlsafe(32))

    def accepts(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class SessionSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def dumps(self, session: ConsoleSession) -> str:
        return self._serializer.dumps({"k": session.key_id, "c": session.csrf})

    def loads(self, value: str | None) -> ConsoleSession | None:
        """The session a cookie holds; None when it is absent, forged, altered or too old."""
        if not value:
            return None
        try:
            data: Any = self._serializer.loads(value, max_age=MAX_AGE_S)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        key_id = data.get("k")
        return ConsoleSession(key_id=key_id if isinstance(key_id, str) else None, csrf=data["c"])

    def attach(self, response: Response, session: ConsoleSession, *, secure: bool) -> None:
        response.set_cookie(
            COOKIE,
            self.dumps(session),
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=secure,
        )


def console_secret(settings: Settings) -> str:
    """The configured secret, else the one kept in `home/console_secret` (made on first use).

    The file is written aside and linked into place, so API processes starting together on
    one home agree on the first secret written."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value()
    path = settings.ensure_home() / _SECRET_FILE
    if not path.exists():
        _write_once(path, secrets.token_hex(32))
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable console secret; delete it to make a new one")
    return secret


def _write_once(path: Path, secret: str) -> None:
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret)
        with contextlib.suppress(FileExistsError):  # another process won: its secret counts
            os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)
