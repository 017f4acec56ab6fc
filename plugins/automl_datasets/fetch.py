"""Files from their canonical source: found in a given folder or the cache, else downloaded, and
always checked against a known checksum before use."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from automl import UserError

CACHE_ENV = "AUTOML_CACHE"  # overrides the cache folder, ~/.cache/automl by default
DATA_ENV = "AUTOML_DATA"  # a folder of local copies, one subfolder per dataset (mnist/, ucr/, ...)


@dataclass(frozen=True)
class Remote:
    """A published file. ``sha256`` checks the file as published; ``content_sha256`` checks a
    gzip file's decompressed bytes, which stay the same when a mirror re-compresses it."""

    filename: str
    url: str
    sha256: str | None = None
    content_sha256: str | None = None


def cache_dir(dataset: str) -> Path:
    base = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "automl"))
    return base / dataset


def _sha256(path: Path, *, decompress: bool = False) -> str:
    digest = hashlib.sha256()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(remote: Remote, path: Path) -> bool:
    if remote.sha256 and _sha256(path) == remote.sha256:
        return True
    if remote.content_sha256:
        try:
            if _sha256(path, decompress=True) == remote.content_sha256:
                return True
        except (OSError, EOFError):  # not gzip, or cut short
            return False
    return not (remote.sha256 or remote.content_sha256)  # nothing known to check against


def fetch(dataset: str, remote: Remote, root: str | None = None) -> Path:
    """The path of a verified copy of ``remote``: from ``root``, the cache, or a download."""
    folders = [Path(root).expanduser()] if root else []
    if os.environ.get(DATA_ENV):
        folders.append(Path(os.environ[DATA_ENV]).expanduser() / dataset)
    folders.append(cache_dir(dataset))
    for folder in folders:
        path = folder / remote.filename
        if path.is_file():
            if not verified(remote, path):
                raise UserError(f"{path} does not match the checksum of {remote.url}; delete it")
            return path
    target = cache_dir(dataset) / remote.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkstemp(dir=target.parent, prefix=".download-")[1])
    try:
        try:
            with urllib.request.urlopen(remote.url, timeout=60) as response, open(tmp, "wb") as f:
                shutil.copyfileobj(response, f)
        except (OSError, http.client.HTTPException) as error:  # no network, refused, cut short
            where = f"dataset.root=FOLDER or {target.parent}"
            raise UserError(
                f"cannot download {remote.url} ({error}); put {remote.filename} in {where}"
            ) from None
        if not verified(remote, tmp):
            raise UserError(f"the download of {remote.url} does not match its checksum")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written stays in the cache
    return target
