"""Downloading the files of one product for `sdl data sync`.

HTTP(S) with resume (a partial file continues with a Range request), S3 (boto3, with
the endpoint setting for CDSE), retries with exponential backoff on connection errors,
timeouts and 5xx/429, a 4xx reported at once, one bandwidth cap shared by all downloads,
and the STAC file extension's checks (`file:size`, `file:checksum` as a multihash).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import requests

from hub.errors import SdlError

#: Read size: large enough that the per-chunk Python work (cap, progress, hash) is
#: small beside the copy; a cut still loses no more than what was being read.
CHUNK = 1 << 20
#: An OAuth access token for asset downloads (CDSE's download service needs one).
TOKEN_VARIABLE = "SDL_SYNC_TOKEN"


class Hasher(Protocol):
    """What a hashlib object does here (sha*, md5 and blake2b share no base class)."""

    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


#: multihash codes (https://github.com/multiformats/multicodec) -> hashlib constructor
HASHES: dict[int, Callable[[], Hasher]] = {
    0x11: hashlib.sha1,
    0x12: hashlib.sha256,
    0x13: hashlib.sha512,
    0x14: hashlib.sha3_512,
    0x15: hashlib.sha3_384,
    0x16: hashlib.sha3_256,
    0xD5: hashlib.md5,
    0xB220: lambda: hashlib.blake2b(digest_size=32),
    0xB240: hashlib.blake2b,
}


class DownloadError(SdlError):
    """A file could not be downloaded or failed its check; the message says which and why."""


class ChecksumError(DownloadError):
    """A complete file is not what the item promised: it is deleted, never resumed."""


class _Retryable(Exception):
    """A failure worth another try: a cut connection, a timeout, a 5xx or 429."""

    def __init__(self, message: str, moved: int = 0) -> None:
        super().__init__(message)
        self.moved = moved  # bytes written before the failure (they count, and stay)


@dataclass(frozen=True)
class Remote:
    """One asset to download, with what its STAC item promises about it."""

    href: str
    size: int | None = None
    checksum: str | None = None  # multihash, hex


class RateLimit:
    """One bandwidth cap for every download thread (providers limit the total)."""

    def __init__(self, bytes_per_s: float) -> None:
        self.rate = bytes_per_s
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._next = max(self._next, now - 0.25) + n / self.rate  # 0.25 s of burst
            delay = self._next - now
        if delay > 0:
            time.sleep(delay)


class StreamDigest:
    """The checksum of a file computed while it is written, so that each downloaded byte
    is read once (the check read the whole file again after the download).

    A resumed download first hashes the part already on disk; a write at another offset
    (the server ignored Range and sent it all again) starts over from that offset's prefix.
    """

    def __init__(self, make: Callable[[], Hasher]) -> None:
        self._make = make
        self._hasher = make()
        self.upto = 0

    def at(self, dest: Path, offset: int) -> None:
        """Ready to take the bytes written at `offset` of `dest` next."""
        if offset == self.upto:
            return
        self._hasher, self.upto = self._make(), 0
        if offset:
            with open(dest, "rb") as source:
                while self.upto < offset and (block := source.read(min(CHUNK, offset - self.upto))):
                    self.update(block)

    def update(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self.upto += len(chunk)

    def digest(self) -> bytes:
        return self._hasher.digest()


@dataclass
class Fetcher:
    """Downloads with the sync settings' retries, timeout and cap; thread-safe."""

    retries: int = 5
    timeout_s: float = 60
    limit: RateLimit | None = None
    s3_endpoint: str = ""
    backoff_s: float = 1.0
    on_bytes: Callable[[int], None] = lambda _n: None

    def __post_init__(self) -> None:
        self._local = threading.local()

    def fetch(self, remote: Remote, dest: Path) -> int:
        """Bring `remote` to `dest` (continuing a partial file there), then check it.
        Returns the bytes transferred by this call."""
        transfer = self._s3_once if remote.href.startswith("s3://") else self._http_once
        digest = StreamDigest(HASHES[_checksum(remote)[0]]) if remote.checksum else None
        moved = 0
        for attempt in range(self.retries + 1):
            try:
                moved += transfer(remote, dest, digest)
                break
            except _Retryable as exc:
                moved += exc.moved
                if attempt == self.retries:
                    raise DownloadError(
                        f"{remote.href}: failed after {attempt + 1} tries ({exc})"
                    ) from exc
                time.sleep(self.backoff_s * 2**attempt)
        verify(dest, remote, digest)
        return moved

    # -- HTTP -------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            session = requests.Session()
            if os.environ.get(TOKEN_VARIABLE):
                session.headers["Authorization"] = f"Bearer {os.environ[TOKEN_VARIABLE]}"
            self._local.session = session
        return self._local.session

    def _http_once(self, remote: Remote, dest: Path, digest: StreamDigest | None) -> int:
        have = _partial_size(dest, remote.size)
        if remote.size is not None and have == remote.size:
            return 0  # complete already (a resumed run)
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = self._session().get(
                remote.href, headers=headers, stream=True, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        with response:
            if response.status_code == 416 and have:  # nothing left past what we hold
                return 0
            _check_status(remote.href, response)
            if response.status_code != 206:
                have = 0  # the server ignored Range: start again
            elif not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                raise DownloadError(f"{remote.href}: the server resumed at the wrong offset")
            return self._write(response.iter_content(CHUNK), dest, have, digest)

    def _write(
        self, chunks: Iterable[bytes], dest: Path, offset: int, digest: StreamDigest | None
    ) -> int:
        moved = 0
        if digest is not None:
            digest.at(dest, offset)
        with open(dest, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            try:
                for chunk in chunks:
                    if self.limit:
                        self.limit.take(len(chunk))
                    out.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
                    moved += len(chunk)
                    self.on_bytes(len(chunk))
            except (requests.RequestException, ConnectionError, TimeoutError) as exc:
                # (not any OSError: a full disk is not the network's fault)
                raise _Retryable(f"cut after {offset + moved} bytes: {exc}", moved) from exc
        return moved

    # -- S3 ---------------------------------------------------------------------------
    def _s3_once(self, remote: Remote, dest: Path, digest: StreamDigest | None) -> int:
        try:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as exc:
            raise DownloadError(
                f"{remote.href}: s3:// assets need boto3 (pip install boto3)"
            ) from exc

        if not hasattr(self._local, "s3"):
            self._local.s3 = boto3.client("s3", endpoint_url=self.s3_endpoint or None)
        where = urlparse(remote.href)
        have = _partial_size(dest, remote.size)
        if remote.size is not None and have == remote.size:
            return 0
        extra = {"Range": f"bytes={have}-"} if have else {}
        try:
            body = self._local.s3.get_object(
                Bucket=where.netloc, Key=where.path.lstrip("/"), **extra
            )["Body"]
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if status >= 500 or status == 429:
                raise _Retryable(str(exc)) from exc
            raise DownloadError(f"{remote.href}: S3 refused ({exc})") from exc
        except BotoCoreError as exc:
            raise _Retryable(str(exc)) from exc
        try:
            return self._write(body.iter_chunks(CHUNK), dest, have, digest)
        except BotoCoreError as exc:
            raise _Retryable(str(exc)) from exc


def _partial_size(dest: Path, size: int | None) -> int:
    have = dest.stat().st_size if dest.exists() else 0
    if size is not None and have > size:  # not a prefix of this file: start again
        dest.unlink()
        return 0
    return have


def _check_status(href: str, response: requests.Response) -> None:
    code = response.status_code
    if code >= 500 or code == 429:
        raise _Retryable(f"HTTP {code} {response.reason}")
    if code >= 400:
        hint = f" (set {TOKEN_VARIABLE})" if code in (401, 403) else ""
        raise DownloadError(f"{href}: HTTP {code} {response.reason}{hint}")


# -- checks -----------------------------------------------------------------------------
def _checksum(remote: Remote) -> tuple[int, bytes]:
    return parse_multihash(remote.checksum or "", remote.href)


def verify(path: Path, remote: Remote, streamed: StreamDigest | None = None) -> None:
    """Size and checksum as the item gives them; a mismatch is a DownloadError. The
    checksum is the one computed while downloading when it covers the whole file."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        raise ChecksumError(f"{remote.href}: {size} bytes, the item says file:size {remote.size}")
    if remote.checksum:
        code, digest = _checksum(remote)
        if streamed is not None and streamed.upto == size:
            found = streamed.digest()
        else:  # complete before this run (nothing was streamed), or a size we cannot trust
            found = hashlib_digest(path, HASHES[code]())
        if found != digest:
            raise ChecksumError(
                f"{remote.href}: checksum mismatch (file:checksum {remote.checksum}, "
                f"downloaded {found.hex()})"
            )


def parse_multihash(text: str, where: str) -> tuple[int, bytes]:
    """(hash code, digest) of a hex multihash: varint code, varint length, digest."""
    try:
        raw = bytes.fromhex(text)
        code, rest = _varint(raw)
        length, digest = _varint(rest)
    except ValueError as exc:
        raise DownloadError(f"{where}: file:checksum {text!r} is not a hex multihash") from exc
    if code not in HASHES:
        raise DownloadError(f"{where}: file:checksum uses multihash code {code:#x}, not supported")
    if length != len(digest):
        raise DownloadError(f"{where}: file:checksum {text!r} has the wrong digest length")
    return code, digest


def _varint(data: bytes) -> tuple[int, bytes]:
    value = shift = 0
    for i, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, data[i + 1 :]
    raise ValueError("unterminated varint")


def hashlib_digest(path: Path, hasher: Hasher) -> bytes:
    with open(path, "rb") as source:
        while block := source.read(CHUNK):
            hasher.update(block)
    return hasher.digest()


def multihash_sha256(path: Path) -> str:
    """The file:checksum of a file, as sha2-256 multihash hex (what tests and tools write)."""
    return "1220" + hashlib_digest(path, hashlib.sha256()).hex()
