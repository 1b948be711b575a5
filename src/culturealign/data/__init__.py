"""Datasets: one module per source, one record type per task kind."""

from culturealign.data.judgements import load_ethics, load_jcm, load_judgement_file, load_named
from culturealign.data.records import Judgement, JudgementSet

__all__ = [
    "Judgement",
    "JudgementSet",
    "load_ethics",
    "load_jcm",
    "load_judgement_file",
    "load_named",
]
