"""The saved model's file: one fitted :class:`automl.fitting.winner.Winner`, with what made it.

Layout: a first line ``automl-model``, a second line of JSON (the header: format, the versions of
the harness and its libraries, the SHA-256 and length of the payload, what the model is and why it
wins), then the payload, the estimator as joblib writes it. The header is read before a byte of the
payload is unpickled, so a file that is not a model, a model from a newer harness, and a damaged
file each get one line saying so.

The header names the libraries whose versions matter to the unpickled model (``checked``): the
harness's own that a model holds, and those its learners' plugins declare (``Model.libraries``);
loading it elsewhere says in one line each which of them differ.

joblib, not skops: skops' safe format loads only types it is told to trust, and a model here holds
our own classes and whatever objects its learners' libraries make (boosters, network modules), so
every load would have to trust them all anyway; joblib comes with scikit-learn and writes numpy
arrays efficiently. Pickle-based files run code when loaded: load only model files you made or trust
(the checksum catches damage, not malice).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib

from automl._version import __version__
from automl.plugin.errors import UserError
from automl.storage.provenance import HARNESS, versions

MAGIC = b"automl-model\n"
FORMAT = 1


def _release(text: str) -> tuple[int, ...]:
    """A version's leading numbers: "0.10.2rc1" is (0, 10, 2)."""
    return tuple(int(n) for n in re.findall(r"\d+", text.split("+")[0])[:3])


def save(
    model: Any, path: str | Path, about: Mapping[str, Any], libraries: Sequence[str] = ()
) -> dict[str, Any]:
    """Write ``model`` to ``path`` (atomically) with ``about`` in its header; return the header.
    ``libraries``: those its learners fit with, whose versions matter to it."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    payload = buffer.getvalue()
    header = {
        "format": FORMAT,
        "automl": __version__,
        "versions": versions(libraries),
        "checked": list(dict.fromkeys((*CHECKED, *libraries))),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        **about,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as out:
        out.write(MAGIC + json.dumps(header, sort_keys=True, default=str).encode() + b"\n")
        out.write(payload)
    os.replace(out.name, path)
    return header


def header(path: str | Path) -> dict[str, Any]:
    """The header of a model file, checked to be one this harness can load."""
    return _read(path, payload=False)[0]


# The harness's libraries whose version matters to every unpickled model (its pipelines, arrays).
CHECKED = ("scikit-learn", "numpy")


def libraries(about: Mapping[str, Any]) -> list[str]:
    """The libraries a saved model's header says matter to it. A file written before the header
    named them (without ``checked``): the harness's that matter, and every learner library whose
    version it recorded (beyond the harness's own, its plugins and Python)."""
    if "checked" in about:
        return list(about["checked"])
    made = about.get("versions") or {}
    learners = [n for n in made if n not in (*HARNESS, "automl", "python") and ":" not in n]
    return [*CHECKED, *learners]


def differences(about: Mapping[str, Any]) -> list[str]:
    """What differs between the versions a model was saved with and the ones installed here."""
    made, checked = about.get("versions") or {}, libraries(about)
    here = versions(checked)
    return [
        f"saved with {name} {made[name]}; this is {name} {here.get(name, 'not installed')}"
        for name in checked
        if name in made and made[name] != here.get(name)
    ]


# Where the harness's classes that a saved model holds lived before its modules moved into layer
# folders (automl 0.1.0): a file saved then names them there.
MOVED = {"automl.winner": "automl.fitting.winner", "automl.preprocess": "automl.fitting.preprocess"}


def load(path: str | Path) -> Any:
    """The fitted model saved at ``path``."""
    about, payload = _read(path, payload=True)
    for old, new in MOVED.items():  # the name unpickling looks up, for the class that moved
        sys.modules.setdefault(old, importlib.import_module(new))
    return joblib.load(io.BytesIO(payload))


def _read(path: str | Path, payload: bool) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    with path.open("rb") as stream:
        if stream.read(len(MAGIC)) != MAGIC:
            raise UserError(f"{path} is not an automl model file (automl saves them as *.model)")
        try:
            about = json.loads(stream.readline())
        except ValueError:
            raise UserError(f"{path}: its header is damaged (not JSON)") from None
        made = str(about.get("automl", "?"))
        if about.get("format", FORMAT + 1) > FORMAT or _release(made) > _release(__version__):
            raise UserError(
                f"{path} was saved by automl {made} (file format {about.get('format')}); this is "
                f"automl {__version__} (format {FORMAT}): install automl {made} or newer to load it"
            )
        body = stream.read() if payload else b""
    if payload and hashlib.sha256(body).hexdigest() != about.get("sha256"):
        raise UserError(f"{path}: the checksum does not match: the file is damaged or was changed")
    return about, body
