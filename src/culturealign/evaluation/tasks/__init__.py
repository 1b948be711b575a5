"""Benchmark modules; importing this package registers every task (explicit list, no scanning)."""

from culturealign.evaluation.tasks import judged, moral, survey  # noqa: F401
