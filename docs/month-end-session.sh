#!/usr/bin/env bash
# A month-end as a finance team runs it, start to finish, on the bundled sample workbooks:
# drop, run, re-run, next month, a correction, a credit note, a crash-free rebuild, an audit.
#   bash docs/month-end-session.sh [WORKDIR]
# The README's "A month-end session" shows this script's real output.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
ws="$work/billing"
say() { printf '\n$ %s\n' "$*"; "$@" || true; }

say progbill init "$ws" >/dev/null
rm -f "$ws/inbox/example-progress.xlsx"
# the demo seller's settings (a GST tax invoice needs the seller's GSTIN)
cp "$repo"/sample_workbooks/settings/demo.toml "$ws/progbill.toml"

echo; echo "# October: the team drops the three progress workbooks into the inbox"
cp "$repo"/sample_workbooks/2026-10/* "$ws/inbox/"
say progbill run --period 2026-10 -w "$ws"

echo; echo "# Someone runs October again by mistake: nothing is billed twice"
cp "$repo"/sample_workbooks/2026-10/northlight-studio-milestones.csv "$ws/inbox/"
say progbill run --period 2026-10 -w "$ws"

echo; echo "# November: updated workbooks"
cp "$repo"/sample_workbooks/2026-11/* "$ws/inbox/"
say progbill run --period 2026-11 -w "$ws"

echo; echo "# A correction: the owner's rep certifies HB-2047 framing at 60%, not 70% (a credit),"
echo "# and Greenway's build sprint is approved (a supplementary invoice)"
python3 - "$repo" "$ws" <<'PY'
import csv, shutil, sys
from pathlib import Path
import openpyxl
repo, ws = Path(sys.argv[1]), Path(sys.argv[2])
book = openpyxl.load_workbook(repo / "sample_workbooks/2026-11/harborview-construction-progress.xlsx")
sov = book["Schedule of Values"]
for row in sov.iter_rows(min_row=5):
    if row[0].value == "HB-2047" and row[1].value == "02":
        row[4].value = 60
book.save(ws / "inbox" / "harborview-construction-progress.xlsx")
rows = list(csv.reader((repo / "sample_workbooks/2026-11/northlight-studio-milestones.csv").open(encoding="utf-8-sig")))
for row in rows:
    if len(row) > 11 and row[0] == "NLS-034" and row[10] == "M3":
        row[13] = "Approved"
with (ws / "inbox" / "northlight-studio-milestones.csv").open("w", newline="", encoding="utf-8-sig") as f:
    csv.writer(f).writerows(rows)
PY
say progbill run --period 2026-11 -w "$ws"

echo; echo "# A PDF is deleted by accident and the ledger is lost: rebuild both from the store"
rm "$ws/invoices/2026-11/INV-2026-00007.pdf" "$ws/ledger.xlsx"
say progbill ledger -w "$ws"

echo; echo "# The auditor asks where the credit note came from"
say progbill show CN-2026-00001 -w "$ws"
