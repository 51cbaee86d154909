"""What a run ran with: the hash of mipro's source tree, the LM's identity, versions, machine.

The source hash decides which records a table may combine: every number of one table comes from
one version of ``src/`` (the package the harness imported), whatever commit it was made at.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import mipro
from mipro.lm import LM

# Libraries whose version can change a score; recorded with every run.
_PACKAGES = ("llama-cpp-python", "optuna", "openai", "pydantic", "numpy", "bm25s")


def package_root() -> Path:
    """The folder of the imported ``mipro`` package (``src/mipro`` in a checkout)."""
    return Path(mipro.__file__).resolve().parent


def src_hash(root: Path | None = None) -> str:
    """A stable SHA-256 of the files under ``root`` (default: :func:`package_root`, the whole of
    ``src/`` that is tracked).

    In a git checkout these are the files git tracks, read as they are on disk (uncommitted
    edits count, ignored files such as ``__pycache__`` or ``*.egg-info`` do not); elsewhere
    every file of the tree except ``__pycache__``. Paths are part of the hash, so renaming a
    module changes it; the commit does not.
    """
    root = package_root() if root is None else root
    digest = hashlib.sha256()
    for relative in sorted(_tree_files(root)):
        path = root / relative
        if path.is_file():  # tracked but deleted on disk: not part of what runs
            digest.update(relative.encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _tree_files(root: Path) -> list[str]:
    """Paths (POSIX, relative to ``root``) of the files the hash covers."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=root, timeout=30,
                                capture_output=True, check=True)
    except (OSError, subprocess.SubprocessError):
        listed = None
    if listed is not None and listed.stdout:
        return [name for name in listed.stdout.decode().split("\0") if name]
    return [path.relative_to(root).as_posix() for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts]


def lm_identity(lm: LM, url: str | None) -> dict[str, Any]:
    """Which model answered: its id (for the embedded model, a fingerprint of the GGUF file,
    the context size and the seed), backend class, server URL and model file name."""
    model_path = getattr(lm, "model_path", None)
    return {"model_id": lm.model_id, "backend": type(lm).__name__, "url": url,
            "model_file": Path(model_path).name if model_path is not None else None}


def environment() -> dict[str, Any]:
    """Versions and machine of the run."""
    return {
        "mipro_version": mipro.__version__,
        "git_commit": _git_commit(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                               cwd=package_root(), timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None
