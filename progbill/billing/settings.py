"""The settings billing depends on: a plain, immutable value built from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class BillingSettings:
    currency: str = "USD"
    tax_rate: Decimal = Decimal(0)
    tax_base: str = "gross"  # or "net_of_retainage"
    retainage_pct: Decimal = Decimal(0)
    payment_terms_days: int = 30
    invoice_date: str = "period_end"  # or "run_date"
    fiscal_year_start_month: int = 1
    invoice_number: str = "INV-{fy}-{seq:05d}"
    credit_note_number: str = "CN-{fy}-{seq:05d}"
    seller_state: str = ""  # India GST: decides CGST + SGST against IGST
    quantity_overrun_limit_pct: Decimal | None = None  # off: quantity overruns only warn
