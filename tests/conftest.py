from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from progbill.store import Store

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_workbooks"


@pytest.fixture(autouse=True)
def weasyprint_stays_quiet(caplog):
    """A WeasyPrint warning (a resource refused, a CSS property ignored) is a bug in our
    templates: every test fails on one."""
    import logging

    caplog.set_level(logging.WARNING, logger="weasyprint")
    yield
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    assert not logged, f"WeasyPrint warned: {logged}"


@pytest.fixture
def store() -> Store:
    with Store(Path(":memory:")) as s:
        yield s


@pytest.fixture
def samples() -> Path:
    return SAMPLES
