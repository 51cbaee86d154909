from benchmarks.paper.__main__ import main
from benchmarks.paper.provenance import src_hash
from benchmarks.paper.records import RunSpec, record_path, write_record
from tests.benchmarks.paper.test_table import record


def write(folder, records):
    for run in records:
        write_record(record_path(folder, RunSpec(run["task"], run["optimizer"], run["seed"])), run)


def test_report_only_renders_the_records_of_this_source_tree(tmp_path, capsys):
    tree = src_hash()
    write(tmp_path, [record("iris", "mipro", 0, 0.6, tree=tree),
                     record("iris", "unoptimized", 0, 0.3, tree=tree),
                     record("scone", "mipro", 0, 0.9, tree="0" * 64)])
    assert main(["--report-only", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "table.md").read_text()
    assert f"`{tree[:12]}`" in table and "- runs: 2 (stale, not tabulated: 1)" in table
    assert "scone x mipro x seed 0" in table.split("## Stale records")[1]
    assert (tmp_path / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert table in capsys.readouterr().out


def test_report_only_with_only_stale_records_leaves_the_committed_table(tmp_path):
    write(tmp_path, [record("iris", "mipro", 0, 0.6, tree="0" * 64)])
    (tmp_path / "table.md").write_text("the committed table\n")
    assert main(["--report-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "table.md").read_text() == "the committed table\n"
    assert not (tmp_path / "scores.png").exists()
