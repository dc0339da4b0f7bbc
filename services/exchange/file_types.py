"""What a file really is, from its bytes: the name and the declared type are only claims.

Allowed: PDF, PNG, JPEG, TIFF, the ZIP-based office documents (OOXML and OpenDocument, without
macros) and plain UTF-8 text. A file whose bytes are none of these is refused, and so is one
whose bytes contradict the name or type it was declared with (a ``.pdf`` that is an executable).
"""

from __future__ import annotations

import codecs
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from shared.problems import DomainError, InvalidInput

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
TEXT = "text/plain"

EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg", ".jpe"),
    TIFF: (".tif", ".tiff"),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
    ODT: (".odt",),
    ODS: (".ods",),
    ODP: (".odp",),
    TEXT: (".txt", ".text", ".csv"),
}
ALLOWED_TYPES = frozenset(EXTENSIONS)
# Declared types that say nothing about the content.
UNINFORMATIVE = frozenset({"", "application/octet-stream", "binary/octet-stream"})
DECLARED_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF}
HEAD_BYTES = 8192
ZIP_MAGIC = b"PK\x03\x04"


class UnsupportedContent(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "This kind of file is not accepted"


class ContentTooLarge(DomainError):
    status = 413
    slug = "content-too-large"
    title = "The file is too large"


@dataclass(frozen=True)
class ZipListing:
    """What a ZIP holds, enough to tell the office formats apart."""

    names: tuple[str, ...]
    mimetype: str | None  # the OpenDocument ``mimetype`` member, when there is one


class ContentSniffer:
    """Fed the file's chunks in order; keeps the head and checks the text as it goes."""

    def __init__(self) -> None:
        self.head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._text = True
        self._first = True

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if not self._text:
            return
        if self._first and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8) :]
        self._first = False
        try:
            decoded = self._decoder.decode(chunk)
        except UnicodeDecodeError:
            self._text = False
            return
        if any(ord(c) < 32 and c not in "\t\n\r\f" for c in decoded) or "\x7f" in decoded:
            self._text = False

    @property
    def is_zip(self) -> bool:
        return self.head.startswith(ZIP_MAGIC)

    def _text_complete(self) -> bool:
        if not self._text:
            return False
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True

    def content_type(self, listing: ZipListing | None = None) -> str | None:
        """The sniffed type, or None when the bytes are none of the allowed kinds."""
        head = self.head
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith((b"II*\x00", b"MM\x00*")):
            return TIFF
        if self.is_zip:
            return office_type(listing) if listing is not None else None
        if not head:
            return None
        return TEXT if self._text_complete() else None


def office_type(listing: ZipListing) -> str | None:
    names = set(listing.names)
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return None  # macros: refused
    if listing.mimetype in (ODT, ODS, ODP):
        return listing.mimetype
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        if "ppt/presentation.xml" in names:
            return PPTX
    return None


def safe_filename(name: str | None, field: str) -> str:
    """The last path component of a declared name, without control characters."""
    if name is None or not name.strip():
        raise InvalidInput("give the file's name", field=field)
    base = posixpath.basename(name.replace("\\", "/")).strip()
    cleaned = "".join(c for c in base if c.isprintable())
    if not cleaned or cleaned in (".", ".."):
        raise InvalidInput("the file name is not usable", field=field)
    if len(cleaned) > 255:
        raise InvalidInput("the file name is longer than 255 characters", field=field)
    return cleaned


def check_declared(
    sniffed: str | None,
    filename: str,
    declared_type: str | None,
    *,
    filename_field: str,
    type_field: str,
) -> str:
    """The sniffed type when it is allowed and agrees with the declared name and type."""
    if sniffed is None or sniffed not in ALLOWED_TYPES:
        raise UnsupportedContent(
            "the file is none of the accepted kinds (PDF, PNG, JPEG, TIFF, office documents "
            "without macros, plain UTF-8 text)",
            field="body",
        )
    extension = posixpath.splitext(filename.lower())[1]
    if extension and extension not in EXTENSIONS[sniffed]:
        raise InvalidInput(
            f"the file is named {extension} but its content is {sniffed}", field=filename_field
        )
    declared = normalise_type(declared_type)
    if declared not in UNINFORMATIVE and not _agrees(declared, sniffed):
        raise InvalidInput(
            f"the file was declared as {declared} but its content is {sniffed}", field=type_field
        )
    return sniffed


def normalise_type(value: str | None) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return DECLARED_ALIASES.get(base, base)


def _agrees(declared: str, sniffed: str) -> bool:
    if declared == sniffed:
        return True
    return sniffed == TEXT and declared.startswith("text/")


def extensions_of(content_type: str) -> Sequence[str]:
    return EXTENSIONS.get(content_type, ())
