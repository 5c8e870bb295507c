"""The workspace folder (OUTPUTS.md): its paths, atomic file writes, and the one-run lock.

Every file progbill writes goes to a hidden temporary name in the destination folder and is
renamed into place, so a reader (Excel, a mail client, the next run) never sees half a file and
a crash leaves at most a temporary file, which the next run removes.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from progbill.config import CONFIG_NAME, DEFAULT_TOML, Config, load_config
from progbill.faults import checkpoint
from progbill.problems import WorkspaceError

TEMP_PREFIX = ".progbill-tmp-"
LOCK_NAME = ".progbill.lock"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def db_path(self) -> Path:
        return self.root / "progbill.db"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.xlsx"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    def archive(self, period: str) -> Path:
        return self.root / "archive" / period

    def invoices(self, period: str) -> Path:
        return self.root / "invoices" / period

    def drafts(self, period: str) -> Path:
        return self.root / "drafts" / period

    def is_initialised(self) -> bool:
        return self.config_path.exists() or self.db_path.exists()

    def require(self) -> Workspace:
        if not self.root.is_dir():
            raise WorkspaceError(
                f"workspace {self.root} does not exist; create it with: progbill init {self.root}"
            )
        if not self.is_initialised():
            raise WorkspaceError(
                f"{self.root} is not a progbill workspace (no {CONFIG_NAME}); create one with: "
                f"progbill init {self.root}"
            )
        return self

    def load_config(self, override: Path | None = None) -> Config:
        if override is not None:
            return load_config(override, base_dir=self.root)
        if self.config_path.exists():
            return load_config(self.config_path)
        return Config(base_dir=self.root)

    def clean_temporary_files(self) -> list[Path]:
        """Remove what an interrupted run left behind (only progbill's own temporary files)."""
        removed = []
        for folder in (self.root, self.root / "invoices", self.root / "drafts", self.runs,
                       self.root / ".progbill-cache",
                       self.failed, self.root / "archive", self.root / "backups"):
            if not folder.is_dir():
                continue
            for path in folder.rglob(f"{TEMP_PREFIX}*"):
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
        return removed


def copy_templates(root: Path) -> tuple[Path, bool]:
    """Copy the bundled templates to ``root/templates`` to edit, and point the workspace's
    settings at them when they still use the bundled ones. Returns the folder and whether
    progbill.toml was changed. Never overwrites an existing templates folder."""
    from progbill.render.pdf import bundled_templates

    target = root / "templates"
    if not target.exists():
        shutil.copytree(bundled_templates(), target)
    config = Workspace(root).config_path
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    default_line = re.compile(r'^template_dir = ""', re.M)
    if default_line.search(text):
        atomic_write_text(config, default_line.sub('template_dir = "templates"', text, count=1))
        return target, True
    return target, False


def init_workspace(root: Path) -> list[Path]:
    """Create a workspace; never overwrite an existing file. Returns what was created."""
    from progbill.example import write_example_workbook

    created = []
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("inbox", "archive", "failed", "invoices", "drafts", "runs"):
        path = root / sub
        if not path.exists():
            path.mkdir()
            created.append(path)
    ws = Workspace(root)
    if not ws.config_path.exists():
        atomic_write_text(ws.config_path, DEFAULT_TOML)
        created.append(ws.config_path)
    example = ws.inbox / "example-progress.xlsx"
    if not example.exists() and not any(ws.inbox.iterdir()):
        with atomic_path(example) as tmp:
            write_example_workbook(tmp)
        created.append(example)
    return created


@contextmanager
def atomic_path(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto
    ``target``, on failure removed. ``durable=False`` (a cache, checked when it is read)
    renames without the syncs: readers still see the old file or the new one, but after a
    power cut the file may be missing, old or damaged."""
    target.parent.mkdir(parents=True, exist_ok=True)
    head = f"{TEMP_PREFIX}{secrets.token_hex(4)}-"
    name = target.name.encode()[:255 - len(head)].decode("utf-8", errors="ignore")
    tmp = target.with_name(head + name)
    try:
        yield tmp
        checkpoint("atomic:before-rename")
        if durable:
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
        if durable:
            _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(target: Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(target, durable) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def workspace_lock(ws: Workspace, wait_seconds: float) -> Iterator[None]:
    """Hold the workspace's run lock; wait up to ``wait_seconds`` for another run to finish."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(ws.root / LOCK_NAME))
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout as exc:
        raise WorkspaceError(
            f"another progbill run is working in {ws.root} and did not finish within "
            f"{wait_seconds:g} seconds; try again when it has finished"
        ) from exc
    except OSError as exc:
        raise WorkspaceError(
            f"the workspace {ws.root} is read-only for progbill (it cannot create "
            f"{LOCK_NAME}); give your user write permission on the folder, or run progbill as "
            "the user who owns it. Nothing was done.") from exc
    try:
        yield
    finally:
        lock.release()
