"""Language codes: one short code (``ja``, ``en``) mapped to each model family's convention.

M2M100 and the WMT21 dense models (``facebook/wmt21-dense-24-wide-*``, model_type ``m2m_100``)
mark languages with ``__ja__``-style tokens; NLLB-200 with FLORES-200 codes (``jpn_Jpan``);
multi-target Marian models with a ``>>jpn<<`` prefix on the source. The target language token
is forced as the first generated token (``forced_bos_token_id``) for M2M100/NLLB, as their
model cards do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from culturealign.errors import CultureAlignError


@dataclass(frozen=True)
class LanguageCode:
    code: str  # ISO 639-1, what users type
    name: str  # English name, used in the LLM prompt
    nllb: str  # FLORES-200 code (NLLB-200)
    iso3: str  # ISO 639-3 (Marian ``>>xxx<<`` prefixes)
    script: str  # regex of one letter of the language's script (wrong-script check)


_CJK = r"[\u3040-\u30ff\u3400-\u9fff]"
_LATIN = r"[A-Za-z\u00c0-\u024f]"

LANGUAGES: dict[str, LanguageCode] = {
    c.code: c
    for c in (
        LanguageCode("ja", "Japanese", "jpn_Jpan", "jpn", _CJK),
        LanguageCode("en", "English", "eng_Latn", "eng", _LATIN),
        LanguageCode("zh", "Chinese", "zho_Hans", "zho", r"[\u3400-\u9fff]"),
        LanguageCode("ko", "Korean", "kor_Hang", "kor", r"[\uac00-\ud7af]"),
        LanguageCode("de", "German", "deu_Latn", "deu", _LATIN),
        LanguageCode("fr", "French", "fra_Latn", "fra", _LATIN),
        LanguageCode("es", "Spanish", "spa_Latn", "spa", _LATIN),
    )
}


def language(code: str) -> LanguageCode:
    """The entry for ``code``, or a CultureAlignError listing the known codes."""
    if code not in LANGUAGES:
        raise CultureAlignError(
            f"unknown language code {code!r}", f"use one of: {', '.join(LANGUAGES)}"
        )
    return LANGUAGES[code]


def script_share(text: str, code: str) -> float:
    """Share of the letters of ``text`` that are in the script of language ``code``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    pattern = re.compile(language(code).script)
    return sum(1 for ch in letters if pattern.match(ch)) / len(letters)


def wrong_script(text: str, code: str) -> bool:
    """True when fewer than half of the letters are in the target language's script."""
    return bool(text.strip()) and script_share(text, code) < 0.5
