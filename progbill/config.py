"""``progbill.toml``: every key optional, every unknown key or bad value a ConfigError naming it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from progbill.billing.numbering import check_template, templates_collide
from progbill.billing.settings import BillingSettings
from progbill.money import MoneyError, decimal_from_float, is_known_currency
from progbill.problems import ConfigError

CONFIG_NAME = "progbill.toml"


@dataclass(frozen=True)
class Seller:
    name: str = "Your Company Name"
    address: str = ""
    tax_id: str = ""
    state: str = ""
    email: str = ""
    phone: str = ""
    logo: str = ""
    bank_details: str = ""
    # structured e-invoices (README "E-invoices")
    country: str = ""  # ISO 3166-1 alpha-2, e.g. DE
    city: str = ""
    postal_code: str = ""
    endpoint_id: str = ""  # the Peppol electronic address, e.g. 0202239951
    endpoint_scheme: str = ""  # its EAS scheme, e.g. 0208 (Belgian enterprise number)
    iban: str = ""
    bic: str = ""
    contact: str = ""  # the seller's contact person (XRechnung); default: the seller's name


EINVOICE_FORMATS = ("factur-x", "ubl")


@dataclass(frozen=True)
class EInvoiceSettings:
    formats: tuple[str, ...] = ()  # off unless chosen: "factur-x", "ubl"
    ubl_cius: str = "peppol"  # or "xrechnung"
    type_codes: str = "standard"  # 380/381, or "construction": 875 partial construction invoice
    rules_dir: str = ""  # the official schematron releases (Peppol, XRechnung, CEN)

    @property
    def enabled(self) -> bool:
        return bool(self.formats)


@dataclass(frozen=True)
class OutputSettings:
    locale: str = "en_US"
    page_size: str = "A4"
    template_dir: str = ""
    ledger_backups: int = 5  # earlier ledger.xlsx versions kept in backups/
    store_backups: int = 5  # copies of progbill.db kept in backups/ (one after each run)
    max_logo_pixels: int = 20_000_000  # a larger logo is left off (checked before decoding)
    amount_in_words: str = "auto"  # "auto" (GST invoices), "always" or "never"


@dataclass(frozen=True)
class WatchSettings:
    period: str = "previous-month"  # or "current-month", or a fixed "YYYY-MM"
    settle_seconds: float = 5.0  # a dropped file must be unchanged this long before a run


@dataclass(frozen=True)
class InputSettings:
    date_order: str = "DMY"
    max_file_mb: float = 50
    max_rows: int = 200_000  # a sheet reaching further is refused (its extent is measured first)
    percent_scale: str = "auto"  # plain 0-1 percents: an error, or "fraction" / "percent"
    max_columns: int = 200


@dataclass(frozen=True)
class TaxAccount:
    """A tax account of ``[[accounts.tax]]``: the documents' tax lines it takes (label, rate,
    reverse charge or not) and the codes packages need with it."""

    label: str  # the document's tax label: VAT, GST, CGST, SGST, IGST, Tax
    rate: Decimal
    account: str
    reverse_charge: bool = False
    sage_tax_code: str = ""  # T0-T9
    datev_bu: str = ""  # DATEV BU-Schlüssel (tax key)
    xero_tax_type: str = ""  # e.g. OUTPUT2, ZERORATEDOUTPUT, ECOUTPUTSERVICES
    quickbooks_tax_code: str = ""  # the tax code's name in QuickBooks
    zoho_tax_name: str = ""  # the tax's name in Zoho Books

    def matches(self, label: str, rate: Decimal, reverse_charge: bool) -> bool:
        return (self.label.casefold() == label.casefold() and self.rate == rate
                and self.reverse_charge == reverse_charge)


@dataclass(frozen=True)
class AccountsSettings:
    """``[accounts]``: progbill's amounts mapped to the user's chart of accounts."""

    receivable: str = ""
    retainage_receivable: str = ""
    revenue: str = ""
    stored_materials: str = ""  # default: revenue
    bank: str = ""
    rounding: str = ""
    currency: str = ""  # the books' currency; default billing.currency
    xero_no_tax_type: str = "Tax Exempt"  # Xero's tax rate for lines and journals without tax
    taxes: tuple[TaxAccount, ...] = ()

    def tax_for(self, label: str, rate: Decimal, reverse_charge: bool) -> TaxAccount | None:
        return next((t for t in self.taxes if t.matches(label, rate, reverse_charge)), None)


@dataclass(frozen=True)
class DatevSettings:
    """``[datev]``: what the DATEV EXTF header needs."""

    consultant: int = 0  # Beraternummer
    client: int = 0  # Mandantennummer
    fiscal_year_start: str = ""  # MM-DD, e.g. 01-01
    account_length: int = 4  # Sachkontenlänge
    chart: str = ""  # SKR03 / SKR04 (information only)


@dataclass(frozen=True)
class Config:
    seller: Seller = field(default_factory=Seller)
    billing: BillingSettings = field(default_factory=BillingSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    input: InputSettings = field(default_factory=InputSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    einvoice: EInvoiceSettings = field(default_factory=EInvoiceSettings)
    accounts: AccountsSettings = field(default_factory=AccountsSettings)
    datev: DatevSettings = field(default_factory=DatevSettings)
    path: Path | None = None  # where it was read from
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths (logo, templates) start here

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path


_SECTIONS = {"seller", "billing", "output", "input", "watch", "einvoice", "accounts", "datev"}


def _text(section: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{section}.{key}: expected text in quotes, got {value!r}")
    return value


def _percent(section: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{section}.{key}: expected a number of percent, got {value!r}")
    try:
        number = Decimal(value) if isinstance(value, int) else decimal_from_float(value)
    except MoneyError as exc:
        raise ConfigError(f"{section}.{key}: {exc.message}") from exc
    if not 0 <= number <= 100:
        raise ConfigError(f"{section}.{key}: {number} is not a percent from 0 to 100")
    return number


def _int(section: str, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{section}.{key}: expected a whole number from {low} to {high}, "
                          f"got {value!r}")
    return value


def _choice(section: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{section}.{key}: {value!r} is not one of "
                          f"{', '.join(repr(c) for c in choices)}")
    return str(value)


def _check_keys(section: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"[{section}] must be a table of settings")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"[{section}] has unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return table


def parse_config(data: dict[str, Any], path: Path | None = None,
                 base_dir: Path | None = None) -> Config:
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section{'s' if len(unknown) > 1 else ''} "
                          f"[{'], ['.join(unknown)}]; allowed: [seller], [billing], [output], "
                          "[input], [watch], [einvoice], [accounts], [datev]")
    seller_t = _check_keys("seller", data.get("seller", {}), set(Seller.__dataclass_fields__))
    seller = Seller(**{k: _text("seller", k, v) for k, v in seller_t.items()})

    billing_t = _check_keys("billing", data.get("billing", {}),
                            set(BillingSettings.__dataclass_fields__) - {"seller_state"})
    defaults = BillingSettings()
    b: dict[str, Any] = {}
    for key, value in billing_t.items():
        if key == "currency":
            code = _text("billing", key, value).upper()
            if not is_known_currency(code):
                raise ConfigError(f"billing.currency: {value!r} is not an ISO 4217 code")
            b[key] = code
        elif key in ("tax_rate", "retainage_pct"):
            b[key] = _percent("billing", key, value)
        elif key == "quantity_overrun_limit_pct":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"billing.{key}: expected a percent of 0 or more, got "
                                  f"{value!r}")
            b[key] = Decimal(value) if isinstance(value, int) else decimal_from_float(value)
        elif key == "tax_base":
            b[key] = _choice("billing", key, value, ("gross", "net_of_retainage"))
        elif key == "payment_terms_days":
            b[key] = _int("billing", key, value, 0, 3650)
        elif key == "invoice_date":
            b[key] = _choice("billing", key, value, ("period_end", "run_date"))
        elif key == "fiscal_year_start_month":
            b[key] = _int("billing", key, value, 1, 12)
        elif key in ("invoice_number", "credit_note_number"):
            template = _text("billing", key, value)
            why = check_template(template)
            if why:
                raise ConfigError(f"billing.{key}: {why}")
            b[key] = template
    invoices = b.get("invoice_number", defaults.invoice_number)
    credits = b.get("credit_note_number", defaults.credit_note_number)
    both = templates_collide(invoices, credits)
    if both is not None:
        raise ConfigError(
            f"billing.credit_note_number: {credits!r} and invoice_number {invoices!r} can "
            f"produce the same number (both can give {both!r}, ignoring case and '/' "
            "against '-'), so a credit note could take an invoice's number or its PDF's file "
            "name; give credit notes a prefix of their own, such as CN-{fy}-{seq:05d}")
    billing = BillingSettings(**{**defaults.__dict__, **b, "seller_state": seller.state})

    output_t = _check_keys("output", data.get("output", {}),
                           set(OutputSettings.__dataclass_fields__))
    o: dict[str, Any] = {}
    for key, value in output_t.items():
        if key == "page_size":
            o[key] = _choice("output", key, value, ("A4", "Letter"))
        elif key in ("ledger_backups", "store_backups"):
            o[key] = _int("output", key, value, 0, 1000)
        elif key == "max_logo_pixels":
            o[key] = _int("output", key, value, 1, 200_000_000)
        elif key == "amount_in_words":
            o[key] = _choice("output", key, value, ("auto", "always", "never"))
        elif key == "locale":
            o[key] = _locale("output", key, value)
        else:
            o[key] = _text("output", key, value)
    output = OutputSettings(**o)

    input_t = _check_keys("input", data.get("input", {}), set(InputSettings.__dataclass_fields__))
    i: dict[str, Any] = {}
    for key, value in input_t.items():
        if key == "date_order":
            i[key] = _choice("input", key, value, ("DMY", "MDY"))
        elif key == "max_file_mb":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    0 < value <= 4096):
                raise ConfigError(f"input.max_file_mb: expected a size in MB from 1 to 4096, "
                                  f"got {value!r}")
            i[key] = float(value)
        elif key == "percent_scale":
            i[key] = _choice("input", key, value, ("auto", "fraction", "percent"))
        elif key == "max_rows":
            i[key] = _int("input", key, value, 10, 1_048_576)
        elif key == "max_columns":
            i[key] = _int("input", key, value, 5, 16_384)
    watch_t = _check_keys("watch", data.get("watch", {}), set(WatchSettings.__dataclass_fields__))
    w: dict[str, Any] = {}
    for key, value in watch_t.items():
        if key == "period":
            w[key] = _period_rule("watch", key, value)
        elif key == "settle_seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    0 <= value <= 3600):
                raise ConfigError(f"watch.settle_seconds: expected seconds from 0 to 3600, "
                                  f"got {value!r}")
            w[key] = float(value)
    einvoice = _einvoice(data.get("einvoice", {}), seller)
    accounts = _accounts(data.get("accounts", {}))
    datev = _datev(data.get("datev", {}))
    return Config(seller, billing, output, InputSettings(**i), WatchSettings(**w), einvoice,
                  accounts, datev, path, base_dir or (path.parent if path else Path.cwd()))


def _accounts(table: Any) -> AccountsSettings:
    """``[accounts]`` and its ``[[accounts.tax]]`` entries."""
    fields = set(AccountsSettings.__dataclass_fields__) - {"taxes"} | {"tax"}
    table = _check_keys("accounts", table, fields)
    a: dict[str, Any] = {}
    for key, value in table.items():
        if key == "tax":
            if not isinstance(value, list):
                raise ConfigError("accounts.tax: write each tax account as its own "
                                  "[[accounts.tax]] table (README \"Posting to your books\")")
            a["taxes"] = tuple(_tax_account(i + 1, entry) for i, entry in enumerate(value))
        elif key == "currency":
            code = _text("accounts", key, value).upper()
            if not is_known_currency(code):
                raise ConfigError(f"accounts.currency: {value!r} is not an ISO 4217 code")
            a[key] = code
        else:
            a[key] = _text("accounts", key, value).strip()
    seen: set[tuple[str, Decimal, bool]] = set()
    for tax in a.get("taxes", ()):
        key = (tax.label.casefold(), tax.rate, tax.reverse_charge)
        if key in seen:
            raise ConfigError(f"[[accounts.tax]]: {tax.label} {tax.rate}% "
                              f"{'(reverse charge) ' if tax.reverse_charge else ''}is mapped "
                              "twice; keep one entry")
        seen.add(key)
    return AccountsSettings(**a)


def _tax_account(position: int, entry: Any) -> TaxAccount:
    where = f"accounts.tax (entry {position})"
    entry = _check_keys(where, entry, set(TaxAccount.__dataclass_fields__))
    for required in ("label", "rate", "account"):
        if required not in entry:
            raise ConfigError(f"{where}: needs {required} (label, rate and account name the "
                              "documents' tax lines it takes and where they are posted)")
    t: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "rate":
            t[key] = _percent(where, key, value)
        elif key == "reverse_charge":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.reverse_charge: expected true or false")
            t[key] = value
        else:
            t[key] = _text(where, key, value).strip()
    code = t.get("sage_tax_code", "")
    if code and not (len(code) == 2 and code[0] == "T" and code[1].isdigit()):
        raise ConfigError(f"{where}.sage_tax_code: {code!r} is not a Sage tax code T0-T9")
    return TaxAccount(**t)


def _datev(table: Any) -> DatevSettings:
    table = _check_keys("datev", table, set(DatevSettings.__dataclass_fields__))
    d: dict[str, Any] = {}
    for key, value in table.items():
        if key == "consultant":
            d[key] = _int("datev", key, value, 1001, 9_999_999)
        elif key == "client":
            d[key] = _int("datev", key, value, 1, 99_999)
        elif key == "account_length":
            d[key] = _int("datev", key, value, 4, 8)
        elif key == "fiscal_year_start":
            text = _text("datev", key, value)
            import re

            if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", text):
                raise ConfigError(f"datev.fiscal_year_start: {text!r} is not a month and day "
                                  "written MM-DD, such as 01-01")
            d[key] = text
        else:
            d[key] = _text("datev", key, value)
    return DatevSettings(**d)


def _einvoice(table: Any, seller: Seller) -> EInvoiceSettings:
    """``[einvoice]``: formats, the UBL rule set, type codes, the rules folder. Per country:
    France's rules (BR-FR-04) forbid the construction type codes."""
    table = _check_keys("einvoice", table, set(EInvoiceSettings.__dataclass_fields__))
    e: dict[str, Any] = {}
    for key, value in table.items():
        if key == "formats":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"einvoice.formats: expected a list such as "
                                  f"[\"factur-x\", \"ubl\"], got {value!r}")
            for item in value:
                if item == "irp":
                    raise ConfigError(
                        "einvoice.formats: \"irp\" (India's IRP JSON) is not built yet; "
                        "progbill writes factur-x and ubl")
                _choice("einvoice", key, item, EINVOICE_FORMATS)
            e[key] = tuple(dict.fromkeys(value))
        elif key == "ubl_cius":
            e[key] = _choice("einvoice", key, value, ("peppol", "xrechnung"))
        elif key == "type_codes":
            e[key] = _choice("einvoice", key, value, ("standard", "construction"))
        else:
            e[key] = _text("einvoice", key, value)
    settings = EInvoiceSettings(**e)
    if settings.enabled and settings.type_codes == "construction" \
            and seller.country.strip().upper() == "FR":
        raise ConfigError(
            "einvoice.type_codes: \"construction\" (875) is refused for a French seller: "
            "France's e-invoicing rules (BR-FR-04) do not allow the construction type codes; "
            "use type_codes = \"standard\" (380/381)")
    return settings


