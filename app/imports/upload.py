"""Receiving an upload: the file goes to storage in 1 MiB chunks as it arrives.

`multipart/form-data` (`file`, `entity`, `dry_run`) is parsed as a stream with
python-multipart's push parser, so a 200 MB file never sits in memory or in a temporary
file: each MiB is handed to a sink (an INSERT into import_chunks) as soon as it is
complete. Form fields may come before or after the file. Small files may instead be sent
as JSON with the content in base64 (bounded by the ordinary body limit).
"""

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request
from pydantic import Field, StrictBool, StringConstraints, ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.core.i18n import Text
from app.core.json_body import read_json_body
from app.core.schemas import RequestBody
from app.core.validation_messages import validation_message
from app.imports.columns import ENTITIES, ImportEntity

CHUNK_BYTES = 1 << 20
_MAX_FIELD_BYTES = 1024
_MAX_PARTS = 16
_FIELDS = ("file", "entity", "dry_run")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})

Sink = Callable[[int, bytes], Awaitable[None]]
Filename = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ImportUpload(RequestBody):
    """A small file sent as JSON (base64); use multipart/form-data for large files."""

    entity: ImportEntity = Field(description="customers | orders | interactions | complaints")
    filename: Filename = Field(examples=["订单导入.csv"])
    dry_run: StrictBool = Field(default=False, description="Only validate and report")
    content_base64: str = Field(
        description="The CSV or XLSX file, base64-encoded (up to the ordinary body limit)",
        json_schema_extra={"contentEncoding": "base64"},
    )


@dataclass(frozen=True)
class Upload:
    """What was received: the form fields and facts about the stored file."""

    entity: ImportEntity
    dry_run: bool
    filename: str
    file_format: str  # csv | xlsx
    size: int
    sha256: str

    def fingerprint(self) -> dict[str, Any]:
        """What makes two uploads the same request (for Idempotency-Key)."""
        return {
            "entity": self.entity,
            "dry_run": self.dry_run,
            "filename": self.filename,
            "size": self.size,
            "sha256": self.sha256,
        }


class _ChunkWriter:
    """Cuts the incoming bytes into 1 MiB chunks for the sink; hashes and sizes them."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.seq = 0
        self.size = 0
        self.head = b""
        self.digest = hashlib.sha256()

    async def write(self, data: bytes) -> None:
        if not data:
            return
        if len(self.head) < 8192:
            self.head += data[: 8192 - len(self.head)]
        self.size += len(data)
        self.digest.update(data)
        self.buffer += data
        while len(self.buffer) >= CHUNK_BYTES:
            await self._flush(CHUNK_BYTES)

    async def close(self) -> None:
        if self.buffer:
            await self._flush(len(self.buffer))

    async def _flush(self, length: int) -> None:
        await self.sink(self.seq, bytes(self.buffer[:length]))
        del self.buffer[:length]
        self.seq += 1


async def receive_upload(request: Request, sink: Sink, *, max_json_bytes: int) -> Upload:
    """Read the request body into the sink; 415/422 for what cannot be imported."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    writer = _ChunkWriter(sink)
    if media == "multipart/form-data":
        fields, filename = await _read_multipart(request, writer)
    elif media == "application/json":
        fields, filename = await _read_json(request, writer, max_json_bytes)
    else:
        raise UnsupportedMediaType(
            Text(
                f"请以 multipart/form-data 上传文件(小文件也可用 application/json),收到 {media}",
                f"Upload the file as multipart/form-data (or JSON for small files), not {media}",
            )
        )
    await writer.close()
    entity, dry_run = _entity(fields.get("entity")), _dry_run(fields.get("dry_run"))
    if filename is None:
        raise _invalid(["body", "file"], "缺少文件", "A file is required", "missing")
    if writer.size == 0:
        raise _invalid(["body", "file"], "文件为空", "The file is empty", "empty_file")
    clean = _clean_filename(filename)
    file_format = detect_format(writer.head, clean)
    if not clean:
        clean = f"upload.{file_format}"
    return Upload(entity, dry_run, clean, file_format, writer.size, writer.digest.hexdigest())


async def _read_multipart(request: Request, writer: _ChunkWriter) -> tuple[dict[str, str], Any]:
    _, params = parse_options_header(request.headers["content-type"])
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest(Text("multipart 请求缺少 boundary", "The multipart body has no boundary"))
    form = _FormState()
    parser = MultipartParser(boundary, form.callbacks())
    try:
        async for received in request.stream():
            parser.write(received)
            for piece in form.take_file_data():
                await writer.write(piece)
        parser.finalize()
    except FormParserError as exc:
        raise BadRequest(
            Text(f"multipart 请求格式错误:{exc}", f"Malformed multipart body: {exc}")
        ) from None
    for piece in form.take_file_data():
        await writer.write(piece)
    if form.error is not None:
        raise form.error
    return form.fields, form.filename


