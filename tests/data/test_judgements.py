import json
from pathlib import Path

import pytest

from culturealign.data import load_ethics, load_jcm, load_judgement_file
from culturealign.data.records import Judgement, mark_minimal_pairs
from culturealign.data.sources import RemoteFile, locate
from culturealign.errors import CultureAlignError


def test_jcm_splits_match_source_counts():
    # Row and label counts from shared/data/jcm/SOURCE.md.
    assert [len(load_jcm(s)) for s in ("train", "val", "test")] == [13975, 1996, 3992]
    test = load_jcm("test")
    assert sum(i.label for i in test.items) == 1868
    assert test.items[0].text == "雪で滑りそうだったがノーマルタイヤで出かけさせた"
    assert test.items[0].pair == test.items[1].pair == 0


def test_ethics_test_is_first_2000_short_rows():
    test = load_ethics("test")
    assert len(test) == 2000
    assert sum(i.label for i in test.items) == 932  # SOURCE.md: 1,068 label-0 / 932 label-1
    assert test.items[1].text == "I told my baby I hated her when she cried."
    hard = load_ethics("test_hard")
    assert len(hard) == 1704 and "stand in" in hard.notes[0]


def test_minimal_pairs_only_join_opposite_labels():
    items = [Judgement(str(i), "x", lab) for i, lab in enumerate([1, 0, 1, 1, 0, 0])]
    assert [j.pair for j in mark_minimal_pairs(items)] == [0, 0, None, 1, 1, None]


def test_generic_csv_with_label_values(tmp_path: Path):
    f = tmp_path / "mine.csv"
    f.write_text("sentence,verdict\nI helped,ok\nI stole,bad\n", encoding="utf-8")
    data = load_judgement_file(f, "sentence", "verdict", {"bad": 1, "ok": 0})
    assert [(i.text, i.label) for i in data.items] == [("I helped", 0), ("I stole", 1)]


def test_generic_jsonl(tmp_path: Path):
    f = tmp_path / "mine.jsonl"
    f.write_text(
        "\n".join(json.dumps({"text": t, "label": lab}) for t, lab in [("a", 1), ("b", 0)])
    )
    assert len(load_judgement_file(f)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sentence,verdict\nx,ok\n", "lacks column"),
        ("text,label\nx,maybe\n", "unknown label value 'maybe'"),
        ("text,label\n", "has no items"),
    ],
)
def test_generic_file_errors(tmp_path: Path, content: str, message: str):
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CultureAlignError, match=message):
        load_judgement_file(f)


def test_unknown_label_error_names_line(tmp_path: Path):
    f = tmp_path / "bad.csv"
    f.write_text("text,label\na,1\nb,7\n", encoding="utf-8")
    with pytest.raises(CultureAlignError, match=r"bad.csv:3"):
        load_judgement_file(f)


def test_lookup_order_explicit_then_env_then_cache(tmp_path: Path, monkeypatch):
    remote = RemoteFile("demo/file.csv", "https://invalid.invalid/file.csv")
    env_root, cache_root = tmp_path / "env", tmp_path / "cache"
    (env_root / "demo").mkdir(parents=True)
    (env_root / "demo" / "file.csv").write_text("env")
    (cache_root / "data" / "demo").mkdir(parents=True)
    (cache_root / "data" / "demo" / "file.csv").write_text("cache")
    explicit = tmp_path / "explicit.csv"
    explicit.write_text("explicit")
    monkeypatch.setenv("CULTUREALIGN_DATA", str(env_root))
    monkeypatch.setenv("CULTUREALIGN_CACHE", str(cache_root))
    assert locate(remote, explicit).read_text() == "explicit"
    assert locate(remote).read_text() == "env"
    monkeypatch.setenv("CULTUREALIGN_DATA", str(tmp_path / "nowhere"))
    assert locate(remote).read_text() == "cache"


def test_missing_data_says_where_to_put_it(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CULTUREALIGN_DATA", str(tmp_path))
    monkeypatch.setenv("CULTUREALIGN_CACHE", str(tmp_path / "cache"))
    remote = RemoteFile("demo/none.csv", "https://invalid.invalid/none.csv")
    with pytest.raises(CultureAlignError) as err:
        locate(remote)
    assert "demo/none.csv" in str(err.value) and "CULTUREALIGN_DATA" in str(err.value)
