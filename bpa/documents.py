"""Content-addressed storage of input documents, so a run never loses what it was given."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["DocumentRef", "DocumentStore"]


class DocumentRef(BaseModel):
    """A document a run was given. `sha256` is None when it was not stored (over the limit)."""

    filename: str
    size: int = Field(ge=0)
    media_type: str = "application/octet-stream"
    sha256: str | None = None
    stored: bool = True
    note: str | None = None


class DocumentStore:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, filename: str, media_type: str | None = None) -> DocumentRef:
        media = media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if len(data) > self.max_bytes:
            return DocumentRef(
                filename=filename,
                size=len(data),
                media_type=media,
                stored=False,
                note=f"not stored: over the {self.max_bytes}-byte limit",
            )
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return DocumentRef(filename=filename, size=len(data), media_type=media, sha256=digest)

    def put_file(self, path: Path) -> DocumentRef:
        size = path.stat().st_size
        if size > self.max_bytes:
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return DocumentRef(
                filename=path.name,
                size=size,
                media_type=media,
                stored=False,
                note=f"not stored: over the {self.max_bytes}-byte limit",
            )
        return self.put(path.read_bytes(), path.name)

    def read(self, ref: DocumentRef) -> bytes:
        if not ref.stored or ref.sha256 is None:
            raise FileNotFoundError(f"{ref.filename} was not stored ({ref.note})")
        return self._path(ref.sha256).read_bytes()
