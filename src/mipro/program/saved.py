"""The saved-program file: what ``Module.save`` writes and ``Module.load`` / ``mipro export`` read.

One readable JSON object::

    {
      "format": "mipro.program", "format_version": 2,
      "program": "RAG", "mipro_version": "0.1.0", "saved_at": "2025-01-31T12:00:00+00:00",
      "run_name": "rag-v1", "lm": "local:SmolLM2-135M-Instruct...", "scores": {"validation": 0.62},
      "predictors": {
        "answer": {
          "signature": {"instructions": "...", "inputs": [...], "outputs": [...]},
          "demos": [{"question": "...", "answer": "..."}],
          "temperature": 0.0, "max_tokens": 256
        }
      }
    }

Signatures are stored field by field (``mipro.signatures.serialize``). Format 1 (mipro before
this format) kept only ``"a, b -> c"`` strings and no version; it is refused with a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mipro._version import __version__
from mipro.errors import ConfigurationError

FORMAT = "mipro.program"
FORMAT_VERSION = 2


@dataclass(frozen=True)
class SavedProgram:
    """A saved-program file, read and checked: its metadata and every predictor's state."""

    path: Path
    program: str
    """The class name of the program that was saved."""
    mipro_version: str
    saved_at: str
    run_name: str | None
    lm: str | None
    scores: dict[str, float]
    predictors: dict[str, dict[str, Any]]
    """Predictor name -> ``{"signature": ..., "demos": [...], ...}`` (``Module.dump_state`` form)."""


def write_saved_program(path: str | Path, program: str, predictors: dict[str, dict[str, Any]], *,
                        run_name: str | None, lm: str | None,
                        scores: dict[str, float] | None) -> None:
    """Write ``predictors`` (``Module.dump_state`` output) and the metadata to ``path``."""
    document = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "program": program,
        "mipro_version": __version__,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_name": run_name, "lm": lm, "scores": dict(scores or {}), "predictors": predictors,
    }
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def read_saved_program(path: str | Path) -> SavedProgram:
    """Read and check a saved-program file; errors name the file and what is wrong."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such saved-program file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: not valid JSON ({error})") from None
    _check_format(document, path)
    predictors = document.get("predictors")
    if not isinstance(predictors, dict) or not all(
        isinstance(entry, dict) and "signature" in entry for entry in predictors.values()
    ):
        raise ConfigurationError(
            f"{path}: `predictors` must map each predictor's name to its signature and demos")
    return SavedProgram(
        path=path, program=str(document.get("program", "")),
        mipro_version=str(document.get("mipro_version", "unknown")),
        saved_at=str(document.get("saved_at", "")), run_name=document.get("run_name"),
        lm=document.get("lm"), scores=dict(document.get("scores") or {}), predictors=predictors,
    )


def _check_format(document: Any, path: Path) -> None:
    if isinstance(document, dict) and "format_version" not in document and document and all(
        isinstance(entry, dict) and "instructions" in entry for entry in document.values()
    ):
        raise ConfigurationError(
            f"{path}: saved by an older mipro (saved-program format 1, which keeps signatures as "
            f"plain strings and no metadata); mipro {__version__} reads format {FORMAT_VERSION}. "
            "Optimize the program again, or load its instructions and demos by hand and save it "
            "with this version"
        )
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigurationError(
            f"{path}: not a mipro saved program (expected a JSON object with "
            f'"format": "{FORMAT}", as written by Module.save)'
        )
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ConfigurationError(
            f"{path}: saved-program format {version!r} (written by mipro "
            f"{document.get('mipro_version', 'unknown')}); mipro {__version__} reads format "
            f"{FORMAT_VERSION}" + ("; upgrade mipro to load it" if newer else "")
        )
