"""Remote dataset archives: downloaded to a temporary name, verified, extracted, then renamed into place.

Each :class:`Archive` names its URL and, where someone has published one, its MD5. Where none is
published, the first download records its SHA-256 in ``<root>/<name>.source.json`` (next to the folder,
not in it, so it outlives a deleted copy of the data; keep it under version control or DVC); every later
download of the same archive must match that record. A transfer that ends early
(fewer bytes than its Content-Length), a checksum mismatch or a corrupt archive raises a DatasetError
and leaves nothing behind: the partial file and the half-extracted folder are removed, and the final
folder appears only, by one rename, once everything is in it.

Written with urllib and zipfile/tarfile rather than torchvision's ``download_and_extract_archive``
because that one writes straight to the final file name (an interrupted transfer leaves a partial
archive there) and cannot record a SHA-256 for archives without a published checksum.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import DatasetError
from ganforge.io import atomic_write_text, create_temporary

CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    name: str  # folder under the data root that holds the extracted archive
    url: str
    md5: str | None = None  # published (or third-party recorded) MD5 of the archive file, if any
    md5_source: str = ""  # who published it
    size_hint: str = ""  # for messages: "3.5 GB"


def _digests(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def download(url: str, dest: Path, timeout: float = 60.0, hint: str = "") -> int:
    """Stream ``url`` to ``dest`` via a temporary name in the same folder; returns the byte count.

    Raises DatasetError (and leaves no file) on any network error or a transfer shorter than its
    Content-Length (urllib's ``read`` returns b"" at an early end of stream instead of raising).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = create_temporary(dest)  # not tempfile.mkstemp, whose files are mode 0600 whatever the umask
    received = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "ganforge"})
        with open(tmp, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            while block := response.read(CHUNK):
                out.write(block)
                received += len(block)
        if length is not None and received != int(length):
            raise OSError(f"transfer interrupted after {received} of {length} bytes")
        tmp.replace(dest)
        return received
    except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message
        raise DatasetError(
            f"Downloading {url} failed ({type(exc).__name__}: {exc}); nothing was kept. Check the "
            f"connection and run ganforge-fetch again{hint or ''}."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _is_web_page(path: Path) -> bool:
    """An HTML page where an archive was expected (a sign-in, quota or confirmation page, e.g. Google
    Drive's): worth its own message, not "neither a zip nor a tar archive"."""
    with path.open("rb") as f:
        head = f.read(1024).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _extract(archive_file: Path, into: Path) -> None:
    try:
        if zipfile.is_zipfile(archive_file):
            with zipfile.ZipFile(archive_file) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise OSError(f"member {bad} fails its CRC")
                zf.extractall(into)  # zipfile drops absolute paths and '..' components
        elif tarfile.is_tarfile(archive_file):
            with tarfile.open(archive_file) as tf:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
                    tf.extractall(into, filter="data")  # refuses links and paths leaving ``into``
                else:
                    _check_tar_members(tf)
                    tf.extractall(into)
        else:
            raise OSError("neither a zip nor a tar archive")
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise DatasetError(
            f"{archive_file.name} cannot be extracted ({type(exc).__name__}: {exc}); it was removed, run "
            "ganforge-fetch again."
        ) from exc


def _check_tar_members(tf: tarfile.TarFile) -> None:
    """What the "data" extraction filter refuses, for Pythons without it: links, devices, escaping paths."""
    for member in tf.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise OSError(f"unsafe member {member.name!r}")


def record_path(archive: Archive, root: str | Path) -> Path:
    return Path(root) / f"{archive.name}.source.json"


def ensure_archive(archive: Archive, root: str | Path, timeout: float = 60.0) -> Path:
    """``<root>/<archive.name>``, downloading and extracting the archive first if it is not there.

    The folder appears by one rename once complete, so an existing folder is a complete one (or one the
    user placed there, which is used as is).
    """
    root = Path(root)
    target = root / archive.name
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{archive.name}-", dir=root))
    try:
        file = work / Path(archive.url.split("?")[0]).name
        size = download(
            archive.url, file, timeout, hint=f", or extract the archive yourself into {target} (used as is)"
        )
        if _is_web_page(file):  # before the checksums: "MD5 mismatch" would hide what happened
            raise DatasetError(
                f"{archive.url} sent a web page, not an archive (a sign-in, quota or confirmation page); "
                "nothing was kept."
            )
        md5, sha256 = _digests(file)
        if archive.md5 and md5 != archive.md5:
            raise DatasetError(
                f"{archive.url} downloaded with MD5 {md5}, not the {archive.md5} recorded by "
                f"{archive.md5_source or 'ganforge'}: the file changed or is corrupt. Nothing was kept."
            )
        record_file = record_path(archive, root)
        previous = _recorded_sha256(record_file)
        if previous and previous != sha256:
            raise DatasetError(
                f"{archive.url} now has SHA-256 {sha256}, not the {previous} recorded in {record_file} at "
                "its first download: the archive changed upstream, or the transfer was corrupted. Nothing "
                "was kept; delete that record to accept the new archive."
            )
        extracted = work / "extracted"
        _extract(file, extracted)
        file.unlink()
        record = {
            "url": archive.url,
            "bytes": size,
            "md5": md5,
            "md5_expected": archive.md5,
            "md5_source": archive.md5_source if archive.md5 else None,
            "sha256": sha256,
            "first_download": previous is None,
            "downloaded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        # The record first: a crash before the rename leaves a record that the next download matches.
        atomic_write_text(record_file, json.dumps(record, indent=2) + "\n")
        extracted.rename(target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _recorded_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path} is not a readable download record ({exc}); restore or delete it."
        ) from exc
