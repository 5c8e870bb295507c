"""The billing core: what is due since the last document, per line and per project.

Pure functions over DataFrames and the ledger's previous state. No file, no Excel, no PDF, no
click: a test enforces that this package imports none of them.

Names follow AIA G702/G703 and BILLING.md (symbols in brackets):

=======================  ====  ==============================================================
column                   sym   rule
=======================  ====  ==============================================================
scheduled_value          C     from the workbook
percent_complete         p     from the workbook, 0..100, work only
work_to_date             W     round(C x p / 100)
from_previous            D     W as last invoiced (opening ``previously_billed`` if new)
this_period              E     W - D
stored_materials         F     from the workbook, a balance
total_to_date            G     W + F
previous_total           Gp    G as last invoiced
billed                   B     G - Gp
retainage_to_date        R     round(W x r / 100) + round(F x rs / 100); 0 on release
previous_retainage       Rp    R as last invoiced
retainage_this_period    Rt    R - Rp
balance_to_finish        H     C - G
=======================  ====  ==============================================================

Every amount is an int64 count of minor units; every percentage a Decimal. The only rounding is
:func:`progbill.money.apply_percent` / :func:`progbill.money.percent_of`.

Two steps, so that a workbook with an error bills nothing:

1. :func:`evaluate` computes every line against the ledger and returns the problems
   (overbilled, missing lines, currency changes ...), each tagged with its source file;
2. :func:`issue`, given only the lines of accepted workbooks, forms the documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd

from progbill.billing.numbering import assign_numbers
from progbill.billing.periods import Period, due_date, fiscal_year, invoice_date
from progbill.billing.settings import BillingSettings
from progbill.columns import AMOUNT_COLUMNS, LINE_FIELDS, is_missing
from progbill.money import (
    MAX_DOCUMENT_MINOR,
    MAX_RUN_MINOR,
    apply_percent,
    from_minor,
    percent_of,
)
from progbill.problems import Location, Problem, Severity

INVOICE = "Invoice"
CREDIT_NOTE = "Credit Note"

# The columns of a line as the readers deliver them, and every G703 amount of a line, are
# progbill.columns' LINE_FIELDS and AMOUNT_COLUMNS.


@dataclass(frozen=True)
class LedgerState:
    """What the ledger knew before this run, as the core needs it.

    ``lines``: one row per known line: project_id, line_id, work_to_date, stored_materials,
    total_to_date, retainage_to_date (as last invoiced, or the opening balance),
    opening_billed (nullable: the onboarding ``previously_billed`` recorded), last_document.

    ``projects``: one row per known project: project_id, currency, last_invoice_number,
    last_invoice_date, last_period (``YYYY-MM`` of its latest document).
    """

    lines: pd.DataFrame = field(default_factory=lambda: empty_state_lines())
    projects: pd.DataFrame = field(default_factory=lambda: empty_state_projects())


def empty_state_lines() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "project_id": pd.Series(dtype=object),
            "line_id": pd.Series(dtype=object),
            "work_to_date": pd.Series(dtype=np.int64),
            "stored_materials": pd.Series(dtype=np.int64),
            "total_to_date": pd.Series(dtype=np.int64),
            "retainage_to_date": pd.Series(dtype=np.int64),
            "opening_billed": pd.Series(dtype="Int64"),
            "last_document": pd.Series(dtype=object),
        }
    )
    return frame


def empty_state_projects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": pd.Series(dtype=object),
            "currency": pd.Series(dtype=object),
            "last_invoice_number": pd.Series(dtype=object),
            "last_invoice_date": pd.Series(dtype=object),
            "last_period": pd.Series(dtype=object),
        }
    )


@dataclass(frozen=True)
class Bill:
    """The documents one run issues, before numbers are assigned.

    ``documents``: one row per document, keyed by ``doc_key`` (0..n-1 in issue order).
    ``lines``: every schedule line of each documented project (the full G703), keyed by
    ``doc_key`` and ``position``; ``on_document`` marks the lines whose B or Rt is not zero,
    which are the document's lines in the ledger.
    ``taxes``: one row per tax component of a document.
    ``openings``: onboarding balances of lines first seen in this run.
    ``line_state``: the new last-invoiced state of every line of every documented project.
    """

    documents: pd.DataFrame
    lines: pd.DataFrame
    taxes: pd.DataFrame
    openings: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.documents.empty

    @classmethod
    def nothing(cls) -> Bill:
        """The bill of a run that issues no document."""
        return cls(
            documents=pd.DataFrame(columns=list(_DOCUMENT_COLUMNS)),
            lines=pd.DataFrame(columns=["doc_key", "position", "on_document", *LINE_FIELDS,
                                        *AMOUNT_COLUMNS]),
            taxes=pd.DataFrame(columns=["doc_key", "label", "rate", "base", "amount"]),
            openings=pd.DataFrame(columns=["project_id", "line_id", "previously_billed",
                                           "previously_retained"]),
        )


# --------------------------------------------------------------------------------------------
# step 1: evaluate


def _resolve_pct(primary: pd.Series, fallback: pd.Series) -> pd.Series:
    return primary.where(primary.notna(), fallback)


def compute_lines(
    projects: pd.DataFrame, lines: pd.DataFrame, state: LedgerState, settings: BillingSettings
) -> pd.DataFrame:
    """Every G703 column of every line, against the ledger's previous state.

    Returns the input lines (same order, fresh index) with the columns of the module table,
    plus ``currency``, ``retainage_pct`` / ``stored_retainage_pct`` as applied, ``known``
    (the ledger knew the line) and ``opening`` (an onboarding balance is taken now).
    """
    project_terms = projects[
        ["project_id", "currency", "retainage_pct", "stored_retainage_pct", "release_retainage"]
    ].rename(
        columns={
            "retainage_pct": "_project_retainage",
            "stored_retainage_pct": "_project_stored_retainage",
        }
    )
    df = lines.reset_index(drop=True).merge(project_terms, on="project_id", how="left")
    default_pct = pd.Series([settings.retainage_pct] * len(df), index=df.index, dtype=object)
    r = _resolve_pct(df["retainage_pct"], _resolve_pct(df["_project_retainage"], default_pct))
    rs = _resolve_pct(df["_project_stored_retainage"], r)
    df["retainage_pct"] = r.astype(object)
    df["stored_retainage_pct"] = rs.astype(object)

    prev = state.lines[
        ["project_id", "line_id", "work_to_date", "stored_materials", "total_to_date",
         "retainage_to_date", "opening_billed", "last_document"]
    ].rename(
        columns={
            "work_to_date": "_prev_w",
            "stored_materials": "_prev_f",
            "total_to_date": "_prev_g",
            "retainage_to_date": "_prev_r",
            "opening_billed": "opening_recorded",
            "last_document": "previous_document",
        }
    )
    df = df.merge(prev, on=["project_id", "line_id"], how="left", indicator="_state")
    df["known"] = df["_state"].eq("both")

    c = df["scheduled_value"].to_numpy(dtype=np.int64)
    percents = [p if isinstance(p, Decimal) else Decimal(0) for p in df["percent_complete"]]
    f = df["stored_materials"].to_numpy(dtype=np.int64)
    opening_billed = df["previously_billed"].astype("Int64")
    opening_retained = df["previously_retained"].astype("Int64")
    df["opening"] = ~df["known"] & (opening_billed.notna() | opening_retained.notna())
    new_d = opening_billed.fillna(0).to_numpy(dtype=np.int64)
    # Previous billing without previous retainage: the earlier applications withheld the line's
    # rate on that work, as progbill would have (a warning per project says so).
    df["retainage_assumed"] = df["opening"] & opening_billed.notna() & opening_retained.isna()
    assumed = apply_percent(new_d, list(df["retainage_pct"]))
    opening_retained = opening_retained.where(~df["retainage_assumed"], pd.Series(
        assumed, index=df.index, dtype="Int64"))
    df["previously_retained"] = opening_retained
    new_rp = opening_retained.fillna(0).to_numpy(dtype=np.int64)
    known = df["known"].to_numpy()
    d = np.where(known, df["_prev_w"].fillna(0).to_numpy(dtype=np.int64), new_d)
    gp = np.where(known, df["_prev_g"].fillna(0).to_numpy(dtype=np.int64), new_d)
    rp = np.where(known, df["_prev_r"].fillna(0).to_numpy(dtype=np.int64), new_rp)
    # Work completed to date: as money when the workbook states it (exactly, W or G - F), else
    # what was billed before plus work this period, else the percent of the scheduled value.
    given = df["work_given"].astype("Int64") if "work_given" in df else pd.Series(
        pd.NA, index=df.index, dtype="Int64")
    period = df["period_given"].astype("Int64") if "period_given" in df else pd.Series(
        pd.NA, index=df.index, dtype="Int64")
    w = np.where(given.notna(), given.fillna(0).to_numpy(dtype=np.int64),
                 np.where(period.notna(), d + period.fillna(0).to_numpy(dtype=np.int64),
                          apply_percent(c, percents)))

    released = df["release_retainage"].fillna(False).to_numpy(dtype=bool)
    r_work = np.where(released, 0, apply_percent(w, list(df["retainage_pct"])))
    r_stored = np.where(released, 0, apply_percent(f, list(df["stored_retainage_pct"])))

    df["percent_complete"] = [
        p if isinstance(p, Decimal) else (
            (Decimal(int(work)) * 100 / Decimal(int(value))).quantize(Decimal("0.0001"))
            if value else Decimal(0))
        for p, work, value in zip(df["percent_complete"], w, c, strict=True)]
    g = w + f
    df["work_to_date"] = w
    df["from_previous"] = d
    df["this_period"] = w - d
    df["total_to_date"] = g
    df["previous_total"] = gp
    df["billed"] = g - gp
    df["retainage_work"] = r_work.astype(np.int64)
    df["retainage_stored"] = r_stored.astype(np.int64)
    df["retainage_to_date"] = (r_work + r_stored).astype(np.int64)
    df["previous_retainage"] = rp
    df["retainage_this_period"] = df["retainage_to_date"].to_numpy() - rp
    df["balance_to_finish"] = c - g
    df["is_change_order"] = df["change_order"].fillna("").astype(str).str.strip().ne("")
    return df.drop(
        columns=["_project_retainage", "_project_stored_retainage", "_prev_w", "_prev_f",
                 "_prev_g", "_prev_r", "_state"]
    )


def _loc(row: pd.Series, column: str | None) -> Location:
    return Location(
        file=str(row["_source"]),
        sheet=row["_sheet"] if isinstance(row["_sheet"], str) and row["_sheet"] else None,
        row=int(row["_row"]) if pd.notna(row["_row"]) else None,
        column=column,
    )


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(int(minor), currency):,} {currency}"


def check_lines(
    projects: pd.DataFrame, computed: pd.DataFrame, state: LedgerState, period: Period
) -> list[Problem]:
    """The billing rules' own errors and warnings (BILLING.md), located at the row to fix."""
    problems: list[Problem] = []

    def add(code: str, row: pd.Series, column: str | None, message: str,
            severity: Severity = Severity.ERROR) -> None:
        problems.append(Problem(code, severity, message, _loc(row, column)))

    dup = computed.duplicated(["project_id", "line_id"], keep=False)
    for (project_id, line_id), group in computed[dup].groupby(
        ["project_id", "line_id"], sort=False
    ):
        rows = ", ".join(str(int(r)) for r in group["_row"] if pd.notna(r))
        for _, row in group.iterrows():
            add("duplicate-line", row, "milestone_id",
                f"line {line_id} of project {project_id} appears more than once (rows {rows}); "
                "give each line its own id or delete the extra row")

    negative_c = (computed["scheduled_value"] < 0) & ~computed["is_change_order"]
    for _, row in computed[negative_c].iterrows():
        add("bad-amount", row, "scheduled_value",
            f"the scheduled value {_money(row['scheduled_value'], row['currency'])} is negative; "
            "only a change-order line may be negative (fill its change_order column)")

    for column, label in (("previously_billed", "previously billed"),
                          ("previously_retained", "previously retained")):
        negative = (computed[column].fillna(0) < 0) & ~computed["is_change_order"]
        for _, row in computed[negative].iterrows():
            add("bad-amount", row, column,
                f"line {row['line_id']}: {label} {_money(row[column], row['currency'])} is "
                "negative; only a change-order line can carry a negative balance (enter what "
                "was billed before progbill as a positive amount, or 0)")

    over = _outside_contract(computed["total_to_date"], computed["scheduled_value"])
    if "quantity_to_date" in computed:  # measured beyond the contract quantity: an overrun
        over &= computed["quantity_to_date"].isna()
    for _, row in computed[over].iterrows():
        column = "stored_materials" if row["stored_materials"] else "percent_complete"
        scheduled = _money(row["scheduled_value"], row["currency"])
        why = (f"outside this deductive change order's {scheduled} (it may run from 0 down "
               "to the deduction, never above 0); remove the materials stored from this line"
               if row["scheduled_value"] < 0 else
               f"more than its scheduled value {scheduled}; lower the percent complete or the "
               "materials stored")
        add("overbilled", row, column,
            f"line {row['line_id']}: completed and stored to date "
            f"{_money(row['total_to_date'], row['currency'])} is {why}")

    opening = computed[computed["opening"] & ~(
        (computed["previously_billed"].fillna(0) < 0) & ~computed["is_change_order"])]
    over_opening = _outside_contract(opening["from_previous"], opening["scheduled_value"])
    for _, row in opening[over_opening].iterrows():
        add("overbilled", row, "previously_billed",
            f"line {row['line_id']}: previously billed "
            f"{_money(row['from_previous'], row['currency'])} is more than its scheduled value "
            f"{_money(row['scheduled_value'], row['currency'])}; check the amount billed before "
            "progbill")

    # A known line's from-previous figure is either its onboarding balance, kept in the
    # workbook, or what progbill billed to date; anything else means the workbook is from the
    # wrong month or an earlier figure was edited.
    carried = computed["known"] & computed["previously_billed"].notna()
    for _, row in computed[carried].iterrows():
        recorded = row["opening_recorded"]
        stated = int(row["previously_billed"])
        if (pd.notna(recorded) and int(recorded) == stated) or stated == int(
                row["from_previous"]):
            continue
        cur = row["currency"]
        source = (f"on {row['previous_document']}"
                  if isinstance(row["previous_document"], str) else "as its opening balance")
        add("history-mismatch", row, "previously_billed",
            f"line {row['line_id']}: the workbook says {_money(stated, cur)} was billed before, "
            f"but progbill billed {_money(row['from_previous'], cur)} to date {source}; the "
            "workbook is from another month, or an earlier figure was edited. Use this month's "
            "workbook, or correct the figure")

    given = computed["retainage_given"].notna() if "retainage_given" in computed else None
    if given is not None:
        for _, row in computed[given & (computed["retainage_given"].fillna(0)
                                        != computed["retainage_to_date"])].iterrows():
            cur = row["currency"]
            add("figures-disagree", row, "retainage_to_date",
                f"line {row['line_id']}: retainage to date {_money(row['retainage_given'], cur)} "
                f"in the workbook, but {row['retainage_pct']}% of work "
                f"{_money(row['work_to_date'], cur)} and {row['stored_retainage_pct']}% of stored "
                f"materials {_money(row['stored_materials'], cur)} is "
                f"{_money(row['retainage_to_date'], cur)}; correct the retainage column or the "
                "retainage rate")

    assumed = computed[computed["retainage_assumed"]] if "retainage_assumed" in computed \
        else computed.iloc[0:0]
    for pid, group in assumed.groupby("project_id", sort=False):
        first = group.iloc[0]
        total = int(group["previously_retained"].sum())
        if total == 0:
            continue  # nothing was withheld (nothing billed before, or a 0% rate)
        add("retainage-assumed", first, "previously_billed",
            f"project {pid}: previous billing was given without previous retainage, so "
            f"progbill took what the earlier applications would have withheld at the lines' "
            f"retainage rates ({_money(total, first['currency'])} in all); if they withheld "
            "something else, add a previously retained column", Severity.WARNING)

    problems.extend(_check_against_ledger(projects, computed, state, period))
    problems.extend(_check_contract_values(projects, computed))
    problems.extend(check_totals(computed))
    return problems


