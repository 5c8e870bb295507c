from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from progbill.store import Store

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_workbooks"


@pytest.fixture
def store() -> Store:
    with Store(Path(":memory:")) as s:
        yield s


@pytest.fixture
def samples() -> Path:
    return SAMPLES
