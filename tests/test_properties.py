"""The invariants of BILLING.md, over random schedules and random sequences of months."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
from helpers import bill_month, lines_frame, projects_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progbill.billing.periods import Period
from progbill.billing.settings import BillingSettings
from progbill.money import apply_percent, half_up_div, percent_of
from progbill.store import Store

percent = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False,
                      allow_infinity=False)
rate = st.sampled_from([Decimal(0), Decimal(5), Decimal("7.5"), Decimal(10), Decimal(18),
                        Decimal(20), Decimal("33.3333")])


@st.composite
def schedules(draw):
    """A project's lines and, for each of 1-5 months, progress and stored materials."""
    n_lines = draw(st.integers(1, 5))
    lines = []
    for i in range(n_lines):
        change_order = draw(st.booleans()) and i > 0
        value = draw(st.integers(-5_000_000, 5_000_000) if change_order
                     else st.integers(0, 50_000_000))
        lines.append((f"L{i}", value, "CO" if change_order else ""))
    months = draw(st.integers(1, 4))
    progress = []
    for _ in range(months):
        month = []
        for _, value, _ in lines:
            p = draw(percent)
            work = percent_of(value, p)
            room = max(0, abs(value) - abs(work)) if value >= 0 else 0
            stored = draw(st.integers(0, room)) if room else 0
            month.append((p, stored))
        progress.append(month)
    return lines, progress


@st.composite
def terms(draw):
    return {
        "retainage_pct": draw(rate),
        "stored_retainage_pct": draw(st.one_of(st.none(), rate)),
        "tax_rate": draw(rate),
        "tax_base": draw(st.sampled_from(["gross", "net_of_retainage"])),
        "release_last": draw(st.booleans()),
        "fy_start": draw(st.sampled_from([1, 4, 11])),
    }


def run_months(schedule, t):
    lines, progress = schedule
    settings_ = BillingSettings(tax_base=t["tax_base"], fiscal_year_start_month=t["fy_start"])
    store = Store(Path(":memory:"))
    period = Period(2026, 9)
    frames = []
    for k, month in enumerate(progress):
        period = Period(period.year + (period.month == 12), period.month % 12 + 1)
        projects = projects_frame({
            "project_id": "P-1", "retainage_pct": t["retainage_pct"],
            "stored_retainage_pct": t["stored_retainage_pct"], "tax_rate": t["tax_rate"],
            "release_retainage": t["release_last"] and k == len(progress) - 1,
        })
        frame = lines_frame(*[
            {"project_id": "P-1", "line_id": lid, "scheduled_value": value,
             "percent_complete": p, "stored_materials": stored, "change_order": co}
            for (lid, value, co), (p, stored) in zip(lines, month, strict=True)
        ])
        result = bill_month(store, projects, frame, period, settings_)
        assert not [p for p in result.problems if p.is_error], result.problems
        frames.append((projects, frame, period))
    return store, frames, settings_


def expected_to_date(schedule, t):
    """G and R of every line after the last month, computed independently of the core."""
    lines, progress = schedule
    last = progress[-1]
    out = {}
    for (lid, value, _), (p, stored) in zip(lines, last, strict=True):
        w = percent_of(value, p)
        g = w + stored
        if t["release_last"]:
            r = 0
        else:
            rs = t["stored_retainage_pct"] if t["stored_retainage_pct"] is not None \
                else t["retainage_pct"]
            r = percent_of(w, t["retainage_pct"]) + percent_of(stored, rs)
        out[lid] = (g, r)
    return out


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def per_line_billed_sums_to_total_to_date_and_retainage_to_date(store, schedule, t):
    sums = store.document_lines().groupby("line_id")[["billed", "retainage_this_period"]].sum()
    for lid, (g, r) in expected_to_date(schedule, t).items():
        billed = int(sums.loc[lid, "billed"]) if lid in sums.index else 0
        retained = int(sums.loc[lid, "retainage_this_period"]) if lid in sums.index else 0
        assert billed == g, f"line {lid}: sum of B {billed} != G {g}"
        assert retained == r, f"line {lid}: sum of Rt {retained} != R {r}"


def per_project_amount_due_sums_to_earned_less_retainage_plus_tax(store, schedule, t):
    docs = store.documents()
    expected = expected_to_date(schedule, t)
    total_g = sum(g for g, _ in expected.values())
    total_r = sum(r for _, r in expected.values())
    assert int(docs["amount_due"].sum()) == total_g - total_r + int(docs["tax"].sum())


