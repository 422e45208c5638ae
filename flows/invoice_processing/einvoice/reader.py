"""Recognise a structured invoice in a document and read it exactly.

An XML file is read as CII (ZUGFeRD 2, Factur-X, XRechnung), ZUGFeRD 1.0, UBL 2.1 Invoice or
CreditNote (XRechnung, Peppol BIS Billing 3.0) or FatturaPA, after its official XSD has
accepted it; one that is not well-formed, not an invoice, or not valid is refused with the
reason. A PDF is searched for the invoice XML the standards embed; without one it is an
ordinary PDF for the text extractor.
"""

from __future__ import annotations

from facturx import facturx as fx
from lxml import etree

from bpa.errors import FlowError
from flows.invoice_processing.einvoice import fatturapa
from flows.invoice_processing.einvoice._xml import parse_xml, schema_errors
from flows.invoice_processing.einvoice.en16931 import read_en16931
from flows.invoice_processing.einvoice.model import EInvoice, Source, Syntax
from flows.invoice_processing.einvoice.zugferd1 import ZUGFERD1_LEVELS, ZUGFERD1_NS, as_cii_d16b

__all__ = ["is_xml", "read_xml_invoice", "xml_text"]

_UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
_SUPPORTED = (
    "CII (ZUGFeRD 2, Factur-X, XRechnung), ZUGFeRD 1.0, UBL 2.1 Invoice or CreditNote "
    "(XRechnung, Peppol BIS) and FatturaPA"
)


def is_xml(data: bytes, filename: str, media_type: str | None) -> bool:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    media = (media_type or "").split(";")[0].strip().lower()
    return (
        filename.lower().endswith(".xml")
        or media in ("application/xml", "text/xml")
        or head.startswith(b"<?xml")
    )


def xml_text(data: bytes, name: str) -> str:
    """The words of an XML invoice, one text node a line, for the checks that read text
    (instructions aimed at the system): embedded files (base64) left out."""
    root = parse_xml(data, name)
    return "\n".join(
        text
        for element in root.iter(etree.Element)
        if not etree.QName(element).localname.endswith("BinaryObject")
        and (text := " ".join((element.text or "").split()))
    )


def _syntax(root: etree._Element, name: str) -> tuple[Syntax, str]:
    """The syntax and the `factur-x` flavor of a document, or a refusal."""
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    if qname.localname == "CrossIndustryInvoice":
        return "cii", "factur-x"
    if namespace == ZUGFERD1_NS:
        return "zugferd1", "zugferd"
    if qname.localname in ("Invoice", "CreditNote") and namespace.startswith(_UBL):
        return "ubl", f"ubl-2.1-{qname.localname.lower()}"
    if qname.localname == "FatturaElettronica":
        return "fatturapa", "fatturapa"
    raise FlowError(
        "einvoice_unsupported",
        f"{name} is XML ({qname.localname}) but not an e-invoice this flow reads; "
        f"it reads {_SUPPORTED}",
    )


def _level(root: etree._Element, flavor: str) -> str | None:
    if flavor not in ("factur-x", "zugferd"):
        return None
    try:
        return str(fx.get_level(root, flavor))
    except Exception:  # an unknown guideline id: checked and read as plain EN 16931
        return None


def _source(syntax: Syntax, invoice: EInvoice, attachment: str | None) -> Source:
    profile, name = (invoice.profile or "").lower(), (attachment or "").lower()
    if syntax == "fatturapa":
        return "fatturapa"
    if "xrechnung" in profile or name == "xrechnung.xml":
        return "xrechnung"
    if syntax == "zugferd1" or "zugferd" in name:
        return "zugferd"
    if attachment is not None:
        return "facturx"
    return "ubl" if syntax == "ubl" else "cii"


def read_xml_invoice(data: bytes, name: str, attachment: str | None = None) -> EInvoice:
    """The invoice in `data` (a file of its own, or the PDF attachment `attachment`)."""
    try:
        return _read(data, name, attachment)
    except FlowError:
        raise
    except (ValueError, TypeError, ArithmeticError, etree.LxmlError) as exc:  # odd input
        raise FlowError(
            "einvoice_invalid", f"{name} could not be read as an e-invoice: {exc}"
        ) from exc


def _read(data: bytes, name: str, attachment: str | None) -> EInvoice:
    root = parse_xml(data, name)
    syntax, flavor = _syntax(root, name)
    if syntax == "fatturapa":
        invoice = fatturapa.read_fatturapa(root, name)
    else:
        level = _level(root, flavor)
        errors = schema_errors(root, flavor, level)
        if errors:
            raise FlowError(
                "einvoice_schema_invalid",
                f"{name} is not valid against the official {flavor} schema"
                f"{f' ({level} profile)' if level else ''}: {errors[0]}",
                errors=errors,
            )
        if syntax == "zugferd1":
            root, flavor = as_cii_d16b(root), "factur-x"
            level = ZUGFERD1_LEVELS.get(level or "", "en16931")
        invoice = read_en16931(root, flavor, level, source="cii", syntax=syntax)
    container = "pdf" if attachment is not None else "xml"
    return invoice.model_copy(
        update={
            "source": _source(syntax, invoice, attachment),
            "container": container,
            "attachment": attachment,
        }
    )