def line_magnitudes(computed: pd.DataFrame) -> list[int]:
    """Per line, a bound on what it can add to any amount of its document: the scheduled value,
    the materials stored and the onboarding balances, in absolute value, as Python integers."""
    columns = [computed[c].astype(object).where(computed[c].notna(), 0).tolist() for c in (
        "scheduled_value", "stored_materials", "previously_billed", "previously_retained")]
    if all(-_EXACT_IN_INT64 < int(v) < _EXACT_IN_INT64 for c in columns
           for v in (min(c, default=0), max(c, default=0))):
        # four such values add up exactly in 64-bit integers
        return cast(list[int], np.sum([np.abs(np.array(c, dtype=np.int64)) for c in columns],
                                      axis=0, dtype=np.int64).tolist())
    return [sum(abs(int(v)) for v in values) for values in zip(*columns, strict=True)]


_EXACT_IN_INT64 = 2**60  # below it in absolute value, the sum of four is below 2**63


def check_totals(computed: pd.DataFrame) -> list[Problem]:
    """A project's lines (one document) may not add up to ``MAX_DOCUMENT_MINOR`` or more. The
    error is placed at the line that takes the total over the limit, in reading order; an
    overflowing document is never formed. (Per run and currency: :func:`run_total_problems`.)"""
    problems: list[Problem] = []
    totals: dict[str, int] = {}
    crossing: list[int] = []  # positions of the lines that first pass a project's limit
    for position, (pid, size) in enumerate(zip(computed["project_id"],
                                               line_magnitudes(computed), strict=True)):
        before = totals.get(pid, 0)
        totals[pid] = before + size
        if before < MAX_DOCUMENT_MINOR <= totals[pid]:
            crossing.append(position)
    for position in crossing:  # rows are looked at only where a limit is passed
        row = computed.iloc[position]
        problems.append(Problem(
            "total-too-large", Severity.ERROR,
            f"with line {row['line_id']}, project {row['project_id']}'s lines add up to more "
            f"than {_money(MAX_DOCUMENT_MINOR, row['currency'])}, the most one document can "
            "hold; check the amounts from this row on (a misplaced decimal point?), or split "
            "the project", _loc(row, "scheduled_value")))
    return problems


