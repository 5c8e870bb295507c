"""An :class:`~progbill.einvoice.model.EInvoice` as OASIS UBL 2.1: an ``Invoice``, or a
``CreditNote`` for a credit note, with the CIUS's specification identifier (Peppol BIS Billing
3.0 or XRechnung 3.0). Every preceding invoice is cited (UBL allows many). Elements follow the
order of the UBL 2.1 XSD."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from progbill.einvoice.model import EInvoice, Party

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    element.text = text
    return element


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tax_category(parent: etree._Element, name: str, category: str, rate: Decimal,
                  reason: str = "", code: str = "") -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    if category != "O":
        _cbc(element, "Percent", _number(rate))
    if code:
        _cbc(element, "TaxExemptionReasonCode", code)
    if reason:
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _party(parent: etree._Element, name: str, party: Party, contact: bool) -> None:
    element = _cac(_cac(parent, name), "Party")
    if party.endpoint_id:
        _cbc(element, "EndpointID", party.endpoint_id, schemeID=party.endpoint_scheme)
    _cbc(_cac(element, "PartyName"), "Name", party.name)
    address = _cac(element, "PostalAddress")
    if party.address_lines:
        _cbc(address, "StreetName", party.address_lines[0])
    if len(party.address_lines) > 1:
        _cbc(address, "AdditionalStreetName", party.address_lines[1])
    if party.city:
        _cbc(address, "CityName", party.city)
    if party.postal_code:
        _cbc(address, "PostalZone", party.postal_code)
    if len(party.address_lines) > 2:
        _cbc(_cac(address, "AddressLine"), "Line", ", ".join(party.address_lines[2:]))
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)
    if party.vat_id:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(element, "PartyLegalEntity"), "RegistrationName", party.name)
    if contact and (party.contact_name or party.phone or party.email):
        person = _cac(element, "Contact")
        if party.contact_name:
            _cbc(person, "Name", party.contact_name)
        if party.phone:
            _cbc(person, "Telephone", party.phone)
        if party.email:
            _cbc(person, "ElectronicMail", party.email)


def write_ubl(invoice: EInvoice) -> bytes:
    m = invoice.money
    cur = {"currencyID": invoice.currency}
    credit = invoice.is_credit_note
    root = etree.Element(f"{{{CREDIT_NOTE if credit else INVOICE}}}"
                         f"{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: CREDIT_NOTE if credit else INVOICE, "cac": CAC,
                                "cbc": CBC})
    _cbc(root, "CustomizationID", invoice.specification)
    if invoice.process:
        _cbc(root, "ProfileID", invoice.process)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if not credit:
        _cbc(root, "DueDate", invoice.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", invoice.type_code)
    for note in invoice.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", invoice.currency)
    if invoice.buyer_reference:
        _cbc(root, "BuyerReference", invoice.buyer_reference)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", invoice.period_start.isoformat())
    _cbc(period, "EndDate", invoice.period_end.isoformat())
    if invoice.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", invoice.order_reference)
    for number, issued in invoice.preceding:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", number)
        _cbc(reference, "IssueDate", issued.isoformat())
    if credit:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", invoice.project_id)
        _cbc(reference, "DocumentTypeCode", "50")
    else:
        _cbc(_cac(root, "ProjectReference"), "ID", invoice.project_id)
    _party(root, "AccountingSupplierParty", invoice.seller, contact=True)
    _party(root, "AccountingCustomerParty", invoice.buyer, contact=False)
    if invoice.iban:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "58")
        if credit:
            _cbc(means, "PaymentDueDate", invoice.due_date.isoformat())
        _cbc(means, "PaymentID", invoice.number)
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", invoice.iban)
        if invoice.bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", invoice.bic)
    _cbc(_cac(root, "PaymentTerms"), "Note", invoice.payment_terms)
    for allowance in invoice.allowances:
        element = _cac(root, "AllowanceCharge")
        _cbc(element, "ChargeIndicator", "true" if allowance.charge else "false")
        _cbc(element, "AllowanceChargeReason", allowance.reason)
        _cbc(element, "Amount", m(allowance.amount), **cur)
        _tax_category(element, "TaxCategory", allowance.category, allowance.rate)
    total = _cac(root, "TaxTotal")
    _cbc(total, "TaxAmount", m(invoice.tax_total), **cur)
    for vat in invoice.vat:
        sub = _cac(total, "TaxSubtotal")
        _cbc(sub, "TaxableAmount", m(vat.base), **cur)
        _cbc(sub, "TaxAmount", m(vat.amount), **cur)
        _tax_category(sub, "TaxCategory", vat.category, vat.rate, vat.exemption_reason,
                      vat.exemption_code)
    sums = _cac(root, "LegalMonetaryTotal")
    _cbc(sums, "LineExtensionAmount", m(invoice.line_total), **cur)
    _cbc(sums, "TaxExclusiveAmount", m(invoice.tax_basis), **cur)
    _cbc(sums, "TaxInclusiveAmount", m(invoice.grand_total), **cur)
    if invoice.allowances:
        _cbc(sums, "AllowanceTotalAmount", m(invoice.allowance_total), **cur)
        _cbc(sums, "ChargeTotalAmount", m(invoice.charge_total), **cur)
    _cbc(sums, "PayableAmount", m(invoice.due), **cur)
    for position, line in enumerate(invoice.lines, start=1):
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", str(position))
        _cbc(element, "Note", line.note)
        _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity",
             _number(line.quantity), unitCode=line.unit_code)
        _cbc(element, "LineExtensionAmount", m(line.net), **cur)
        item = _cac(element, "Item")
        _cbc(item, "Name", line.name)
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.line_id)
        _tax_category(item, "ClassifiedTaxCategory", line.category, line.rate)
        _cbc(_cac(element, "Price"), "PriceAmount", _number(line.price), **cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
