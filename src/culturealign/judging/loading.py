"""Which model judges: a ``--model`` spec, or the answering model itself when none is given."""

from __future__ import annotations

from culturealign.models.base import LanguageModel


def load_judge_model(
    spec: str | None, answering: LanguageModel, threads: int | None = None
) -> LanguageModel:
    """``spec`` loaded with :func:`~culturealign.models.load_model`; ``answering`` when ``spec``
    is unset or names the answering model (one copy in memory, not two).

    ``threads`` default: the answering model's. torch's thread count is per process, so a judge
    loaded with another (or the all-cores default) would change the whole run's (eval --threads).
    """
    if spec is None or spec in (answering.info.name, answering.info.path):
        return answering
    from culturealign.models import load_model

    threads = threads or answering.info.extra.get("threads")
    options = {"threads": threads} if threads else {}
    return load_model(spec, **options)