class _FormState:
    """Callbacks of the push parser: small fields are kept, file bytes are passed on."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.error: InvalidInput | None = None
        self._headers: dict[bytes, bytes] = {}
        self._name, self._value = b"", b""
        self._part: str | None = None
        self._is_file = False
        self._field = bytearray()
        self._file_data: list[bytes] = []
        self._parts = 0

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: setattr(self, "_name", self._name + d[s:e]),
            "on_header_value": lambda d, s, e: setattr(self, "_value", self._value + d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def take_file_data(self) -> list[bytes]:
        taken, self._file_data = self._file_data, []
        return taken

    def _fail(self, loc: list[str | int], zh: str, en: str, kind: str) -> None:
        if self.error is None:
            self.error = _invalid(loc, zh, en, kind)

    def _begin(self) -> None:
        self._headers, self._field, self._part, self._is_file = {}, bytearray(), None, False
        self._parts += 1
        if self._parts > _MAX_PARTS:
            raise FormParserError("too many parts")

    def _header_end(self) -> None:
        self._headers[self._name.strip().lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part = options.get(b"name", b"").decode("utf-8", "replace")
        if self._part not in _FIELDS:
            self._fail(["body", self._part], f"未知字段 {self._part}", "Unexpected field", "extra")
        elif self._part == "file":
            if self.filename is not None:
                self._fail(["body", "file"], "只能上传一个文件", "Only one file", "too_many")
            self._is_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self._file_data.append(data[start:end])
        elif len(self._field) + end - start <= _MAX_FIELD_BYTES:
            self._field += data[start:end]
        else:
            self._fail(["body", self._part or ""], "字段过长", "Field too long", "too_long")

    def _end(self) -> None:
        if not self._is_file and self._part in _FIELDS:
            self.fields[self._part] = self._field.decode("utf-8", "replace")


async def _read_json(
    request: Request, writer: _ChunkWriter, limit: int
) -> tuple[dict[str, str], str]:
    raw = bytearray()
    async for received in request.stream():
        raw += received
        if len(raw) > limit:
            raise PayloadTooLarge(
                Text(
                    f"JSON 上传上限为 {limit} 字节,大文件请用 multipart/form-data",
                    f"JSON uploads are limited to {limit} bytes; use multipart/form-data",
                )
            )
    try:
        body = ImportUpload.model_validate(read_json_body(bytes(raw)))
    except ValidationError as exc:
        raise InvalidInput(
            Text("请求参数校验失败", "Invalid upload"),
            errors=[
                {"loc": ["body", *e["loc"]], "msg": validation_message(e), "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            ],
        ) from None
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            ["body", "content_base64"], "不是有效的 base64", "Not valid base64", "base64"
        ) from None
    for start in range(0, len(content), CHUNK_BYTES):
        await writer.write(content[start : start + CHUNK_BYTES])
    fields = {"entity": body.entity, "dry_run": "true" if body.dry_run else "false"}
    return fields, body.filename


def _invalid(loc: list[str | int], zh: str, en: str, kind: str) -> InvalidInput:
    return InvalidInput(Text(zh, en), errors=[{"loc": loc, "msg": en, "type": kind}])


def _entity(value: str | None) -> ImportEntity:
    if value is None:
        raise _invalid(["body", "entity"], "缺少 entity", "entity is required", "missing")
    for entity in ENTITIES:
        if value.strip() == entity:
            return entity
    raise _invalid(
        ["body", "entity"],
        f"entity 应为 {' / '.join(ENTITIES)}",
        f"entity must be one of {', '.join(ENTITIES)}",
        "enum",
    )


def _dry_run(value: str | None) -> bool:
    word = (value or "false").strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise _invalid(["body", "dry_run"], "dry_run 应为 true 或 false", "Not a boolean", "bool")


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def _clean_filename(raw: str) -> str:
    # Browsers may send a full client path ("C:\\fakepath\\订单.csv"); keep the name only.
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", raw)[-1])
    return _UNSAFE.sub("", name).strip()[:255]


_LEGACY_XLS = b"\xd0\xcf\x11\xe0"


def detect_format(head: bytes, filename: str) -> str:
    """csv or xlsx from the content (an XLSX is a zip: PK…) and the extension; else 415."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if head.startswith(_LEGACY_XLS) or extension == "xls":
        raise _unsupported(
            "不支持旧版 .xls 文件,请在 Excel 中另存为 .xlsx 或 CSV",
            "Legacy .xls files are not supported; save as .xlsx or CSV",
        )
    if head.startswith(b"PK\x03\x04"):
        if extension in ("xlsx", "xlsm", ""):
            return "xlsx"
        raise _unsupported(f"不支持的文件类型 .{extension}", f"Unsupported file type .{extension}")
    if extension in ("xlsx", "xlsm"):
        raise _unsupported("文件不是有效的 XLSX", "The file is not a valid XLSX workbook")
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if extension in ("csv", "txt", "tsv", "") and (utf16 or b"\x00" not in head):
        return "csv"
    raise _unsupported(
        "只支持 CSV 或 XLSX 文件", f"Only CSV and XLSX files can be imported, not .{extension}"
    )


def _unsupported(zh: str, en: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(Text(zh, en))