def run_total_problems(computed: pd.DataFrame, order: list[str]) -> list[Problem]:
    """One run may not bill ``MAX_RUN_MINOR`` or more per currency: the workbooks are taken in
    ``order`` (file names) and the project that takes its currency's total over the limit is
    refused, at its first line."""
    # per project (in the order projects first appear): its lines' magnitudes summed and its
    # first currency given
    per_project: dict[tuple[str, str], dict[str, Any]] = {}
    for source, pid, currency, size in zip(
            computed["_source"].tolist(), computed["project_id"].tolist(),
            computed["currency"].tolist(), line_magnitudes(computed), strict=True):
        if is_missing(source) or is_missing(pid):
            continue
        found = per_project.setdefault((source, pid), {"size": 0, "currency": None})
        found["size"] += size
        if found["currency"] is None and not is_missing(currency):
            found["currency"] = currency
    rank = {name: i for i, name in enumerate(order)}
    totals: dict[str, int] = {}
    problems = []
    for (source, pid), p in sorted(per_project.items(), key=lambda kv: rank.get(kv[0][0], 0)):
        total = totals.get(p["currency"], 0) + int(p["size"])
        if total >= MAX_RUN_MINOR:
            row = computed[(computed["_source"] == source) & (computed["project_id"] == pid)
                           ].iloc[0]
            problems.append(Problem(
                "total-too-large", Severity.ERROR,
                f"project {pid} would take this run's {p['currency']} total past "
                f"{_money(MAX_RUN_MINOR, p['currency'])}, the most one run can bill; bill this "
                "workbook in a run of its own, or check its amounts",
                _loc(row, "scheduled_value")))
            continue
        totals[p["currency"]] = total
    return problems


