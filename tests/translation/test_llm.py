"""The LLM path on the embedded gemma-3-270m (real generation), and output cleaning."""

from __future__ import annotations

from culturealign.translation import make_translator
from culturealign.translation.languages import script_share
from culturealign.translation.translators import LLMTranslator, clean_output


def test_clean_output() -> None:
    assert clean_output(' Here is the translation: "I ran."\nJapanese: x', "English") == "I ran."
    assert clean_output("English: I ran.", "English") == "I ran."
    assert clean_output("「走った」", "Japanese") == "走った"
    assert clean_output(" I gave my seat.", "English") == "I gave my seat."


def test_llm_translator_on_embedded_model(gemma) -> None:
    assert isinstance(make_translator("gemma-3-270m", "ja", "en"), LLMTranslator)
    tr = LLMTranslator("gemma-3-270m", "ja", "en", lm=gemma, max_new_tokens=24)
    assert "Japanese: 電車で" in tr.prompt("電車で") and tr.prompt("x").endswith("English:")
    out = tr.translate(["信号が赤信号だったため車のブレーキを踏んだ"])
    assert out[0] and "\n" not in out[0]
    assert script_share(out[0], "en") > 0.8  # an English sentence, whatever its quality
