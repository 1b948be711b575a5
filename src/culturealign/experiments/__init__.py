"""Experiments: a declarative spec (models x training sets x evaluations), a cached and
resumable executor over the DAG of stages it implies, and reports (tables, plots, statistics).
"""

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.services import LibraryServices, Services
from culturealign.experiments.spec import ExperimentSpec, load_spec

__all__ = [
    "ExperimentSpec",
    "LibraryServices",
    "Services",
    "load_spec",
    "run_experiment",
]

_RENAMED = {"Backend": "Services", "LibraryBackend": "LibraryServices"}


def __getattr__(name: str) -> object:
    # The experiment services were called "backend", a word the model backends also use.
    if name in _RENAMED:
        import warnings

        warnings.warn(
            f"culturealign.experiments.{name} is now {_RENAMED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