def _outside_contract(amount: pd.Series, scheduled: pd.Series) -> pd.Series:
    """Amounts not between 0 and the scheduled value, signs included: on a deductive change
    order (C < 0) work and stored materials may take G from 0 down to C, never above 0, so
    materials stored cannot turn a deduction into a charge."""
    return (amount.abs() > scheduled.abs()) | ((amount != 0) & (
        np.sign(amount) != np.sign(scheduled)))


def _check_against_ledger(
    projects: pd.DataFrame, computed: pd.DataFrame, state: LedgerState, period: Period
) -> list[Problem]:
    problems: list[Problem] = []
    known_projects = state.projects.drop_duplicates("project_id").set_index("project_id")
    known = projects["project_id"].isin(known_projects.index)
    if known.any():  # only the projects whose currency or period conflicts are looked at
        before_all = known_projects.loc[projects.loc[known, "project_id"]]
        currency_before = before_all["currency"].fillna("").astype(str).to_numpy()
        last_before = before_all["last_period"].where(
            before_all["last_period"].map(lambda v: isinstance(v, str)), "").to_numpy()
        flagged = ((currency_before != "")
                   & (currency_before != projects.loc[known, "currency"].astype(str).to_numpy())
                   ) | (last_before > str(period))
        candidates = projects[known][flagged]
    else:
        candidates = projects.iloc[0:0]
    for _, project in candidates.iterrows():
        pid = project["project_id"]
        before = known_projects.loc[pid]
        if before["currency"] and before["currency"] != project["currency"]:
            problems.append(Problem(
                "currency-changed", Severity.ERROR,
                f"project {pid} was invoiced in {before['currency']} and is now in "
                f"{project['currency']}; a project keeps its currency (set it back to "
                f"{before['currency']}, or bill the new currency under a new project id)",
                _loc(project, "currency")))
        last_period = before["last_period"]
        if isinstance(last_period, str) and last_period and last_period > str(period):
            problems.append(Problem(
                "period-out-of-order", Severity.ERROR,
                f"project {pid} was already invoiced for {last_period}; billing {period} after "
                "it would reverse that progress. Run the current period instead",
                _loc(project, "project_id")))

    present = set(zip(computed["project_id"], computed["line_id"], strict=True))
    in_run = set(projects["project_id"])
    missing = state.lines[state.lines["project_id"].isin(in_run)]
    missing = missing[[(p, lid) not in present for p, lid in zip(
        missing["project_id"].tolist(), missing["line_id"].tolist(), strict=True)]]
    first_row = projects.drop_duplicates("project_id").set_index("project_id")
    for _, line in missing.iterrows():
        project = first_row.loc[line["project_id"]]
        where = (str(line["last_document"]) if pd.notna(line["last_document"])
                 else "an opening balance")
        problems.append(Problem(
            "missing-line", Severity.ERROR,
            f"line {line['line_id']} of project {line['project_id']} was billed before "
            f"({where}) and is missing from the workbook; put the line back "
            "(set its progress to 0 to credit it)",
            Location(file=str(project["_source"]), sheet=project["_lines_sheet"] or None)))
    return problems


