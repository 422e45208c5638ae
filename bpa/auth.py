"""API keys and roles: who may read, trigger, approve, or administer.

A key is shown once, at creation, and stored only as a salted SHA-256 hash. Keys are 256
random bits, so a fast hash is enough (slow hashes protect guessable passwords, not these);
the id embedded in the key finds its row without scanning, and the comparison is
constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from bpa.roles import Role
from bpa.runs.tables import utcnow

__all__ = ["ApiKey", "ApiKeyStore", "KeyNotFound", "Principal", "Role", "is_loopback"]

_PREFIX = "bpa"
_ID_HEX = 12
_SECRET_HEX = 64
_TOUCH_EVERY_S = 60.0
_ANY_KEY_TTL_S = 2.0


class ApiKey(SQLModel, table=True):
    __tablename__ = "bpa_api_keys"

    id: str = Field(primary_key=True, description="The public part of the key")
    name: str | None = None
    role: Role
    salt: str
    key_hash: str
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = Field(default=None, index=True)


class KeyNotFound(LookupError):
    """No API key has this id."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's owner, or the local user of a server running without keys."""

    name: str
    role: Role
    key_id: str | None = None

    @classmethod
    def local(cls) -> Principal:
        return cls(name="local", role=Role.admin)

    def as_actor(self) -> dict[str, str | None]:
        """Who acted, as a human decision's audit event records it (the key's id, never
        its secret)."""
        return {"name": self.name, "role": self.role.value, "key_id": self.key_id}


def is_loopback(host: str | None) -> bool:
    """Whether `host` (an address or `localhost`) is this machine's loopback."""
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _split(presented: str) -> tuple[str, str] | None:
    parts = presented.strip().split("_")
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    key_id, secret = parts[1], parts[2]
    if len(key_id) != _ID_HEX or len(secret) != _SECRET_HEX:
        return None
    return key_id, secret


class ApiKeyStore:
    """The `bpa_api_keys` table: create, list, revoke, and check presented keys."""

    def __init__(self, engine: Engine) -> None:
        """`engine` must have the suite's tables (`bpa.db.create_schema`)."""
        self.engine = engine
        self._touched: dict[str, float] = {}
        self._any: tuple[float, bool] | None = None

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create(self, role: Role, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key and its secret form, which is not stored and cannot be shown again."""
        key_id = secrets.token_hex(_ID_HEX // 2)
        secret = secrets.token_hex(_SECRET_HEX // 2)
        salt = secrets.token_hex(16)
        record = ApiKey(id=key_id, name=name, role=role, salt=salt, key_hash=_digest(salt, secret))
        with self._session() as session:
            session.add(record)
            session.commit()
        self._any = None
        return record, f"{_PREFIX}_{key_id}_{secret}"

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        query = select(ApiKey).order_by(col(ApiKey.created_at))
        if not include_revoked:
            query = query.where(col(ApiKey.revoked_at).is_(None))
        with self._session() as session:
            return list(session.exec(query).all())

    def revoke(self, key_id: str) -> ApiKey:
        with self._session() as session:
            record = session.get(ApiKey, key_id)
            if record is None:
                raise KeyNotFound(f"no API key with id {key_id!r}; `bpa keys list` shows the ids")
            if record.revoked_at is None:
                record.revoked_at = utcnow()
                session.add(record)
                session.commit()
        self._any = None
        return record

    def any_active(self) -> bool:
        """Whether any unrevoked key exists (cached briefly: asked on every open request)."""
        now = time.monotonic()
        if self._any is not None and now - self._any[0] < _ANY_KEY_TTL_S:
            return self._any[1]
        with self._session() as session:
            found = session.exec(
                select(ApiKey.id).where(col(ApiKey.revoked_at).is_(None)).limit(1)
            ).first()
        self._any = (now, found is not None)
        return found is not None

    def verify(self, presented: str) -> Principal | None:
        """Whom a presented key stands for; None when it is malformed, unknown or revoked."""
        parts = _split(presented)
        if parts is None:
            return None
        key_id, secret = parts
        with self._session() as session:
            record = session.get(ApiKey, key_id)
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.key_hash, _digest(record.salt, secret)):
            return None
        self._touch(record.id)
        return Principal(name=record.name or f"key {record.id}", role=record.role, key_id=record.id)

    def _touch(self, key_id: str) -> None:
        """Record use at most once a minute per key, so reads stay reads."""
        now = time.monotonic()
        if now - self._touched.get(key_id, -_TOUCH_EVERY_S) < _TOUCH_EVERY_S:
            return
        self._touched[key_id] = now
        with self._session() as session:
            record = session.get(ApiKey, key_id)
            if record is not None:
                record.last_used_at = utcnow()
                session.add(record)
                session.commit()
