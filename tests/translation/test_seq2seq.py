"""The seq2seq path on a tiny M2M100 built locally: real tokenizer, real beam-5 generate()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culturealign.data.judgements import load_judgement_file
from culturealign.errors import CultureAlignError
from culturealign.translation import make_translator, read_rows, translate_rows
from culturealign.translation.cache import TranslationCache
from culturealign.translation.run import meta_path
from culturealign.translation.translators import Seq2SeqTranslator, decode

TEXTS = ["友達の財布からお金を盗んだ。", "電車で高齢者に席を譲った。"]


def test_beam5_with_forced_target_language_token(tiny_m2m: Path) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tr = make_translator(f"seq2seq:{tiny_m2m}", "ja", "en", {"max_length": 10})
    assert isinstance(tr, Seq2SeqTranslator) and tr.beams == 5  # the study's default
    got = tr.translate(TEXTS)
    assert tr.family == "m2m100"

    tok = AutoTokenizer.from_pretrained(tiny_m2m)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_m2m).eval()
    tok.src_lang = "ja"
    batch = tok(TEXTS, return_tensors="pt", padding=True)
    assert batch["input_ids"][0, 0].item() == tok.convert_tokens_to_ids("__ja__")
    en = tok.convert_tokens_to_ids("__en__")
    with torch.inference_mode():
        beam5 = model.generate(**batch, num_beams=5, max_length=10, forced_bos_token_id=en)
        greedy = model.generate(**batch, num_beams=1, max_length=10, forced_bos_token_id=en)
    assert (beam5[:, 1] == en).all()  # the target language is forced as the first token
    assert got == decode(tok, beam5.tolist())
    assert "__en__" not in "".join(got)
    if beam5.shape != greedy.shape or not torch.equal(beam5, greedy):
        one = make_translator(f"seq2seq:{tiny_m2m}", "ja", "en", {"max_length": 10, "beams": 1})
        assert one.translate(TEXTS) != got


def test_dataset_file_cache_and_provenance(tiny_m2m: Path, tmp_path: Path) -> None:
    src = tmp_path / "jcm_small.csv"
    src.write_text(
        "id,text,label\na,友達の財布からお金を盗んだ。,1\nb,電車で高齢者に席を譲った。,0\n"
        "c,友達の財布からお金を盗んだ。,1\n",
        encoding="utf-8",
    )
    rows = read_rows(src, "text")
    tr = make_translator(str(tiny_m2m), "ja", "en", {"max_length": 8})
    calls: list[int] = []
    real = tr.translate
    tr.translate = lambda texts: calls.append(len(texts)) or real(texts)  # type: ignore[method-assign]
    out = tmp_path / "jcm_small_en.csv"
    meta = translate_rows(rows, tr, out, {"name": "jcm_small", "sha256": "abc"})
    assert calls == [2]  # the duplicate sentence is translated once
    data = load_judgement_file(out, language="en")
    assert [j.label for j in data.items] == [1, 0, 1]
    written = read_rows(out, "text")
    assert [r["id"] for r in written] == ["a", "b", "c"]
    assert written[0]["source_text"] == rows[0]["text"] and written[0]["text"] == written[2]["text"]
    side = json.loads(meta_path(out).read_text(encoding="utf-8"))
    assert side["translator"]["beams"] == 5 and side["source"]["sha256"] == "abc"
    assert set(side["failure_shares"]) == {"empty", "unchanged", "wrong_script"}
    assert meta["cache_hits"] == 0  # rows found in the cache before this run

    again = translate_rows(rows, tr, tmp_path / "again.jsonl", {"name": "x"})
    assert calls == [2] and again["cache_hits"] == 3  # shared cache: nothing translated twice
    other = make_translator(str(tiny_m2m), "ja", "en", {"max_length": 8, "beams": 2})
    assert TranslationCache(other.identity).path != TranslationCache(tr.identity).path


def test_torn_cache_line_is_ignored_and_closed(tmp_path: Path) -> None:
    cache = TranslationCache({"model": "m"}, root=tmp_path)
    cache.add({"a": "A"})
    with cache.path.open("a", encoding="utf-8") as fh:
        fh.write('{"source": "b", "transl')  # kill -9 in the middle of a write
    again = TranslationCache({"model": "m"}, root=tmp_path)
    again.add({"c": "C"})
    assert TranslationCache({"model": "m"}, root=tmp_path).entries == {"a": "A", "c": "C"}


def test_bad_input(tiny_m2m: Path, tmp_path: Path) -> None:
    with pytest.raises(CultureAlignError, match="unknown language code 'xx'"):
        make_translator(str(tiny_m2m), "ja", "xx")
    with pytest.raises(CultureAlignError, match="both"):
        make_translator(str(tiny_m2m), "ja", "ja")
    with pytest.raises(CultureAlignError, match="do not apply"):
        make_translator(f"seq2seq:{tiny_m2m}", "ja", "en", {"max_new_tokens": 3})
    with pytest.raises(CultureAlignError, match="few-shot"):
        make_translator("lm:gemma-3-270m", "ja", "de")
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n,1\n  ,0\n", encoding="utf-8")
    with pytest.raises(CultureAlignError, match="empty in every row"):
        read_rows(empty, "text")
    with pytest.raises(CultureAlignError, match="no column 'sentence'"):
        read_rows(empty, "sentence")
    tr = make_translator(str(tiny_m2m), "ja", "en", {"max_length": 8})
    with pytest.raises(CultureAlignError, match="no language token '__zz__'"):
        tr.target = "zz"
        tr.generation_kwargs(tr._load()[0])