def _check_contract_values(projects: pd.DataFrame, computed: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    with_value = projects[projects["contract_value"].notna()]
    if with_value.empty:
        return problems
    base = computed[~computed["is_change_order"]].groupby("project_id")["scheduled_value"].sum()
    for _, project in with_value.iterrows():
        scheduled = int(base.get(project["project_id"], 0))
        stated = int(project["contract_value"])
        if scheduled != stated:
            cur = project["currency"]
            problems.append(Problem(
                "contract-mismatch", Severity.ERROR,
                f"the contract value {_money(stated, cur)} of project {project['project_id']} "
                f"differs from the sum of its scheduled values {_money(scheduled, cur)} "
                "(change orders excluded); correct the contract value or the schedule",
                _loc(project, "contract_value")))
    return problems


def evaluate(
    projects: pd.DataFrame,
    lines: pd.DataFrame,
    state: LedgerState,
    settings: BillingSettings,
    period: Period,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Compute every line and find every billing problem. Bills nothing."""
    computed = compute_lines(projects, lines, state, settings)
    return computed, (check_lines(projects, computed, state, period)
                      + check_quantities(computed, settings))


def check_quantities(computed: pd.DataFrame, settings: BillingSettings) -> list[Problem]:
    """A quantity measured beyond the contract quantity is billed as measured (normal in
    unit-price contracts), with a warning giving the overrun; past
    ``billing.quantity_overrun_limit_pct`` it is an error."""
    problems: list[Problem] = []
    if "quantity_to_date" not in computed:
        return problems
    measured = computed[computed["quantity_to_date"].notna() & computed["quantity"].notna()]
    beyond_contract = [bool(q) and t > q for q, t in zip(
        measured["quantity"], measured["quantity_to_date"], strict=True)]
    for _, row in measured[beyond_contract].iterrows():
        quantity, to_date = row["quantity"], row["quantity_to_date"]
        overrun = ((to_date - quantity) * 100 / quantity).quantize(Decimal("0.01"))
        limit = settings.quantity_overrun_limit_pct
        beyond = limit is not None and overrun > limit
        unit = f" {row['unit']}" if row.get("unit") else ""
        problems.append(Problem(
            "quantity-overrun", Severity.ERROR if beyond else Severity.WARNING,
            f"line {row['line_id']}: {to_date}{unit} measured against a contract quantity of "
            f"{quantity}{unit}, an overrun of {overrun}%"
            + (f", beyond billing.quantity_overrun_limit_pct ({limit}%); check the measurement "
               "or raise the limit" if beyond else "; billed as measured"),
            _loc(row, "quantity_to_date")))
    return problems


def duplicate_projects(sources: pd.DataFrame) -> pd.DataFrame:
    """Rows of (project_id, _source, ...) whose project id appears in more than one file."""
    per_project = sources.groupby("project_id")["_source"].nunique()
    shared = per_project[per_project > 1].index
    return sources[sources["project_id"].isin(shared)]


# --------------------------------------------------------------------------------------------
# step 2: issue


def tax_components(
    rate: Decimal, place_of_supply: str, seller_state: str, label: str
) -> list[tuple[str, Decimal]]:
    """The tax lines of a document: India GST splits into CGST + SGST within the seller's state
    and is IGST across states; anything else is one line at the full rate."""
    if rate == 0:
        return []
    if place_of_supply and seller_state:
        if _state_key(place_of_supply) == _state_key(seller_state):
            half = rate / 2
            return [("CGST", half), ("SGST", half)]
        return [("IGST", rate)]
    return [(label, rate)]


def _state_key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def issue(
    projects: pd.DataFrame,
    computed: pd.DataFrame,
    state: LedgerState,
    settings: BillingSettings,
    period: Period,
    run_date: date,
) -> Bill:
    """Form one document per project whose B or Rt is not zero on some line.

    Totals come from group-bys over all lines at once; the per-document loop does only scalar
    work (tax per rate, the document type), so 10,000 documents take well under a second.
    """
    active = (computed["billed"] != 0) | (computed["retainage_this_period"] != 0)
    documented = list(dict.fromkeys(computed.loc[active, "project_id"]))
    openings = computed.loc[
        computed["opening"],
        ["project_id", "line_id", "previously_billed", "previously_retained"],
    ].reset_index(drop=True)
    if not documented:
        return Bill(Bill.nothing().documents, Bill.nothing().lines, Bill.nothing().taxes,
                    openings)
    lines = computed[computed["project_id"].isin(documented)].copy()
    lines["on_document"] = active[lines.index]
    doc_key = {pid: k for k, pid in enumerate(documented)}
    lines["doc_key"] = lines["project_id"].map(doc_key).astype(np.int64)
    lines["position"] = lines.groupby("doc_key").cumcount() + 1
    lines = lines.sort_values(["doc_key", "position"], kind="stable").reset_index(drop=True)

    keys = np.arange(len(documented))
    sums = lines.groupby("doc_key")[list(AMOUNT_COLUMNS)].sum().reindex(keys, fill_value=0)
    change_orders = lines["scheduled_value"].where(lines["is_change_order"], 0).groupby(
        lines["doc_key"]).sum().reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
    on = lines[lines["on_document"]]
    base = on["billed"] - on["retainage_this_period"] \
        if settings.tax_base == "net_of_retainage" else on["billed"]
    period_sums = pd.DataFrame({
        "completed": on["billed"], "retainage": on["retainage_this_period"], "base": base,
    }).groupby(on["doc_key"]).sum().reindex(keys, fill_value=0)
    completed = period_sums["completed"].to_numpy(dtype=np.int64)
    retainage = period_sums["retainage"].to_numpy(dtype=np.int64)
    tax_base = period_sums["base"].to_numpy(dtype=np.int64)

    info = projects.drop_duplicates("project_id").set_index("project_id").reindex(documented)
    last = state.projects.drop_duplicates("project_id").set_index("project_id").reindex(
        documented)
    issued_on = invoice_date(period, settings.invoice_date, run_date)
    fy = fiscal_year(issued_on, settings.fiscal_year_start_month)

    taxes: list[tuple[int, str, Decimal, int, int]] = []
    tax_totals, kinds, rates, terms_days, corrects = [], [], [], [], []
    preceding: list[tuple[Any, Any]] = []  # the project's latest invoice (e-invoice BG-3)
    for key, rate, reverse, label, place, terms, last_number, last_date in zip(
        keys, info["tax_rate"], info["reverse_charge"], info["tax_label"],
        info["place_of_supply"], info["payment_terms_days"], last["last_invoice_number"],
        last["last_invoice_date"], strict=True,
    ):
        rate = rate if rate is not None and pd.notna(rate) else settings.tax_rate
        label = label if isinstance(label, str) and label else "Tax"
        total = 0
        for name, component in tax_components(rate, str(place or ""), settings.seller_state,
                                              label):
            amount = 0 if bool(reverse) else percent_of(int(tax_base[key]), component)
            total += amount
            taxes.append((int(key), name, component, int(tax_base[key]), amount))
        due = int(completed[key]) - int(retainage[key]) + total
        kind = INVOICE if due >= 0 else CREDIT_NOTE
        tax_totals.append(total)
        kinds.append(kind)
        rates.append(rate)
        terms_days.append(int(terms) if terms is not None and pd.notna(terms)
                          else settings.payment_terms_days)
        cited = kind == CREDIT_NOTE and isinstance(last_number, str)
        corrects.append((last_number if cited else None, last_date if cited else None))
        known = isinstance(last_number, str)
        preceding.append((last_number if known else None, last_date if known else None))

    tax = np.asarray(tax_totals, dtype=np.int64)
    contract = sums["scheduled_value"].to_numpy(dtype=np.int64)
    total_to_date = sums["total_to_date"].to_numpy(dtype=np.int64)
    retainage_to_date = sums["retainage_to_date"].to_numpy(dtype=np.int64)
    earned = total_to_date - retainage_to_date
    documents = pd.DataFrame({
        "doc_key": keys,
        "type": kinds,
        "series": ["CN" if k == CREDIT_NOTE else "INV" for k in kinds],
        "fy": fy,
        "period": str(period),
        "invoice_date": [issued_on] * len(keys),
        "due_date": [due_date(issued_on, t) for t in terms_days],
        "payment_terms_days": terms_days,
        "project_id": documented,
        "currency": info["currency"].to_numpy(),
        "completed_this_period": completed,
        "retainage_this_period": retainage,
        "tax_base": tax_base,
        "tax": tax,
        "amount_due": completed - retainage + tax,
        "tax_rate": rates,
        "reverse_charge": info["reverse_charge"].astype(bool).to_numpy(),
        "corrects_number": [c[0] for c in corrects],
        "corrects_date": [c[1] for c in corrects],
        "preceding_number": [p[0] for p in preceding],
        "preceding_date": [p[1] for p in preceding],
        "original_contract": contract - change_orders,
        "change_orders": change_orders,
        "contract_to_date": contract,
        "completed_stored_to_date": total_to_date,
        "work_to_date": sums["work_to_date"].to_numpy(dtype=np.int64),
        "stored_to_date": sums["stored_materials"].to_numpy(dtype=np.int64),
        "retainage_work": sums["retainage_work"].to_numpy(dtype=np.int64),
        "retainage_stored": sums["retainage_stored"].to_numpy(dtype=np.int64),
        "retainage_to_date": retainage_to_date,
        "earned_less_retainage": earned,
        "previous_certificates": sums["previous_total"].to_numpy(dtype=np.int64)
        - sums["previous_retainage"].to_numpy(dtype=np.int64),
        "balance_to_finish_incl_retainage": contract - earned,
    }, columns=list(_DOCUMENT_COLUMNS))
    tax_frame = pd.DataFrame(taxes, columns=["doc_key", "label", "rate", "base", "amount"])
    return Bill(documents=documents, lines=lines, taxes=tax_frame, openings=openings)


_DOCUMENT_COLUMNS = (
    "doc_key", "type", "series", "fy", "period", "invoice_date", "due_date",
    "payment_terms_days", "project_id", "currency", "completed_this_period",
    "retainage_this_period", "tax_base", "tax", "amount_due", "tax_rate", "reverse_charge",
    "corrects_number", "corrects_date", "preceding_number", "preceding_date",
    "original_contract", "change_orders",
    "contract_to_date", "completed_stored_to_date", "work_to_date", "stored_to_date",
    "retainage_work", "retainage_stored", "retainage_to_date", "earned_less_retainage",
    "previous_certificates", "balance_to_finish_incl_retainage",
)


def number_documents(
    documents: pd.DataFrame, last_seq: dict[tuple[str, int], int], settings: BillingSettings
) -> pd.DataFrame:
    """The documents with ``seq`` and ``number`` assigned, gapless per series and fiscal year."""
    templates = {"INV": settings.invoice_number, "CN": settings.credit_note_number}
    numbered = documents.copy()
    assigned = assign_numbers(
        zip(numbered["series"], numbered["fy"].astype(int), strict=True), last_seq, templates
    )
    numbered["seq"] = [seq for seq, _ in assigned]
    numbered["number"] = [number for _, number in assigned]
    return numbered


def draft_numbers(documents: pd.DataFrame) -> pd.DataFrame:
    """Drafts consume no number: they are shown as DRAFT-1, DRAFT-2 ... in issue order."""
    numbered = documents.copy()
    numbered["seq"] = range(1, len(numbered) + 1)
    numbered["number"] = [f"DRAFT-{n}" for n in numbered["seq"]]
    return numbered


def contracts(computed: pd.DataFrame) -> pd.DataFrame:
    """Per project: original contract (non-change-order C) and net change orders."""
    frame = computed.assign(
        _co=computed["scheduled_value"].where(computed["is_change_order"], 0),
    )
    sums = frame.groupby("project_id", sort=False).agg(
        contract_to_date=("scheduled_value", "sum"), change_orders=("_co", "sum")
    )
    sums["original_contract"] = sums["contract_to_date"] - sums["change_orders"]
    return sums[["original_contract", "change_orders"]].reset_index()
