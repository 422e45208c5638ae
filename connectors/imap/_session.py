"""One blocking IMAP connection (stdlib `imaplib`): connect, log in, select, search, fetch,
flag, and IDLE. The connector runs every call of it in a worker thread.

Every failure leaves here as a `ConnectorError`: a refused login is `AuthError`, a
connection that drops or times out is `Transient`, anything the server refuses is
`Rejected`. No message says anything about the password.
"""

from __future__ import annotations

import imaplib
import itertools
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from connectors.errors import AuthError, Conflict, NotFound, Rejected, Transient, Unsupported
from connectors.schemas.inbox import InboxMessage

__all__ = ["ImapSession", "ImapSettings", "uid_set"]

#: Bytes of a message's header read when the whole message is over the size limit.
HEADER_BYTES = 64 * 1024
#: UIDs per STORE command, so that no command line grows without bound.
_STORE_CHUNK = 200
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")
_tags = itertools.count(1)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Literal["ssl", "starttls", "none"]
    username: str
    password: SecretStr
    mailbox: str
    timeout_s: float
    tls_verify: bool = True

    def describe(self) -> str:
        return f"{self.host}:{self.port}"


def uid_set(uids: Iterable[int]) -> str:
    """`1:3,7,9:10`: sorted UIDs with runs collapsed."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    for _, run in itertools.groupby(enumerate(ordered), key=lambda pair: pair[1] - pair[0]):
        values = [uid for _, uid in run]
        parts.append(str(values[0]) if len(values) == 1 else f"{values[0]}:{values[-1]}")
    return ",".join(parts)


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: Any) -> str:
    """A server's answer as one short line."""
    if isinstance(data, list | tuple):
        data = b" ".join(d if isinstance(d, bytes) else str(d).encode() for d in data if d)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return " ".join(str(data).split())[:300]


