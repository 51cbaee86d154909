import subprocess

import pytest

from benchmarks.paper.provenance import lm_identity, src_hash
from mipro.testing import SimulatedLM


def git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def tree(tmp_path):
    """A git checkout holding a small package, committed."""
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "data.txt").write_text("rows\n")
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    return package


def test_the_hash_is_stable_and_does_not_depend_on_the_commit(tree):
    first = src_hash(tree)
    git(tree, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "second")
    assert src_hash(tree) == first and len(first) == 64


def test_an_edit_on_disk_changes_the_hash_before_it_is_committed(tree):
    first = src_hash(tree)
    (tree / "data.txt").write_text("other rows\n")
    assert src_hash(tree) != first


def test_a_rename_changes_the_hash(tree):
    first = src_hash(tree)
    git(tree, "mv", "data.txt", "table.txt")
    assert src_hash(tree) != first


def test_untracked_and_ignored_files_do_not_count(tree):
    first = src_hash(tree)
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tree / "scratch.txt").write_text("notes\n")
    assert src_hash(tree) == first


def test_outside_a_checkout_every_file_but_bytecode_counts(tmp_path):
    (tmp_path / "a.py").write_text("A = 1\n")
    first = src_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert src_hash(tmp_path) == first
    (tmp_path / "b.py").write_text("B = 1\n")
    assert src_hash(tmp_path) != first


def test_the_lm_identity_names_model_backend_and_url():
    assert lm_identity(SimulatedLM(), "http://127.0.0.1:8080/v1") == {
        "model_id": "simulated", "backend": "SimulatedLM", "url": "http://127.0.0.1:8080/v1",
        "model_file": None}
