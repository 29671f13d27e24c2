"""Backtest samples from an uploaded CSV or XLSX (客户编号, 期望分类), read with the
import readers (encoding detection, GB18030, the bounded XLSX reader)."""

import asyncio
import base64
import binascii
import tempfile
from collections.abc import Iterable
from pathlib import Path

from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.imports.limits import ImportLimits
from app.imports.reader import FileProblem, LocalCopy, Row, csv_encoding, open_rows
from app.rules.schemas import LabelledSamples

CODE_HEADERS = {"客户编号", "客户代码", "customer_code", "code"}
EXPECTED_HEADERS = {"期望分类", "预期分类", "期望类别", "分类", "expected", "category"}
MAX_SAMPLES = 10_000


def _invalid(zh: str, en: str) -> InvalidInput:
    return InvalidInput(
        Text(zh, en), errors=[{"loc": ["body", "samples_file"], "msg": en, "type": "samples_file"}]
    )


async def read_samples(given: LabelledSamples) -> list[tuple[str, str]]:
    """(customer_code, expected) pairs as listed, or read from the uploaded file (CPU
    work: off the event loop)."""
    if given.samples_file is not None:
        return await asyncio.to_thread(samples_from_file, given.samples_file.content_base64)
    return [(s.customer_code, s.expected) for s in given.samples or []]


def samples_from_file(content_base64: str) -> list[tuple[str, str]]:
    """(customer_code, expected) pairs from a base64-encoded CSV or XLSX with a header row."""
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            "samples_file 不是有效的 base64", "samples_file is not valid base64"
        ) from None
    file_format = "xlsx" if data.startswith(b"PK") else "csv"
    with tempfile.TemporaryDirectory(prefix="crmc-samples-") as directory:
        path = Path(directory) / f"samples.{file_format}"
        path.write_bytes(data)
        try:
            encoding = None
            if file_format == "csv":
                utf8_ok = True
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    utf8_ok = False
                encoding = csv_encoding(path, data[:4], utf8_ok)
            copy = LocalCopy(path, file_format, encoding, 0)
            with open_rows(copy, ImportLimits()) as rows:
                return _pairs(rows)
        except FileProblem as problem:
            raise _invalid(problem.message_zh, problem.message_en) from None


def _pairs(rows: Iterable[Row]) -> list[tuple[str, str]]:
    header: list[str] | None = None
    pairs: list[tuple[str, str]] = []
    for _, cells in rows:
        values = ["" if c is None else str(c).strip() for c in cells]
        if header is None:
            header = values
            try:
                code_at = next(i for i, h in enumerate(header) if h in CODE_HEADERS)
                expected_at = next(i for i, h in enumerate(header) if h in EXPECTED_HEADERS)
            except StopIteration:
                raise _invalid(
                    "样本文件需要「客户编号」和「期望分类」两列",
                    "The samples file needs the columns 客户编号 (customer_code) and 期望分类 "
                    "(expected)",
                ) from None
            continue
        if len(values) > max(code_at, expected_at) and values[code_at] and values[expected_at]:
            pairs.append((values[code_at], values[expected_at]))
        if len(pairs) > MAX_SAMPLES:
            raise _invalid(f"样本超过 {MAX_SAMPLES} 条", f"More than {MAX_SAMPLES} samples")
    if not pairs:
        raise _invalid("样本文件中没有样本", "The samples file holds no samples")
    return pairs
