"""Machine translation of datasets (issue 10): translators, per-sentence cache, quality check."""

from culturealign.translation.languages import LANGUAGES, language
from culturealign.translation.quality import round_trip
from culturealign.translation.run import (
    failure_shares,
    read_rows,
    translate_rows,
    translate_texts,
)
from culturealign.translation.translators import (
    STUDY_TRANSLATORS,
    LLMTranslator,
    Seq2SeqTranslator,
    make_translator,
)

__all__ = [
    "LANGUAGES",
    "STUDY_TRANSLATORS",
    "LLMTranslator",
    "Seq2SeqTranslator",
    "failure_shares",
    "language",
    "make_translator",
    "read_rows",
    "round_trip",
    "translate_rows",
    "translate_texts",
]
