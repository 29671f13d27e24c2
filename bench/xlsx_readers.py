"""XLSX readers on the same file: openpyxl read-only, python-calamine, and the import's
own streaming reader (app/imports/xlsx.py). Each reads every row of the first sheet in
a fresh process; time and peak RSS (VmHWM) above the process' size after imports are
recorded.

    python bench/xlsx_readers.py [--rows 125000] [--data-dir DIR]
    # writes an ~8 MB customers XLSX once
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import add_data_dir, record
from bench.responsiveness import write_xlsx
from tests.worker_process import peak_rss_mb

READERS = ("openpyxl", "calamine", "app.imports.xlsx")


def read_all(reader: str, path: Path) -> dict[str, float]:
    import app.imports.reader  # the same imports for every reader (openpyxl comes with it)

    base = peak_rss_mb()
    start, rows = time.perf_counter(), 0
    if reader == "openpyxl":
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        sheet.reset_dimensions()
        rows = sum(1 for _ in sheet.iter_rows(values_only=True))
    elif reader == "calamine":
        from python_calamine import CalamineWorkbook

        rows = sum(1 for _ in CalamineWorkbook.from_path(path).get_sheet_by_index(0).iter_rows())
    else:
        from app.imports.limits import ImportLimits

        copy = app.imports.reader.LocalCopy(path, "xlsx", None, 0)
        with app.imports.reader.open_rows(copy, ImportLimits()) as stream:
            rows = sum(1 for _ in stream)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "extra_mb": peak_rss_mb() - base}


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--rows", type=int, default=125_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(read_all(args.one, Path(args.path))))
        return
    load = os.getloadavg()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = args.data_dir / f"responsive-{args.rows}.xlsx"
    write_xlsx(path, args.rows)
    lines = [f"file: {path.stat().st_size / 1e6:.1f} MB, {args.rows:,} customer rows x 11 "
             f"columns (inline strings, dates); load average at start {load[0]:.2f}"]  # fmt: skip
    for reader in READERS:
        done = subprocess.run(
            [sys.executable, __file__, "--one", reader, "--path", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = json.loads(done.stdout.strip().splitlines()[-1])
        lines.append(
            f"{reader}: {found['seconds']:.1f} s ({found['rows'] / found['seconds']:,.0f} rows/s), "
            f"peak RSS +{found['extra_mb']:.0f} MB"
        )
    record("XLSX readers on one file", lines, postgres="no database")


if __name__ == "__main__":
    main()