def einvoice_missing(config: Config) -> list[str]:
    """The settings the chosen e-invoice formats need and the configuration lacks."""
    settings, seller = config.einvoice, config.seller
    if not settings.enabled:
        return []
    need = ["name", "country", "tax_id"]
    if "ubl" in settings.formats:
        need += ["endpoint_id", "endpoint_scheme"]
        if settings.ubl_cius == "xrechnung":
            need += ["city", "postal_code", "iban", "phone", "email"]
    missing = [f"seller.{k}" for k in dict.fromkeys(need)
               if not str(getattr(seller, k)).strip()]
    country = seller.country.strip()
    if country and (len(country) != 2 or not country.isalpha()):
        missing.append(f"seller.country (a two-letter ISO code such as DE, not {country!r})")
    return missing


def _period_rule(section: str, key: str, value: Any) -> str:
    from progbill.billing.periods import Period

    text = _text(section, key, value)
    if text in ("previous-month", "current-month"):
        return text
    try:
        Period.parse(text)
    except ValueError as exc:
        raise ConfigError(f"{section}.{key}: {text!r} is not previous-month, current-month or "
                          "a month written YYYY-MM") from exc
    return text


def _locale(section: str, key: str, value: Any) -> str:
    from babel import Locale, UnknownLocaleError

    text = _text(section, key, value)
    try:
        Locale.parse(text)
    except (UnknownLocaleError, ValueError) as exc:
        raise ConfigError(f"{section}.{key}: {text!r} is not a known locale "
                          "(examples: en_US, en_GB, en_IN, de_DE, fr_FR)") from exc
    return text


