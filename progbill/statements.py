"""Client statements: one PDF per client with open items, as of a date.

``progbill statements --as-of 2026-12-31`` writes ``statements/2026-12-31/CLIENT.pdf`` for
every client with an open balance: each open document with its amount, what was paid and
credited against it, its balance and days overdue, per currency, with the ageing and the
retainage held. The same template family (``statement.html`` beside ``invoice.html``),
stylesheet, fonts and locale as the invoices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from progbill import receivables
from progbill.render.context import lines_of
from progbill.render.formatting import Formatter
from progbill.store import Store
from progbill.workspace import Workspace, atomic_write_bytes, workspace_lock

_CLIENT_FILE = re.compile(r"[^\w\- .&,()]+")


@dataclass
class StatementsReport:
    as_of: date
    written: list[str] = field(default_factory=list)  # paths relative to the workspace

    @property
    def exit_code(self) -> int:
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "statements": self.written}


def statement_contexts(store: Store, as_of: date, seller: dict[str, Any], locale: str,
                       page_size: str) -> list[tuple[str, dict[str, Any]]]:
    """(client, template context) for every client with an open balance as of ``as_of``."""
    docs = store.documents()
    voided = store.voided()
    docs = docs[~docs["number"].isin(list(voided))].reset_index(drop=True)
    owed = receivables.balances(docs, store.payments())
    projects = store.projects_summary()
    out = []
    for client, rows in docs.assign(**{c: owed[c].to_numpy() for c in ("paid", "credited",
                                                                          "balance")}
                                    ).groupby("client", sort=True):
        open_rows = rows[rows["balance"] != 0]
        if open_rows.empty:
            continue
        groups = []
        for currency, items in open_rows.groupby("currency", sort=True):
            fmt = Formatter(locale, str(currency))
            aged = receivables.ageing(receivables.open_items(items, items),
                                      projects[(projects["client"] == client)
                                               & (projects["currency"] == currency)]
                                      [["client", "currency", "retainage_held"]], as_of)
            held = int(aged["retainage_held"].sum()) if len(aged) else 0
            groups.append({
                "currency": str(currency),
                "items": [{
                    "number": str(d.number), "project": str(d.project_name or d.project_id),
                    "date": fmt.date(d.invoice_date),
                    "due": fmt.date(d.due_date) if d.type == "Invoice" else "",
                    "amount": fmt.number(int(d.amount_due)), "paid": fmt.number(int(d.paid)),
                    "credited": fmt.number(int(d.credited)),
                    "balance": fmt.number(int(d.balance)),
                    "overdue": str(receivables.overdue_days(d.due_date, as_of))
                    if d.type == "Invoice" else "",
                } for d in items.itertuples(index=False)],
                "total": fmt.number(int(items["balance"].sum())),
                "ageing": [{"label": b, "amount": fmt.number(int(aged[b].sum()))}
                           for b in receivables.AGEING_BUCKETS],
                "retainage": fmt.money(held) if held else "",
            })
        latest = rows.iloc[-1]
        seller_lines: dict[str, Any] = {
            **seller, "address_lines": lines_of(seller.get("address", "")),
            "bank_details_lines": lines_of(seller.get("bank_details", "")),
            "logo_url": seller.get("logo_url", "")}
        out.append((str(client), {
            "statement": {"as_of": Formatter(locale, "USD").date(as_of),
                          "count": len(open_rows)},
            "seller": seller_lines,
            "client": {"name": str(client),
                       "address_lines": lines_of(str(latest["client_address"] or ""))},
            "groups": groups,
            "page_size": page_size,
        }))
    return out


def sample_statement_context() -> dict[str, Any]:
    """Every variable of statement.html filled: rendered when a template folder is loaded, so a
    misspelt variable stops before anything is written."""
    item = {k: "x" for k in ("number", "project", "date", "due", "amount", "paid", "credited",
                             "balance", "overdue")}
    return {
        "statement": {"as_of": "31 Dec 2026", "count": 1},
        "seller": {"name": "Seller", "address_lines": ["1 Street"], "tax_id": "T",
                   "email": "s@example.com", "phone": "1", "bank_details_lines": ["Bank"],
                   "logo_url": "", "state": "", "address": "", "bank_details": ""},
        "client": {"name": "Client", "address_lines": ["1 Road"]},
        "groups": [{"currency": "USD", "items": [item], "total": "1.00",
                    "ageing": [{"label": b, "amount": "0.00"}
                               for b in receivables.AGEING_BUCKETS],
                    "retainage": "$1.00"}],
        "page_size": "A4",
    }


def write_statements(root: Path, as_of: date, config_path: Path | None = None,
                     wait_seconds: float = 60.0) -> StatementsReport:
    """One statement PDF per client with open items, in ``statements/AS_OF/``."""
    from progbill.pipeline import _renderer, _seller_snapshot, open_store
    from progbill.publish import safe_name
    from progbill.render.context import data_url

    ws = Workspace(root).require()
    config = ws.load_config(config_path)
    report = StatementsReport(as_of)
    renderer = _renderer(config)
    seller, assets = _seller_snapshot(config, ws.root, [])
    if "logo_sha256" in seller:
        media, data = assets[seller["logo_sha256"]]
        seller["logo_url"] = data_url(media, data)
    folder = ws.root / "statements" / as_of.isoformat()
    with workspace_lock(ws, wait_seconds), open_store(ws.db_path) as store:
        for client, context in statement_contexts(store, as_of, seller, config.output.locale,
                                                  config.output.page_size):
            target = folder / safe_name(_CLIENT_FILE.sub("_", client).strip(" ._") or "client",
                                        ".pdf")
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, renderer.other_pdf("statement.html", context))
            report.written.append(target.relative_to(ws.root).as_posix())
    return report
