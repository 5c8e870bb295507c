"""Fault injection at named points of a run, for the crash-safety and concurrency tests.

``PROGBILL_FAULT="kill@commit:before"`` makes the process SIGKILL itself when it reaches that
point; ``kill@pdf:written#2`` the second time; ``sleep=3@commit:after`` pauses there for three
seconds (to hold the workspace lock while another run starts); ``full@ledger:before`` raises the
error a full disk raises there (``OSError`` ENOSPC), every time from then on, as a full disk
would. Unset in normal use, where a checkpoint costs one comparison.

The points, in the order a run reaches them:

``commit:before``         every row of the run written, the transaction not yet committed
``commit:after``          the transaction committed, nothing rendered
``atomic:before-rename``  any output file written to its temporary name, not yet renamed
``pdf:written``           one PDF in place, not yet recorded in the store
``ledger:before``         all PDFs done, ledger.xlsx not yet written
``backup:before``         the ledger written, the copy of the store not yet made
``move:before``           an inbox file about to be moved to archive/ or failed/
``move:after``            one inbox file moved to archive/ or failed/
``report:before``         everything done but runs/RUN_ID.json
"""

from __future__ import annotations

import errno
import os
import signal
import time

_SPEC = os.environ.get("PROGBILL_FAULT", "")
_seen: dict[str, int] = {}


def checkpoint(point: str) -> None:
    if not _SPEC:
        return
    action, _, target = _SPEC.partition("@")
    name, _, nth = target.partition("#")
    if name != point:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if action == "full" and _seen[point] >= int(nth or 1):
        raise OSError(errno.ENOSPC, "No space left on device")
    if _seen[point] != int(nth or 1):
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action.startswith("sleep="):
        time.sleep(float(action.removeprefix("sleep=")))
