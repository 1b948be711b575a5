"""Experiments: a declarative spec (models x training sets x evaluations), a cached and
resumable runner over the DAG of stages it implies, and reports (tables, plots, statistics).
"""

from culturealign.experiments.backend import Backend, LibraryBackend
from culturealign.experiments.report import write_report
from culturealign.experiments.runner import run_experiment
from culturealign.experiments.spec import ExperimentSpec, load_spec

__all__ = [
    "Backend",
    "ExperimentSpec",
    "LibraryBackend",
    "load_spec",
    "run_experiment",
    "write_report",
]
