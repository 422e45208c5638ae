"""Reading an incoming e-mail for routing: who it is (its identity), whether a machine sent
it, and which attachments are invoices. Everything here is untrusted input.

Nothing read here becomes a path: attachment names are only shown (and cleaned by the
document store), their content types are decided here, not taken from the sender.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Literal

__all__ = ["Attachment", "MailError", "ReadMail", "read_mail"]

#: MIME parts read before a message is refused as built to exhaust the reader.
MAX_PARTS = 200
#: A Message-ID longer than this is not trusted as an identity (RFC 5322 lines are 998).
_MAX_ID = 250

InvoiceKind = Literal["pdf", "xml", "txt"]
_MEDIA: dict[InvoiceKind, str] = {
    "pdf": "application/pdf",
    "xml": "application/xml",
    "txt": "text/plain",
}


class MailError(ValueError):
    """The message cannot be read at all; the reason is one line."""


@dataclass(frozen=True)
class Attachment:
    """An invoice attachment: `name` is for people only, `media_type` is decided here."""

    index: int
    name: str
    kind: InvoiceKind
    data: bytes

    @property
    def media_type(self) -> str:
        return _MEDIA[self.kind]


@dataclass
class ReadMail:
    #: The Message-ID, when it is usable as an identity.
    message_id: str | None
    #: The Message-ID, or a digest of the headers that name the message when it has none.
    identity: str
    #: Why a machine sent it (auto-reply, bounce, our own outbox), or None.
    automatic: str | None
    #: The From address, when there is one that could be answered.
    sender: str | None = None
    invoices: list[Attachment] = field(default_factory=list)


def _header(mail: Message, name: str) -> str:
    try:
        value = mail.get(name)
    except Exception:  # a header the parser cannot decode is as good as absent
        return ""
    return _printable(str(value)) if value is not None else ""


def _printable(text: str) -> str:
    """One line without control characters (no terminal escapes, no forged log lines)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _message_id(mail: Message) -> str | None:
    value = _header(mail, "Message-ID")
    usable = 3 <= len(value) <= _MAX_ID and value.isascii() and value.isprintable()
    return value if usable and " " not in value else None


def _identity(mail: Message, message_id: str | None, raw: bytes) -> str:
    if message_id:
        return message_id
    names = [_header(mail, h) for h in ("From", "To", "Date", "Subject")]
    source = "\0".join(names).encode("utf-8", "replace") if any(names) else raw
    return "sha256:" + hashlib.sha256(source).hexdigest()


def _automatic(mail: Message) -> str | None:
    """RFC 3834 and the usual signs of mail no person wrote: answering it starts a loop."""
    auto = _header(mail, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"sent automatically (Auto-Submitted: {auto[:40]})"
    if _header(mail, "X-Autoreply") or _header(mail, "X-Autorespond"):
        return "an automatic reply (X-Autoreply)"
    if mail.get_content_type() == "multipart/report":
        return "a delivery or read report"
    if _header(mail, "Return-Path") == "<>":
        return "a bounce (empty Return-Path)"
    if _header(mail, "X-BPA-Outbox-Id"):
        return "sent by this suite's own outbox"
    return None


def _sender(mail: Message) -> str | None:
    found = getaddresses([_header(mail, "From")])
    address = found[0][1] if found else ""
    return address if "@" in address else None


def _kind(part: Message, data: bytes) -> InvoiceKind | None:
    """Which invoice format an attachment is, if any. PDF by content or name; XML and text
    only when sent as a named attachment (a text body is not an invoice file)."""
    try:
        name = (part.get_filename() or "").strip().lower()
        disposition = part.get_content_disposition()
    except Exception:
        name, disposition = "", None
    media = part.get_content_type()
    if media == "application/pdf" or name.endswith(".pdf") or data[:5] == b"%PDF-":
        return "pdf"
    attached = disposition == "attachment" or bool(name)
    if attached and (media in ("application/xml", "text/xml") or name.endswith(".xml")):
        return "xml"
    if disposition == "attachment" and name.endswith(".txt"):
        return "txt"
    return None


def _display_name(part: Message, index: int, kind: InvoiceKind) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = _printable(name.replace("\\", "/").rsplit("/", 1)[-1])
    return name[:200] or f"attachment-{index}.{kind}"


def read_mail(raw: bytes) -> ReadMail:
    """The message's identity, whether a machine sent it, and its invoice attachments."""
    try:
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
        message_id = _message_id(mail)
        read = ReadMail(
            message_id, _identity(mail, message_id, raw), _automatic(mail), _sender(mail)
        )
        for count, part in enumerate(mail.walk(), start=1):
            if count > MAX_PARTS:
                raise MailError(f"more than {MAX_PARTS} MIME parts")
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            kind = _kind(part, payload)
            if kind is not None:
                index = len(read.invoices) + 1
                name = _display_name(part, index, kind)
                read.invoices.append(Attachment(index, name, kind, payload))
        return read
    except MailError:
        raise
    except Exception as exc:  # RecursionError on deep nesting, decoder bugs: one reason
        raise MailError(f"unreadable message ({type(exc).__name__})") from None
