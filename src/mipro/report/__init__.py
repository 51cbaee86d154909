"""Seeing a run: an HTML report (``write_report``) and a terminal summary (``show_run``), both
read from the run's study with ``mipro.load_run``."""

from mipro.report.page import write_report
from mipro.report.show import show_run

__all__ = ["show_run", "write_report"]
