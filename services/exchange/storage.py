"""Where attachment bytes live: an interface, and the filesystem as its default.

An upload is written to a temporary file as it arrives and becomes a stored file only when the
use case commits it under its key; a refused upload leaves nothing behind. Reads are streamed
in chunks, never loaded whole into memory.

Several replicas of the service must share the directory (a volume), as docker-compose does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, cast

from services.exchange.file_types import ZipListing

CHUNK = 256 * 1024
WRITE_BUFFER = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class Upload(ABC):
    """A file being received."""

    @abstractmethod
    async def write(self, chunk: bytes) -> None: ...

    @abstractmethod
    async def zip_listing(self) -> ZipListing | None:
        """The members of the received file read as a ZIP, or None when it is not one."""

    @abstractmethod
    async def commit(self, key: str) -> None:
        """Keep the received bytes under ``key``."""

    @abstractmethod
    async def discard(self) -> None:
        """Forget the received bytes; safe to call more than once and after a commit fails."""


class AttachmentStorage(ABC):
    @abstractmethod
    async def open_upload(self) -> Upload: ...

    @abstractmethod
    def read(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]: ...

    @abstractmethod
    async def copy(self, source: str, target: str) -> None: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the file; a key that is already gone is no error."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...


def new_key() -> str:
    return uuid.uuid4().hex


class FilesystemStorage(AttachmentStorage):
    """Files under ``root/ab/<key>``; uploads in ``root/tmp`` on the same filesystem, so that
    committing is an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    async def open_upload(self) -> FilesystemUpload:
        def create() -> tuple[BinaryIO, Path]:  # the wrapper is a binary file
            self.tmp.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=self.tmp, prefix="upload-", delete=False)
            return cast(BinaryIO, handle), Path(handle.name)

        handle, path = await asyncio.to_thread(create)
        return FilesystemUpload(self, handle, path)

    async def read(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path(key).open, "rb")
        try:
            while True:
                chunk = await asyncio.to_thread(handle.read, chunk_size)
                if not chunk:
                    return
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def copy(self, source: str, target: str) -> None:
        def run() -> None:
            destination = self.path(target)
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(destination.name + ".partial")
            shutil.copyfile(self.path(source), partial)
            os.replace(partial, destination)

        await asyncio.to_thread(run)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).exists)


class FilesystemUpload(Upload):
    def __init__(self, storage: FilesystemStorage, handle: BinaryIO, path: Path) -> None:
        self.storage = storage
        self.handle = handle
        self.temp_path = path
        self._buffer = bytearray()
        self._closed = False

    async def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= WRITE_BUFFER:
            await self._flush()

    async def _flush(self) -> None:
        if self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(self.handle.write, data)

    async def _close(self) -> None:
        if not self._closed:
            await self._flush()
            await asyncio.to_thread(self.handle.close)
            self._closed = True

    async def zip_listing(self) -> ZipListing | None:
        await self._close()

        def inspect() -> ZipListing | None:
            try:
                with zipfile.ZipFile(self.temp_path) as archive:
                    names = tuple(archive.namelist())
                    mimetype = None
                    if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                        mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                    return ZipListing(names, mimetype)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
                return None

        return await asyncio.to_thread(inspect)

    async def commit(self, key: str) -> None:
        await self._close()

        def move() -> None:
            destination = self.storage.path(key)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.temp_path, destination)

        await asyncio.to_thread(move)

    async def discard(self) -> None:
        with contextlib.suppress(OSError):
            await self._close()
        await asyncio.to_thread(self.temp_path.unlink, missing_ok=True)
