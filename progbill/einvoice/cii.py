"""An :class:`~progbill.einvoice.model.EInvoice` as UN/CEFACT CII D16B (the Factur-X EN 16931
profile): the ``factur-x.xml`` inside a Factur-X PDF.

BT-24 is always ``urn:cen.eu:en16931:2017``: the Factur-X rules reject XRechnung's identifier
(FX-SCH-A-000556), so a German Factur-X keeps EN 16931's. CII D16B allows one preceding-invoice
reference (BG-3), so the latest one is cited. Elements follow the order of the Factur-X XSD.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from progbill.einvoice.model import SPECIFICATION, EInvoice, Party

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "qdt": QDT, "ram": RAM, "udt": UDT}


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None,
        **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _ram(parent: etree._Element, name: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    return _el(parent, RAM, name, text, **attrs)


def _date(parent: etree._Element, name: str, value: date, qualified: bool = False) -> None:
    holder = _ram(parent, name)
    _el(holder, QDT if qualified else UDT, "DateTimeString", value.strftime("%Y%m%d"),
        format="102")


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _party(parent: etree._Element, name: str, party: Party, contact: bool) -> None:
    element = _ram(parent, name)
    _ram(element, "Name", party.name)
    if contact and (party.contact_name or party.phone or party.email):
        trade_contact = _ram(element, "DefinedTradeContact")
        if party.contact_name:
            _ram(trade_contact, "PersonName", party.contact_name)
        if party.phone:
            _ram(_ram(trade_contact, "TelephoneUniversalCommunication"), "CompleteNumber",
                 party.phone)
        if party.email:
            _ram(_ram(trade_contact, "EmailURIUniversalCommunication"), "URIID", party.email)
    address = _ram(element, "PostalTradeAddress")
    if party.postal_code:
        _ram(address, "PostcodeCode", party.postal_code)
    for tag, text in zip(("LineOne", "LineTwo", "LineThree"), party.address_lines[:3],
                         strict=False):
        _ram(address, tag, text)
    if party.city:
        _ram(address, "CityName", party.city)
    _ram(address, "CountryID", party.country)
    if party.endpoint_id:
        _ram(_ram(element, "URIUniversalCommunication"), "URIID", party.endpoint_id,
             schemeID=party.endpoint_scheme)
    if party.vat_id:
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")


def write_cii(invoice: EInvoice) -> bytes:
    m = invoice.money
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _el(root, RSM, "ExchangedDocumentContext")
    if invoice.process:
        _ram(_ram(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID",
             invoice.process)
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID",
         SPECIFICATION["en16931"])
    header = _el(root, RSM, "ExchangedDocument")
    _ram(header, "ID", invoice.number)
    _ram(header, "TypeCode", invoice.type_code)
    _date(header, "IssueDateTime", invoice.issue_date)
    for note in invoice.notes:
        _ram(_ram(header, "IncludedNote"), "Content", note)

    transaction = _el(root, RSM, "SupplyChainTradeTransaction")
    for position, line in enumerate(invoice.lines, start=1):
        item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
        line_doc = _ram(item, "AssociatedDocumentLineDocument")
        _ram(line_doc, "LineID", str(position))
        _ram(_ram(line_doc, "IncludedNote"), "Content", line.note)
        product = _ram(item, "SpecifiedTradeProduct")
        _ram(product, "SellerAssignedID", line.line_id)
        _ram(product, "Name", line.name)
        agreement = _ram(item, "SpecifiedLineTradeAgreement")
        _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", _number(line.price))
        _ram(_ram(item, "SpecifiedLineTradeDelivery"), "BilledQuantity",
             _number(line.quantity), unitCode=line.unit_code)
        settlement = _ram(item, "SpecifiedLineTradeSettlement")
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "CategoryCode", line.category)
        _ram(tax, "RateApplicablePercent", _number(line.rate))
        _ram(_ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation"),
             "LineTotalAmount", m(line.net))

    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    if invoice.buyer_reference:
        _ram(agreement, "BuyerReference", invoice.buyer_reference)
    _party(agreement, "SellerTradeParty", invoice.seller, contact=True)
    _party(agreement, "BuyerTradeParty", invoice.buyer, contact=False)
    if invoice.order_reference:
        _ram(_ram(agreement, "BuyerOrderReferencedDocument"), "IssuerAssignedID",
             invoice.order_reference)
    project = _ram(agreement, "SpecifiedProcuringProject")
    _ram(project, "ID", invoice.project_id)
    _ram(project, "Name", invoice.project_name)
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")  # BT-72: the period's end
    _date(_ram(delivery, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime",
          invoice.period_end)

    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    _ram(settlement, "InvoiceCurrencyCode", invoice.currency)
    if invoice.iban:
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", "58")
        _ram(_ram(means, "PayeePartyCreditorFinancialAccount"), "IBANID", invoice.iban)
        if invoice.bic:
            _ram(_ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID",
                 invoice.bic)
    for vat in invoice.vat:
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "CalculatedAmount", m(vat.amount))
        _ram(tax, "TypeCode", "VAT")
        if vat.exemption_reason:
            _ram(tax, "ExemptionReason", vat.exemption_reason)
        _ram(tax, "BasisAmount", m(vat.base))
        _ram(tax, "CategoryCode", vat.category)
        if vat.exemption_code:
            _ram(tax, "ExemptionReasonCode", vat.exemption_code)
        _ram(tax, "RateApplicablePercent", _number(vat.rate))
    period = _ram(settlement, "BillingSpecifiedPeriod")
    _date(period, "StartDateTime", invoice.period_start)
    _date(period, "EndDateTime", invoice.period_end)
    for allowance in invoice.allowances:
        element = _ram(settlement, "SpecifiedTradeAllowanceCharge")
        _el(_ram(element, "ChargeIndicator"), UDT, "Indicator",
            "true" if allowance.charge else "false")
        _ram(element, "ActualAmount", m(allowance.amount))
        _ram(element, "Reason", allowance.reason)
        tax = _ram(element, "CategoryTradeTax")
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "CategoryCode", allowance.category)
        _ram(tax, "RateApplicablePercent", _number(allowance.rate))
    terms = _ram(settlement, "SpecifiedTradePaymentTerms")
    _ram(terms, "Description", invoice.payment_terms)
    _date(terms, "DueDateDateTime", invoice.due_date)
    totals = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(totals, "LineTotalAmount", m(invoice.line_total))
    if invoice.allowances:
        _ram(totals, "ChargeTotalAmount", m(invoice.charge_total))
        _ram(totals, "AllowanceTotalAmount", m(invoice.allowance_total))
    _ram(totals, "TaxBasisTotalAmount", m(invoice.tax_basis))
    _ram(totals, "TaxTotalAmount", m(invoice.tax_total), currencyID=invoice.currency)
    _ram(totals, "GrandTotalAmount", m(invoice.grand_total))
    _ram(totals, "DuePayableAmount", m(invoice.due))
    if invoice.preceding:
        number, issued = invoice.preceding[-1]
        reference = _ram(settlement, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", number)
        _date(reference, "FormattedIssueDateTime", issued, qualified=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
