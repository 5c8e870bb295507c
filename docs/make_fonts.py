"""Make the script fonts bundled in templates/default/fonts from Debian's Noto fonts.

    apt-get install fonts-noto-core fonts-noto-cjk
    python docs/make_fonts.py templates/default/fonts

DejaVu covers Latin, Greek and Cyrillic. Clients' names and addresses also come in Devanagari
(Indian GST clients), Arabic, Hebrew, Chinese, Japanese and Korean, so progbill ships Noto Sans
subsets for them (SIL Open Font License 1.1, see fonts/LICENSE-OFL.txt):

* Devanagari, Arabic, Hebrew: each whole script block, with every layout feature (conjuncts,
  joining forms and marks need them), regular and bold;
* CJK (the Simplified Chinese face of Noto Sans CJK, which also draws Japanese kana and kanji
  and Korean Hangul): the characters of GB 2312 (all common simplified Chinese) and JIS X 0208
  (common Japanese kanji), the 2,350 Hangul syllables of KS X 1001, kana, CJK punctuation and
  full-width forms; regular only (bold is synthesised).

Characters outside what the bundled fonts draw are reported by the run as a warning at the cell
(``unprintable-characters``), never printed as blank space.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

CORE = Path("/usr/share/fonts/truetype/noto")
CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

SCRIPTS = {
    "Devanagari": [(0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF), (0x200C, 0x200D),
                   (0x25CC, 0x25CC)],
    "Arabic": [(0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
               (0xFE70, 0xFEFF), (0x200C, 0x200F)],
    "Hebrew": [(0x0590, 0x05FF), (0xFB1D, 0xFB4F)],
}


# Spaces, digits and ASCII punctuation in every font: inside a run of another script the
# shaper takes them from that script's font, and a missing space would print as a box.
SHARED = [(0x0020, 0x007E), (0x00A0, 0x00A0), (0x2010, 0x2027), (0x202F, 0x202F)]


def _codepoints(ranges: list[tuple[int, int]]) -> list[int]:
    return [c for low, high in ranges + SHARED for c in range(low, high + 1)]


def _double_byte(codec: str, first: range, second: range) -> set[int]:
    found = set()
    for hi in first:
        for lo in second:
            try:
                found.add(ord(bytes([hi, lo]).decode(codec)))
            except (UnicodeDecodeError, TypeError):
                continue
    return found


def _subset(font: TTFont, codepoints: list[int] | set[int], target: Path) -> None:
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    font.save(target)
    print(f"{target.name}: {target.stat().st_size // 1024} KB")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for script, ranges in SCRIPTS.items():
        for weight in ("Regular", "Bold"):
            source = CORE / f"NotoSans{script}-{weight}.ttf"
            _subset(TTFont(source), _codepoints(ranges), out / f"NotoSans{script}-{weight}.ttf")
    cjk = _double_byte("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    cjk |= _double_byte("euc_jp", range(0xA1, 0xF5), range(0xA1, 0xFF))
    cjk |= _double_byte("euc_kr", range(0xB0, 0xC9), range(0xA1, 0xFF))
    cjk |= set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0)) | set(_codepoints([]))
    simplified = TTCollection(CJK).fonts[2]  # Noto Sans CJK SC
    _subset(simplified, cjk, out / "NotoSansCJKsc-Regular.otf")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
