"""ZUGFeRD 1.0 read as CII D16B: the same data model under older element names.

ZUGFeRD 1.0 (2014) is CII D13B with the vocabulary of its day; ZUGFeRD 2 / Factur-X renamed
a handful of aggregates. Renaming those on a copy of the tree lets one reader (the
`factur-x` library's) serve both; the ZUGFeRD 1.0 XSD has checked the original already.
"""

from __future__ import annotations

import copy

from lxml import etree

__all__ = ["ZUGFERD1_LEVELS", "ZUGFERD1_NS", "as_cii_d16b"]

ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"
_NS = {
    ZUGFERD1_NS: "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12": (
        "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    ),
    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15": (
        "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
    ),
}
_RENAMED = {
    "CrossIndustryDocument": "CrossIndustryInvoice",
    "SpecifiedExchangedDocumentContext": "ExchangedDocumentContext",
    "HeaderExchangedDocument": "ExchangedDocument",
    "SpecifiedSupplyChainTradeTransaction": "SupplyChainTradeTransaction",
    "ApplicableSupplyChainTradeAgreement": "ApplicableHeaderTradeAgreement",
    "ApplicableSupplyChainTradeDelivery": "ApplicableHeaderTradeDelivery",
    "ApplicableSupplyChainTradeSettlement": "ApplicableHeaderTradeSettlement",
    "SpecifiedSupplyChainTradeAgreement": "SpecifiedLineTradeAgreement",
    "SpecifiedSupplyChainTradeDelivery": "SpecifiedLineTradeDelivery",
    "SpecifiedSupplyChainTradeSettlement": "SpecifiedLineTradeSettlement",
    "ApplicablePercent": "RateApplicablePercent",
}
#: The monetary summation kept its name in 1.0 at both levels; D16B tells them apart.
_SUMMATION = "SpecifiedTradeSettlementMonetarySummation"
_SUMMATION_BY_PARENT = {  # parents come first in document order: already renamed
    "ApplicableHeaderTradeSettlement": "SpecifiedTradeSettlementHeaderMonetarySummation",
    "SpecifiedLineTradeSettlement": "SpecifiedTradeSettlementLineMonetarySummation",
}
#: The profile part of a ZUGFeRD 1.0 guideline id, and the D16B profile read the same way.
ZUGFERD1_LEVELS = {"basic": "basic", "comfort": "en16931", "extended": "extended"}


def as_cii_d16b(root: etree._Element) -> etree._Element:
    """A copy of a ZUGFeRD 1.0 document in CII D16B names and namespaces."""
    tree = copy.deepcopy(root)
    for element in tree.iter(etree.Element):
        qname = etree.QName(element)
        local = qname.localname
        if local == _SUMMATION:
            parent = element.getparent()
            parent_name = etree.QName(parent).localname if parent is not None else ""
            local = _SUMMATION_BY_PARENT.get(parent_name, local)
        elif local == "ID" and _is_reference(element):
            local = "IssuerAssignedID"
        else:
            local = _RENAMED.get(local, local)
        namespace = _NS.get(qname.namespace or "", qname.namespace)
        element.tag = etree.QName(namespace, local).text
    return tree


def _is_reference(element: etree._Element) -> bool:
    parent = element.getparent()
    return parent is not None and etree.QName(parent).localname.endswith("ReferencedDocument")
