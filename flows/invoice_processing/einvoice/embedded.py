"""The invoice XML inside a PDF/A-3 (ZUGFeRD, Factur-X, XRechnung embedded).

The attachment is chosen by the names the standards fix (`factur-x.xml`,
`zugferd-invoice.xml`, `ZUGFeRD-invoice.xml`, `xrechnung.xml`), as the `factur-x` library
does; a PDF carrying other XML (a delivery note, logistics data) is not an e-invoice.
pypdf bounds what a compressed stream may inflate to; `parse_xml` bounds the XML.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from facturx import facturx as fx
from pypdf import PdfReader
from pypdf.errors import PyPdfError

__all__ = ["EmbeddedXml", "embedded_invoice_xml"]

_NAMES = (fx.FACTURX_FILENAME, fx.ZUGFERD_FILENAME, "xrechnung.xml")
_WANTED = {name.lower(): rank for rank, name in enumerate(_NAMES)}
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class EmbeddedXml:
    name: str
    data: bytes


def embedded_invoice_xml(pdf: bytes) -> EmbeddedXml | None:
    """The PDF's invoice attachment, or None (no attachment, or a PDF pypdf cannot open:
    the text reader then says what is wrong with it)."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            return None
        found = [
            (rank, attachment.name, attachment.content)
            for attachment in reader.attachment_list
            if (rank := _WANTED.get(attachment.name.lower())) is not None
        ]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError):
        return None
    if not found:
        return None
    _, name, data = min(found, key=lambda item: item[0])
    return EmbeddedXml(name=name, data=data)