class ImapSession:
    """A logged-in connection with the configured mailbox selected (read-write)."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.imap = self._connect()
        self.capabilities: set[str] = set()
        try:
            self._login()
            self.capabilities = {str(c).upper() for c in self.imap.capabilities}
        except BaseException:
            self.close()
            raise

    # -- connection ------------------------------------------------------------------------
    def _connect(self) -> imaplib.IMAP4:
        s = self.settings
        context = ssl.create_default_context()
        if not s.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            if s.security == "ssl":
                return imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout_s)
            imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                imap.starttls(ssl_context=context)
            return imap
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise Transient(
                f"cannot reach the IMAP server {s.describe()}: {type(exc).__name__}: {exc}",
                code="unreachable",
            ) from None
        except imaplib.IMAP4.error as exc:
            raise Rejected(
                f"the IMAP server {s.describe()} refused the connection: {exc}",
                code="connection_refused",
            ) from None

    def _login(self) -> None:
        s = self.settings
        user, password = s.username, s.password.get_secret_value()
        capabilities = {str(c).upper() for c in self.imap.capabilities}
        try:
            if "AUTH=PLAIN" in capabilities:  # SASL PLAIN carries UTF-8 credentials
                token = f"\0{user}\0{password}".encode()
                self.imap.authenticate("PLAIN", lambda _challenge: token)
            elif "LOGINDISABLED" in capabilities:
                raise AuthError(
                    f"the IMAP server {s.describe()} allows no login on this connection; "
                    "use security 'ssl' or 'starttls'",
                    code="login_disabled",
                )
            else:
                self.imap.login(user, password)
        except imaplib.IMAP4.abort as exc:
            raise Transient(
                f"the IMAP server {s.describe()} closed the connection during login: {exc}",
                code="unreachable",
            ) from None
        except (imaplib.IMAP4.error, UnicodeEncodeError):
            raise AuthError(
                f"the IMAP server {s.describe()} refused the login of {user!r}",
                code="login_refused",
            ) from None

    def close(self) -> None:
        try:
            self.imap.logout()
        except Exception:  # closing a connection that is already gone
            with suppress(Exception):
                self.imap.shutdown()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except imaplib.IMAP4.abort as exc:
            raise Transient(
                f"the connection to {self.settings.describe()} broke while {what}: {exc}",
                code="connection_lost",
            ) from None
        except OSError as exc:
            raise Transient(
                f"the connection to {self.settings.describe()} failed while {what}: "
                f"{type(exc).__name__}: {exc}",
                code="connection_lost",
            ) from None
        except imaplib.IMAP4.error as exc:
            raise Rejected(f"the IMAP server refused {what}: {exc}", code="refused") from None

    def _ok(self, answer: tuple[str, Any], what: str) -> Any:
        status, data = answer
        if status != "OK":
            raise Rejected(f"the IMAP server refused {what}: {_text(data)}", code="refused")
        return data

    # -- mailbox ---------------------------------------------------------------------------
    def select(self, keywords: tuple[str, ...]) -> int:
        """Select the mailbox read-write; its UIDVALIDITY. The server must keep `keywords`."""
        mailbox = self.settings.mailbox
        with self._errors(f"opening mailbox {mailbox!r}"):
            self.imap.untagged_responses.clear()
            status, data = self.imap.select(_quoted(mailbox))
            if status != "OK":
                raise NotFound(
                    f"no mailbox {mailbox!r} on {self.settings.describe()}: {_text(data)}",
                    code="unknown_mailbox",
                )
            _, validity = self.imap.response("UIDVALIDITY")
            _, permanent = self.imap.response("PERMANENTFLAGS")
        try:
            uidvalidity = int(validity[-1])
        except (TypeError, ValueError, IndexError):
            raise Rejected(
                f"mailbox {mailbox!r} reports no UIDVALIDITY; its UIDs cannot be trusted",
                code="no_uidvalidity",
            ) from None
        flags = _text(permanent)
        missing = [k for k in keywords if "\\*" not in flags and k not in flags.split()]
        if missing:
            raise Unsupported(
                f"mailbox {mailbox!r} does not keep the keyword(s) {', '.join(missing)}, "
                "so handled messages cannot be marked; use a mailbox that allows keywords",
                code="keywords_unsupported",
            )
        return uidvalidity

    def require(self, uidvalidity: int, keywords: tuple[str, ...]) -> None:
        current = self.select(keywords)
        if current != uidvalidity:
            raise Conflict(
                f"mailbox {self.settings.mailbox!r} was recreated (UIDVALIDITY {uidvalidity} "
                f"is now {current}): its UIDs name other messages now; fetch again",
                code="uidvalidity_changed",
            )

    def unmarked(self, keyword: str) -> list[int]:
        with self._errors("searching for unprocessed messages"):
            data = self._ok(self.imap.uid("SEARCH", "UNDELETED", "UNKEYWORD", keyword), "SEARCH")
        found = b" ".join(d for d in data if isinstance(d, bytes))
        return sorted(int(uid) for uid in found.split())

    def sizes(self, uids: list[int]) -> dict[int, int]:
        with self._errors("reading message sizes"):
            data = self._ok(self.imap.uid("FETCH", uid_set(uids), "(RFC822.SIZE)"), "FETCH")
        sizes: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def fetch(self, uid: int, size: int, max_bytes: int) -> InboxMessage | None:
        """The message (its header only when over `max_bytes`); None when it is gone."""
        complete = size <= max_bytes
        section = "BODY.PEEK[]" if complete else f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"
        with self._errors(f"reading message {uid}"):
            data = self._ok(self.imap.uid("FETCH", str(uid), f"({section})"), "FETCH")
        for item in data:
            if isinstance(item, tuple) and b"BODY[" in item[0]:
                raw = item[1]
                if complete and len(raw) > max_bytes:  # the server understated the size
                    raw, complete = raw[:HEADER_BYTES].split(b"\r\n\r\n", 1)[0], False
                return InboxMessage(uid=uid, size=max(size, len(raw)), raw=raw, complete=complete)
        return None

    def store(self, uids: list[int], keywords: list[str], *, add: bool) -> None:
        flags = "(" + " ".join(keywords) + ")"
        command = "+FLAGS.SILENT" if add else "-FLAGS.SILENT"
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), _STORE_CHUNK):
            chunk = uid_set(ordered[start : start + _STORE_CHUNK])
            with self._errors("marking messages"):
                self._ok(self.imap.uid("STORE", chunk, command, flags), "STORE")

    def settle(self) -> None:
        """Forget the untagged responses collected so far (a long watch would pile them up)."""
        self.imap.untagged_responses.clear()

    # -- IDLE (RFC 2177) -------------------------------------------------------------------
    def idle(self, timeout: float, stop: threading.Event) -> bool | None:
        """Wait for the server to report a change; True on news, False on timeout or
        `stop`, None when the server cannot IDLE.

        imaplib (before Python 3.14) has no IDLE, so this speaks it on the socket: the
        connection is between commands (imaplib's buffer is empty), this reads to its own
        tagged answer, and leaves it between commands again.
        """
        if "IDLE" not in self.capabilities:
            return None
        tag = f"BPAI{next(_tags)}".encode()
        sock = self.imap.socket()
        reader = _Lines(sock)
        with self._errors("waiting for mail (IDLE)"):
            self.imap.send(tag + b" IDLE\r\n")
            first = reader.line(self.settings.timeout_s)
            if first is None or not first.startswith(b"+"):
                if first is not None and first.startswith(tag + b" "):
                    return None  # refused: the caller polls instead
                raise imaplib.IMAP4.abort(f"unexpected answer to IDLE: {_text(first or b'')}")
            news = False
            deadline = time.monotonic() + timeout
            while not news and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                line = reader.line(min(1.0, left))
                if line is None:
                    continue
                if line.startswith(b"* BYE"):
                    raise imaplib.IMAP4.abort(_text(line))
                news = line.startswith(b"* ") and (b"EXISTS" in line or b"RECENT" in line)
            self.imap.send(b"DONE\r\n")
            end = time.monotonic() + self.settings.timeout_s
            while True:
                line = reader.line(max(0.1, end - time.monotonic()))
                if line is None and time.monotonic() >= end:
                    raise imaplib.IMAP4.abort("no answer to DONE after IDLE")
                if line is not None and line.startswith(tag + b" "):
                    break
                if line is not None and line.startswith(b"* ") and b"EXISTS" in line:
                    news = True
        return news


class _Lines:
    """CRLF-terminated lines read straight from the socket, with a timeout per line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buffer:
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            left = deadline - time.monotonic()
            if not pending:
                if left <= 0:
                    return None
                readable, _, _ = select.select([self.sock], [], [], left)
                if not readable:
                    return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise imaplib.IMAP4.abort("the server closed the connection")
            self.buffer += chunk
            if len(self.buffer) > 1_000_000:
                raise imaplib.IMAP4.abort("an over-long line during IDLE")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line
