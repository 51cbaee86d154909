"""The floor every optimizer stands on: what a run chooses from (candidates), what it
records (records, the study that stores them), what it may spend (budget) and its sizes
(presets)."""
