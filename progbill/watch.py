"""``progbill watch``: the drop-folder service.

Watches the workspace inbox (watchdog); when files arrive and have stopped changing for
``watch.settle_seconds``, runs the month-end for the configured period rule and logs the outcome
to ``runs/watch.log``. A bad file is moved to ``failed/`` by the run like any other; a run that
cannot start (another run holds the lock) is retried on the next change or after a minute.
Nothing a file does stops the service; Ctrl-C (SIGINT) or SIGTERM does.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from progbill.billing.periods import Period
from progbill.problems import ProgbillError
from progbill.readers.files import is_candidate
from progbill.workspace import Workspace

RETRY_SECONDS = 60.0


def period_for(rule: str, today: date) -> Period:
    """``previous-month``, ``current-month`` or a fixed ``YYYY-MM``."""
    current = Period(today.year, today.month)
    if rule == "previous-month":
        return current.previous()
    if rule == "current-month":
        return current
    return Period.parse(rule)


def _inbox_files(ws: Workspace) -> list[Path]:
    if not ws.inbox.is_dir():
        return []
    return [p for p in ws.inbox.iterdir() if p.is_file() and is_candidate(p) is None]


def _stamps(paths: list[Path]) -> dict[Path, tuple[int, int]]:
    stamps = {}
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        stamps[p] = (st.st_size, st.st_mtime_ns)
    return stamps


class Watcher:
    """Runs the month-end whenever the inbox has settled files. ``stop()`` ends :meth:`serve`."""

    def __init__(self, root: Path, period_rule: str | None = None, settle: float | None = None,
                 log: Callable[[str], None] = print, today: Callable[[], date] = date.today,
                 config_path: Path | None = None) -> None:
        self.ws = Workspace(root).require()
        config = self.ws.load_config(config_path)
        self.config_path = config_path
        self.rule = period_rule or config.watch.period
        self.settle = config.watch.settle_seconds if settle is None else settle
        self.log = log
        self.today = today
        self.changed = threading.Event()
        self.stopping = threading.Event()

    def _write_log(self, line: str) -> None:
        stamped = f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}"
        self.log(stamped)
        self.ws.runs.mkdir(exist_ok=True)
        with (self.ws.runs / "watch.log").open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

    def stop(self, *_args: object) -> None:
        self.stopping.set()
        self.changed.set()

    def run_once(self) -> int | None:
        """One month-end run over the inbox; its exit code, or None when it could not start."""
        from progbill.pipeline import RunOptions, run

        period = period_for(self.rule, self.today())
        try:
            report = run(self.ws.root, RunOptions(period=period, config_path=self.config_path,
                                                  wait_seconds=10))
        except ProgbillError as exc:
            self._write_log(f"run for {period} did not start: {exc.message}")
            return None
        except Exception as exc:  # the service must survive anything a run meets
            self._write_log(f"run for {period} stopped on an unexpected problem "
                            f"({type(exc).__name__}: {exc}); nothing half-written was kept")
            return None
        docs = len(report.documents)
        self._write_log(
            f"run {report.run_id} for {period}: {len(report.files)} file(s), "
            f"{len(report.rejected)} rejected, {docs} document(s) issued"
            + "".join(f"; {d.number} {d.currency} {d.amount_due}" for d in report.documents[:5]))
        for f in report.rejected:
            for p in f.errors[:5]:
                self._write_log(f"  rejected {f.name}: {p}")
        return report.exit_code

    def _wait_until_settled(self) -> bool:
        """Wait until the inbox's files stop changing; False if stopped meanwhile."""
        before = _stamps(_inbox_files(self.ws))
        while not self.stopping.is_set():
            if self.stopping.wait(self.settle):
                return False
            now = _stamps(_inbox_files(self.ws))
            if now == before:
                return True
            before = now
        return False

    def serve(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Changed(FileSystemEventHandler):
            def on_any_event(self, event: object) -> None:
                watcher.changed.set()

        observer = Observer()
        observer.schedule(Changed(), str(self.ws.inbox), recursive=False)
        observer.start()
        self._write_log(f"watching {self.ws.inbox} (period rule: {self.rule}, settle "
                        f"{self.settle:g} s)")
        self.changed.set()  # files already waiting are processed at once
        try:
            while not self.stopping.is_set():
                if not self.changed.wait(RETRY_SECONDS) and not _inbox_files(self.ws):
                    continue
                self.changed.clear()
                if self.stopping.is_set() or not _inbox_files(self.ws):
                    continue
                if not self._wait_until_settled():
                    break
                if self.run_once() is None:
                    time.sleep(min(self.settle, 1.0))
        finally:
            observer.stop()
            observer.join()
            self._write_log("stopped")


def serve(root: Path, period_rule: str | None, settle: float | None,
          config_path: Path | None, log: Callable[[str], None]) -> None:
    watcher = Watcher(root, period_rule, settle, log=log, config_path=config_path)
    signal.signal(signal.SIGTERM, watcher.stop)
    signal.signal(signal.SIGINT, watcher.stop)
    watcher.serve()
