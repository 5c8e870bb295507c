"""The typed frames the readers deliver (columns: :mod:`progbill.columns`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progbill.columns import LINE_FRAME, PROJECT_FRAME


def empty_projects() -> pd.DataFrame:
    return typed_projects(pd.DataFrame(columns=list(PROJECT_FRAME)))


def empty_lines() -> pd.DataFrame:
    return typed_lines(pd.DataFrame(columns=list(LINE_FRAME)))


def typed_projects(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    frame["contract_value"] = frame["contract_value"].astype("Int64")
    frame["release_retainage"] = frame["release_retainage"].astype(bool)
    frame["reverse_charge"] = frame["reverse_charge"].astype(bool)
    frame["_row"] = frame["_row"].astype(np.int64)
    return frame


def typed_lines(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    for column in LINE_FRAME:  # columns a caller's frame may lack (the optional ones)
        if column not in frame:
            frame[column] = None
    frame["scheduled_value"] = frame["scheduled_value"].astype(np.int64)
    frame["stored_materials"] = frame["stored_materials"].astype(np.int64)
    frame["previously_billed"] = frame["previously_billed"].astype("Int64")
    frame["previously_retained"] = frame["previously_retained"].astype("Int64")
    frame["unit"] = frame["unit"].fillna("")
    for column in ("_progress_only", "_schedule_only"):
        frame[column] = frame[column].fillna(False).astype(bool)
    for column in ("work_given", "period_given", "retainage_given"):
        frame[column] = frame[column].astype("Int64")
    frame["_row"] = frame["_row"].astype(np.int64)
    return frame
