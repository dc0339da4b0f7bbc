"""A file sent as ``multipart/form-data`` (an HTML form without JavaScript), read as a stream.

The part named ``file`` is handed on chunk by chunk as it arrives; small text fields before it
(``personal_data``, ``filename``) are kept. Nothing is held in memory beyond one chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from shared.problems import InvalidInput

FILE_FIELD = "file"
MAX_FIELD = 1024


def boundary_of(content_type: str | None) -> str | None:
    """The boundary of a multipart/form-data content type, or None for any other type."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("a multipart body needs its boundary", field="headers.content-type")
    return boundary.decode("latin-1")


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)


class FormFile:
    """The ``file`` part of a multipart body: its declared name and type, then its bytes."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: str) -> None:
        self._stream = stream
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._part = _Part()
        self._in_file = False
        self._file_done = False
        self._pending: list[bytes] = []
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    # parser callbacks

    def _on_part_begin(self) -> None:
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = bytes(self._header_field).decode("latin-1").strip().lower()
        self._part.headers[name] = bytes(self._header_value).decode("utf-8", "replace").strip()
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._part.headers.get("content-disposition"))
        raw_name = params.get(b"name")
        raw_filename = params.get(b"filename")
        self._part.name = raw_name.decode("utf-8", "replace") if raw_name else None
        self._part.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
        self._part.content_type = self._part.headers.get("content-type")
        if self._part.name == FILE_FIELD and not self._file_done:
            self._in_file = True
            self.filename = self._part.filename
            self.content_type = self._part.content_type

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])
        elif self._part.name is not None and self._part.filename is None and not self._file_done:
            self._part.data += data[start:end]
            if len(self._part.data) > MAX_FIELD:
                raise InvalidInput(
                    f"the form field {self._part.name!r} is too long", field=self._part.name
                )

    def _on_part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True
        elif self._part.name is not None and self._part.filename is None and not self._file_done:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")

    # reading

    async def _feed_next(self) -> bool:
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            self._parser.finalize()
            return False
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise InvalidInput(f"the multipart body is malformed: {exc}", field="body") from None
        return True

    async def start(self) -> None:
        """Read up to the file part's headers, so that its name and type are known."""
        while not self._in_file and not self._file_done:
            if not await self._feed_next():
                raise InvalidInput(f"the form has no {FILE_FIELD!r} part", field="body.file")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file part's bytes, as they arrive."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done or not await self._feed_next():
                break
        while self._pending:
            yield self._pending.pop(0)
