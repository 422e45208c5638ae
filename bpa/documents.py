"""Content-addressed storage of input documents, so a run never loses what it was given.

A document is named by the SHA-256 of its bytes, nothing else. This module is the one place
that turns a document reference into a path: a reference is accepted only as 64 lowercase
hex digits (`DocumentRef.sha256`), the path is built from it under the store's root and
checked to stay there, and the file's real size is read from the file system before a byte
of it is: a reference names content the store holds, never a place on disk.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from bpa.errors import FlowError

__all__ = ["DocumentError", "DocumentRef", "DocumentStore", "Sha256Hex"]

Sha256Hex = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(description="The SHA-256 of the document's bytes, as 64 lowercase hex digits"),
]


class DocumentRef(BaseModel):
    """A document a run was given. `sha256` is None when it was not stored (over the limit).

    `size` as a client states it is not trusted: the store reads the stored file's own size
    (`DocumentStore.verified`, `DocumentStore.read`).
    """

    filename: str = Field(max_length=255)
    size: int = Field(ge=0)
    media_type: str = Field(default="application/octet-stream", max_length=255)
    sha256: Sha256Hex | None = None
    stored: bool = True
    note: str | None = Field(default=None, max_length=500)


class DocumentError(FlowError):
    """A reference the store cannot serve: unknown, not stored, too large, or altered."""


class DocumentStore:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def area(self, name: str, *, max_bytes: int | None = None) -> DocumentStore:
        """A store of its own beside this one's documents, for files only one flow may read
        (a vendor master an admin uploaded): a reference into it names nothing in this
        store, so it cannot be handed to another flow's run or shown as a run's document."""
        if not name.isidentifier():
            raise ValueError(f"an area name is an identifier, not {name!r}")
        return DocumentStore(self.root / "areas" / name, max_bytes=max_bytes or self.max_bytes)

    def _path(self, sha256: str) -> Path:
        """The stored file of a digest: only ever a file two levels below the root."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise DocumentError(
                "document_reference_invalid",
                "a document reference must be the 64-hex-digit SHA-256 the store returned "
                "when the file was uploaded",
            )
        root = self.root.resolve()
        path = root / sha256[:2] / sha256  # not resolved: a link there is refused on lstat
        if path.parent.parent != root:  # belt and braces: the digest check already ensures it
            raise DocumentError("document_reference_invalid", "the reference leaves the store")
        return path

    def describe(self, data: bytes, filename: str, media_type: str | None = None) -> DocumentRef:
        """The reference `put` would return, without storing anything."""
        filename = _safe_name(filename)
        media = (media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream")[
            :255
        ]
        if len(data) > self.max_bytes:
            return DocumentRef(
                filename=filename,
                size=len(data),
                media_type=media,
                stored=False,
                note=f"not stored: over the {self.max_bytes}-byte limit",
            )
        digest = hashlib.sha256(data).hexdigest()
        return DocumentRef(filename=filename, size=len(data), media_type=media, sha256=digest)

    def put(self, data: bytes, filename: str, media_type: str | None = None) -> DocumentRef:
        return self.keep(self.describe(data, filename, media_type), data)

    def keep(self, ref: DocumentRef, data: bytes) -> DocumentRef:
        """Store `data` under the reference `describe` made of it (nothing, when it was over
        the limit), without hashing it again."""
        if ref.sha256 is None:
            return ref
        path = self._path(ref.sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{ref.sha256}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return ref

    def put_file(self, path: Path) -> DocumentRef:
        size = path.stat().st_size
        if size > self.max_bytes:
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return DocumentRef(
                filename=_safe_name(path.name),
                size=size,
                media_type=media,
                stored=False,
                note=f"not stored: over the {self.max_bytes}-byte limit",
            )
        return self.put(path.read_bytes(), path.name)

    def _stored_size(self, ref: DocumentRef) -> tuple[Path, int]:
        if (not ref.stored or ref.sha256 is None) and ref.size > self.max_bytes:
            raise _too_large(ref.filename, ref.size, self.max_bytes)
        if not ref.stored or ref.sha256 is None:
            raise DocumentError(
                "document_not_stored",
                f"{ref.filename} was not stored ({ref.note or 'no content'}); send it again "
                "within the limit (BPA_MAX_DOCUMENT_BYTES)",
            )
        path = self._path(ref.sha256)
        try:
            info = path.lstat()
        except FileNotFoundError:
            raise DocumentError(
                "document_unknown",
                f"no stored document has the SHA-256 given for {ref.filename}; upload the "
                "file (multipart) instead of referring to it",
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError("document_unknown", f"{ref.filename} is not a stored document")
        if info.st_size > self.max_bytes:
            raise _too_large(ref.filename, info.st_size, self.max_bytes)
        return path, info.st_size

    def verified(self, ref: DocumentRef) -> DocumentRef:
        """The reference with the facts the store holds (size), or a `DocumentError`.

        For references a client sends instead of a file: they must name a document this
        store holds, and its size is taken from the file, not from the client.
        """
        _, size = self._stored_size(ref)
        return ref.model_copy(update={"size": size})

    def read(self, ref: DocumentRef) -> bytes:
        """The document's bytes; the size is checked on the file before it is read, and the
        content against its digest after."""
        path, size = self._stored_size(ref)
        with path.open("rb") as handle:
            data = handle.read(size + 1)
        if len(data) != size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise DocumentError(
                "document_altered",
                f"the stored copy of {ref.filename} no longer matches its SHA-256; upload it again",
            )
        return data


def _too_large(filename: str, size: int, limit: int) -> DocumentError:
    return DocumentError(
        "document_too_large",
        f"{filename} is {size:,} bytes, over the {limit:,}-byte limit "
        "(BPA_MAX_DOCUMENT_BYTES); split it or raise the limit",
        size=size,
    )


def _safe_name(filename: str) -> str:
    """A display name: the last path component, without control characters, at most 255."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name or "upload")[:255]
