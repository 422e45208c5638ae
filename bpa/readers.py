"""Turns a document (PDF, plain text, e-mail) into text, or a FlowError that says why not."""

from __future__ import annotations

import email
import email.policy
import io
import logging
from dataclasses import dataclass, field
from email.message import EmailMessage

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from bpa.errors import FlowError

__all__ = ["ReadDocument", "attached_pdf", "read_document"]

logging.getLogger("pypdf").setLevel(logging.ERROR)

_MAX_PAGES = 50


@dataclass
class ReadDocument:
    text: str
    kind: str
    pages: int = 1
    notes: list[str] = field(default_factory=list)


def _pdf_text(data: bytes, name: str) -> ReadDocument:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                unlocked = bool(reader.decrypt(""))
            except Exception:
                unlocked = False
            if not unlocked:
                raise FlowError(
                    "document_encrypted",
                    f"{name} is password-protected; send an unencrypted copy",
                )
        pages = reader.pages
        count = len(pages)
        texts = [page.extract_text() or "" for page in list(pages)[:_MAX_PAGES]]
    except FlowError:
        raise
    except FileNotDecryptedError as exc:
        raise FlowError(
            "document_encrypted", f"{name} is password-protected; send an unencrypted copy"
        ) from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise FlowError(
            "document_unreadable",
            f"{name} is not a readable PDF ({type(exc).__name__}: {exc}); "
            "check the file or send it again",
        ) from exc
    text = "\n".join(texts).strip()
    if not text:
        raise FlowError(
            "no_text_layer",
            f"{name} has no text layer (a scan?); OCR is not supported yet, "
            "send a PDF with text or the invoice as text",
            pages=count,
        )
    notes = []
    if count > _MAX_PAGES:
        notes.append(f"only the first {_MAX_PAGES} of {count} pages were read")
    return ReadDocument(text=text, kind="pdf", pages=count, notes=notes)


def _first_pdf(message: EmailMessage) -> tuple[str, bytes] | None:
    """The first PDF attached to the message: (its file name, its bytes)."""
    for part in message.iter_attachments():
        filename = part.get_filename() or "attachment"
        if part.get_content_type() == "application/pdf" or filename.lower().endswith(".pdf"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return filename, payload
    return None


def attached_pdf(data: bytes) -> bytes | None:
    """The PDF an e-mail carries (the one `read_document` reads the invoice from), or None;
    for the offline reader's layout pass over that PDF's words."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception:  # not an e-mail: nothing attached
        return None
    if not isinstance(message, EmailMessage):
        return None
    found = _first_pdf(message)
    return found[1] if found else None


def _email_text(data: bytes, name: str) -> ReadDocument:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        raise FlowError("document_unreadable", f"{name} is not an e-mail message")
    body = message.get_body(preferencelist=("plain", "html"))
    body_text = body.get_content() if body is not None else ""
    if (found := _first_pdf(message)) is not None:
        filename, payload = found
        read = _pdf_text(payload, f"{name}/{filename}")
        read.kind = "eml+pdf"
        read.notes.append(f"invoice read from attachment {filename}")
        return read
    if not body_text.strip():
        raise FlowError("document_empty", f"{name} has no text body and no PDF attachment")
    return ReadDocument(text=body_text.strip(), kind="eml", notes=["no PDF attachment; body read"])


def _plain_text(data: bytes, name: str) -> ReadDocument:
    if b"\x00" in data[:4096]:
        raise FlowError(
            "unsupported_format",
            f"{name} looks binary, not text; send a PDF, a .txt or an .eml file",
        )
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        raise FlowError("document_empty", f"{name} contains only white space")
    return ReadDocument(text=text, kind="text")


def read_document(data: bytes, filename: str, media_type: str | None = None) -> ReadDocument:
    """Read any supported document; every failure is a FlowError with a stable code."""
    if not data:
        raise FlowError("document_empty", f"{filename} is empty (0 bytes)")
    lower = filename.lower()
    if data[:5] == b"%PDF-" or lower.endswith(".pdf") or media_type == "application/pdf":
        return _pdf_text(data, filename)
    if lower.endswith(".eml") or media_type == "message/rfc822":
        return _email_text(data, filename)
    return _plain_text(data, filename)