def numbers_per_series_and_fiscal_year_are_one_to_n(store):
    for _, group in store.documents().groupby(["series", "fy"]):
        assert sorted(group["seq"]) == list(range(1, len(group) + 1))


def a_second_run_with_the_same_inputs_adds_nothing(store, frames, settings_):
    before = store.documents()
    projects, frame, period = frames[-1]
    again = bill_month(store, projects, frame, period, settings_)
    assert again.documents.empty
    pd.testing.assert_frame_equal(store.documents(), before)


@SETTINGS
@given(schedules(), terms())
def test_every_invariant_of_billing_md_holds_over_a_random_history(schedule, t):
    store, frames, settings_ = run_months(schedule, t)
    per_line_billed_sums_to_total_to_date_and_retainage_to_date(store, schedule, t)
    per_project_amount_due_sums_to_earned_less_retainage_plus_tax(store, schedule, t)
    numbers_per_series_and_fiscal_year_are_one_to_n(store)
    a_second_run_with_the_same_inputs_adds_nothing(store, frames, settings_)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10_000_000), min_size=1, max_size=6),
       st.lists(percent, min_size=1, max_size=3), rate)
def test_at_100_percent_with_retainage_released_billed_equals_the_contract(values, path, r):
    lines = [(f"L{i}", v, "") for i, v in enumerate(values)]
    months = [[(p, 0) for _ in values] for p in path] + [[(Decimal(100), 0) for _ in values]]
    t = {"retainage_pct": r, "stored_retainage_pct": None, "tax_rate": Decimal(0),
         "tax_base": "gross", "release_last": True, "fy_start": 1}
    store, _, _ = run_months((lines, months), t)
    docs = store.documents()
    assert int(docs["completed_this_period"].sum()) == sum(values)
    assert int(docs["amount_due"].sum()) == sum(values)


@given(st.integers(-10**15, 10**15), st.integers(1, 10**9))
def test_half_up_division_matches_decimal_half_up(n, d):
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        expected = (Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert half_up_div(n, d) == int(expected)


@given(st.lists(st.tuples(st.integers(-10**14, 10**14),
                          st.decimals(min_value=0, max_value=100, places=16, allow_nan=False,
                                      allow_infinity=False)), min_size=1, max_size=30))
def test_vectorised_percent_matches_the_scalar_rule_at_any_magnitude(pairs):
    import numpy as np

    amounts = np.array([a for a, _ in pairs], dtype=np.int64)
    result = apply_percent(amounts, [p for _, p in pairs])
    assert list(result) == [percent_of(a, p) for a, p in pairs]


@given(st.lists(st.tuples(st.integers(-10**14, 10**14), percent, st.integers(0, 6)),
                min_size=1, max_size=30))
def test_a_percentage_written_with_more_places_gives_the_same_amounts(rows):
    """apply_percent looks at each distinct percentage once: 12.5, 12.50 and 12.500000 are one
    value with three exponents, and any of them gives every line the scalar rule's amount."""
    import numpy as np

    amounts = np.array([a for a, _, _ in rows], dtype=np.int64)
    written = [p.quantize(Decimal(1).scaleb(-(places + 4))) if places else p
               for _, p, places in rows]
    assert list(apply_percent(amounts, written)) == [percent_of(a, p) for a, p, _ in rows]


_MAGNITUDE = st.one_of(st.none(), st.integers(-10**15, 10**15),
                       st.integers(-2**70, 2**70), st.sampled_from([2**60, -2**60, 2**60 - 1]))


@given(st.lists(st.tuples(_MAGNITUDE, _MAGNITUDE, _MAGNITUDE, _MAGNITUDE), max_size=20))
def test_line_magnitudes_are_exact_at_any_size(rows):
    """The bound each line puts on its document's total (the overflow checks) is the exact sum
    of absolute values, whether it is added in 64-bit integers or as Python integers."""
    from progbill.billing.core import line_magnitudes

    names = ("scheduled_value", "stored_materials", "previously_billed", "previously_retained")
    frame = pd.DataFrame({n: pd.Series([r[k] for r in rows], dtype=object)
                          for k, n in enumerate(names)})
    expected = [sum(abs(v or 0) for v in r) for r in rows]
    assert line_magnitudes(frame) == expected
    if all(v is not None and abs(v) < 2**62 for r in rows for v in r):
        assert line_magnitudes(frame.astype("int64")) == expected  # as a run's frame holds them
