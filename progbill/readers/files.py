"""Which files are inputs, and whether a file is safe to open at all.

Skipped (not rejected): Excel's lock files ``~$name.xlsx``, hidden files, files still being
written (size or modification time changing), and files of other types in a folder.

Refused with one clear error each, before any parser sees them: empty files, files over the size
limit, archives that would inflate too far (zip bombs), password-protected workbooks, and files
whose content is not the spreadsheet their extension claims.

A file is opened once (:func:`read_input`): its bytes are hashed and parsed from the same buffer,
so what was billed, what was hashed and what is archived are the same bytes, whatever happens to
the file on disk meanwhile. An inbox file that is a symbolic link, or resolves outside the inbox,
is refused (:func:`outside_folder`).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

EXCEL_ZIP = {".xlsx", ".xlsm"}
ODS = {".ods"}
XLS = {".xls"}
CSV_LIKE = {".csv", ".tsv", ".txt"}
ACCEPTED = EXCEL_ZIP | ODS | XLS | CSV_LIKE

# Archive limits, checked on the zip directory before anything is decompressed.
MAX_ENTRIES = 5_000
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 200  # per entry larger than RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


class UnreadableFile(Exception):
    """A file that cannot be opened as a spreadsheet; the message says why and what to do."""

    def __init__(self, message: str, code: str = "unreadable-file") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


RATES_STEM = "rates"  # inbox/rates.csv or rates.xlsx: exchange rates for exports


def is_candidate(path: Path) -> str | None:
    """None if ``path`` should be read, else the reason it is skipped."""
    name = path.name
    if name.startswith("~$"):
        return "an Excel lock file (the workbook is open in Excel)"
    if name.startswith(".") or name.startswith("~") or name.endswith("#"):
        return "a hidden or temporary file"
    if path.suffix.lower() not in ACCEPTED:
        return f"not a spreadsheet type progbill reads ({', '.join(sorted(ACCEPTED))})"
    if path.stem.casefold() == RATES_STEM:
        return "exchange rates for `progbill export` (not billed; it stays in the inbox)"
    return None


def discover(paths: list[Path], settle_seconds: float = 0.0) -> tuple[list[Path], list[Skipped]]:
    """Input files under ``paths`` (files or folders, not recursive), sorted by name.

    With ``settle_seconds`` > 0, a file whose size or mtime changes over that time is skipped as
    still being written (the inbox uses this; explicit paths are read as they are).
    """
    found: list[Path] = []
    skipped: list[Skipped] = []
    for given in paths:
        entries = sorted(p for p in given.iterdir() if p.is_file()) if given.is_dir() else [given]
        for path in entries:
            reason = is_candidate(path)
            if (reason and given.is_dir()) or (reason and path.name.startswith("~$")):
                skipped.append(Skipped(path, reason))
            else:
                found.append(path)
    if settle_seconds > 0 and found:
        before = {p: _stamp(p) for p in found}
        time.sleep(settle_seconds)
        stable = []
        for p in found:
            if _stamp(p) == before[p]:
                stable.append(p)
            else:
                skipped.append(Skipped(p, "still being written; it will be read by the next run"))
        found = stable
    return found, skipped


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def outside_folder(path: Path, folder: Path) -> str | None:
    """Why an inbox file is refused (a link, or a path resolving outside ``folder``), or None."""
    if path.is_symlink():
        return ("the file is a symbolic link; progbill reads only files placed in the inbox "
                "itself. Copy the workbook into the inbox instead of linking it")
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except OSError:
        inside = False
    if not inside:
        return ("the file resolves to a place outside the inbox; copy the workbook into the "
                "inbox instead of linking it")
    return None


def read_input(path: Path, max_file_mb: float, follow_links: bool = True) -> bytes:
    """The file's bytes, read from one open, within the size limit. Raises
    :class:`UnreadableFile` when it cannot be read, is empty, or is too large."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    limit = int(max_file_mb * 1024 * 1024)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(f"cannot open the file ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("this is not a regular file; save the workbook as a file")
        if info.st_size > limit:
            raise _too_large(info.st_size, max_file_mb)
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise _too_large(len(data), max_file_mb)
    if not data:
        raise UnreadableFile("the file is empty; save the workbook again and re-run")
    return data