def load_config(path: Path, base_dir: Path | None = None) -> Config:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return parse_config(data, path, base_dir)
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {exc.message}") from exc


DEFAULT_TOML = '''\
# progbill settings. Every key is optional; delete a line to use the default shown.
# Reference: README.md, "Configuration".

[seller]                       # printed on every document
name = "Your Company Name"
address = "1 Main Street\\nSpringfield"
tax_id = ""                    # VAT number / GSTIN / EIN
state = ""                     # India GST: your state, to split CGST + SGST from IGST
email = ""
phone = ""
logo = ""                      # image path relative to this folder, e.g. "logo.png"
bank_details = ""              # printed under the totals, e.g. "Bank: ... IBAN: ..."
# for structured e-invoices ([einvoice] below; README "E-invoices"):
country = ""                   # ISO code, e.g. DE
city = ""
postal_code = ""
endpoint_scheme = ""           # Peppol EAS scheme of your electronic address, e.g. 0208
endpoint_id = ""               # e.g. 0202239951
iban = ""
bic = ""
contact = ""                   # contact person (default: the seller's name)

[billing]
currency = "USD"               # when a workbook gives none (ISO 4217)
tax_rate = 0                   # percent, when a workbook gives none
tax_base = "gross"             # or "net_of_retainage" (tax on retention when released)
retainage_pct = 0              # percent withheld, when a workbook gives none
payment_terms_days = 30
invoice_date = "period_end"    # or "run_date"
fiscal_year_start_month = 1    # 4 for India (April)
invoice_number = "INV-{fy}-{seq:05d}"
credit_note_number = "CN-{fy}-{seq:05d}"
# quantity_overrun_limit_pct = 25  # quantity lines measured beyond their contract quantity are
                                   # billed with a warning; past this overrun they are errors

[output]
locale = "en_US"               # numbers, currencies and dates on documents
page_size = "A4"               # or "Letter"
template_dir = ""              # your own templates; empty = the bundled ones
ledger_backups = 5             # earlier ledger.xlsx versions kept in backups/
store_backups = 5              # copies of progbill.db kept in backups/ (progbill restore)
max_logo_pixels = 20000000     # a larger logo image is left off the documents, with a warning
amount_in_words = "auto"       # "auto" (on GST tax invoices), "always" or "never"

[einvoice]                     # structured e-invoices beside the PDFs (README "E-invoices")
formats = []                   # off; ["factur-x"], ["ubl"] or both
ubl_cius = "peppol"            # or "xrechnung"
type_codes = "standard"        # 380/381, or "construction" (875 partial construction invoice)
rules_dir = ""                 # the official Peppol / XRechnung / CEN schematron releases

[watch]                        # `progbill watch`: the drop-folder service
period = "previous-month"      # the month each run bills: previous-month, current-month, YYYY-MM
settle_seconds = 5             # a dropped file must be unchanged this long before a run

[input]
date_order = "DMY"             # how to read text dates like 03/04/2026; or "MDY"
max_file_mb = 50
percent_scale = "auto"         # percent columns of plain 0-1 numbers: "auto" refuses them as
                               # ambiguous; "fraction" (0.9 = 90%) or "percent" (0.9 = 0.9%)
max_rows = 200000              # a sheet reaching beyond this row is refused
max_columns = 200              # ... or beyond this column
'''
