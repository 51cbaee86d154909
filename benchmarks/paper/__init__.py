"""The MIPRO paper's Table 2 on a local model; run it with ``python -m benchmarks.paper``.

One job per module:

- ``sizes``: the size profiles (data and search budget of a run);
- ``runs``: plan the runs, optimize and score one, write its record;
- ``records``: the record format on disk, and which records are stale;
- ``provenance``: the ``src/`` hash, the LM's identity, versions and machine;
- ``claims``: several processes sharing one output folder;
- ``cells``, ``stats``, ``table``, ``figure``: records grouped per task and optimizer, the
  significance tests, ``table.md`` and ``scores.png``;
- ``__main__``: the command line.
"""