def _too_large(size: int, max_file_mb: float) -> UnreadableFile:
    return UnreadableFile(
        f"the file is {size / 1024 / 1024:.1f} MB, over the {max_file_mb:g} MB limit "
        "(input.max_file_mb); split it or raise the limit",
        code="file-too-large",
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_content(data: bytes, suffix: str) -> None:
    """Raise :class:`UnreadableFile` unless ``data`` is safe to hand to a parser."""
    suffix = suffix.lower()
    head = data[:8]
    if suffix in EXCEL_ZIP | ODS:
        if head.startswith(_OLE_MAGIC):
            if _ole_is_encrypted(data):
                raise UnreadableFile(
                    "the workbook is password-protected; remove the password in Excel "
                    "(File > Info > Protect Workbook) and save it again",
                    code="password-protected",
                )
            raise UnreadableFile(
                f"the file is an old-style Excel workbook saved with a {suffix} name; "
                "rename it to .xls or save it again as .xlsx"
            )
        if not head.startswith(_ZIP_MAGIC):
            raise UnreadableFile(
                f"the file is not a {suffix} workbook (its content is not a spreadsheet); "
                "open it in Excel and save it again as .xlsx"
            )
        check_archive(data)
    elif suffix in XLS:
        if head.startswith(_ZIP_MAGIC):
            raise UnreadableFile(
                "the file is a .xlsx workbook saved with a .xls name; rename it to .xlsx"
            )
        if not head.startswith(_OLE_MAGIC):
            raise UnreadableFile(
                "the file is not an Excel .xls workbook; open it in Excel and save it as .xlsx"
            )
        if _ole_is_encrypted(data):
            raise UnreadableFile(
                "the workbook is password-protected; remove the password and save it again",
                code="password-protected",
            )
    elif suffix in CSV_LIKE and head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise UnreadableFile(
            f"the file is an Excel workbook saved with a {suffix} name; rename it to .xlsx"
        )


def check_archive(data: bytes) -> None:
    """Refuse a zip whose directory promises too many entries, too many bytes, or an
    implausible compression ratio. Only the directory is read; nothing is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(
            "the workbook is damaged (not a readable zip archive); open it in Excel, "
            "let Excel repair it, and save it again"
        ) from exc
    if len(infos) > MAX_ENTRIES:
        raise UnreadableFile(
            f"the workbook holds {len(infos)} parts, more than any real workbook "
            f"({MAX_ENTRIES}); it was refused as a possible zip bomb",
            code="zip-bomb",
        )
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnreadableFile(
                "the workbook is password-protected; remove the password and save it again",
                code="password-protected",
            )
        total += info.file_size
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise UnreadableFile(
                f"the file would expand {info.file_size // max(info.compress_size, 1)} times "
                f"when opened (part {info.filename}), far beyond any real workbook; it was "
                "refused as a possible zip bomb. If it is a real workbook, open it in Excel and "
                "save it again",
                code="zip-bomb",
            )
    if total <= MAX_UNCOMPRESSED:
        _refuse_entity_declarations(data, infos)
    if total > MAX_UNCOMPRESSED:
        raise UnreadableFile(
            f"the workbook would inflate to {total // (1024 * 1024)} MB, over "
            f"{MAX_UNCOMPRESSED // (1024 * 1024)} MB; it was refused as a possible zip bomb",
            code="zip-bomb",
        )


def _refuse_entity_declarations(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """No spreadsheet declares XML entities; a part that does is an entity bomb (billion
    laughs) or an attempt to read local files (XXE). A DOCTYPE must come before the root
    element, so the first kilobytes of each XML part decide."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in infos:
            if not info.filename.endswith((".xml", ".rels")):
                continue
            with archive.open(info) as part:
                head = part.read(4096)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise UnreadableFile(
                    f"part {info.filename} declares XML entities, which no real workbook does; "
                    "it was refused as a possible XML bomb",
                    code="xml-bomb",
                )


def _ole_is_encrypted(data: bytes) -> bool:
    """An OLE2 container holding ``EncryptedPackage`` is an encrypted OOXML workbook; a .xls
    with a ``FilePass`` record is encrypted too (detected by calamine later)."""
    data = data[:4 * 1024 * 1024]
    return "EncryptedPackage".encode("utf-16-le") in data or b"E\x00n\x00c\x00r\x00y\x00p" in data
