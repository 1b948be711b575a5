import csv
import json
from pathlib import Path

import pytest

from culturealign.data import load_ethics, load_jcm, load_judgement_file, load_named
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


def test_ethics_train_keeps_long_rows_in_file_order(tmp_path: Path, monkeypatch):
    # The study trains on the first 14,000 ETHICS entries of all lengths; only its evaluation
    # set is limited to short sentences. Official cm_train.csv layout: label,input,is_short,edited.
    long_text = "AITA for telling my roommate she can't have guests? " * 20
    rows = [
        ("1", "I stole my friend's lunch.", "True"),
        ("0", long_text.strip(), "False"),
        ("0", "I helped an old man cross the street.", "True"),
        ("1", 'Long story, "quoted", about a lie. ' * 10, "False"),
    ]
    folder = tmp_path / "ethics_commonsense"
    folder.mkdir()
    with (folder / "cm_train.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "input", "is_short", "edited"])
        writer.writerows([(*row, "False") for row in rows])
    monkeypatch.setenv("CULTUREALIGN_DATA", str(tmp_path))
    train = load_ethics("train")
    assert [(i.text, i.label) for i in train.items] == [(t.strip(), int(lab)) for lab, t, _ in rows]
    assert [i.id for i in train.items] == [f"ethics-train-{n}" for n in range(4)]
    assert not any("stand in" in note for note in train.notes)


@pytest.mark.parametrize(
    ("content", "line", "fields"),
    [
        ("text,label\nI helped,0\nI lied, then apologised,1\n", 3, "3 fields"),
        ("text,label\nI helped,0,extra\n", 2, "3 fields"),
        ("text,label\nI helped\n", 2, "1 fields"),
        ('text,label\n"two\nlines",0\n\nb,1,x\n', 5, "3 fields"),  # multi-line field, blank line
    ],
)
def test_csv_row_with_wrong_field_count_names_line_and_counts(
    tmp_path: Path, content: str, line: int, fields: str
):
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CultureAlignError) as err:
        load_judgement_file(f)
    assert f"bad.csv:{line}:" in err.value.message
    assert f"row has {fields} but the header has 2" in err.value.message
    assert "None" not in err.value.message and err.value.hint


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("nul.csv", "text,label\nI helped,0\nI\x00lied,1\n", 3),
        ("utf16.csv", "text,label\nI helped,0\n".encode("utf-16-le").decode("utf-8"), 1),
        ("nul.jsonl", '{"text": "a", "label": 1}\n\x00\n', 2),
    ],
)
def test_nul_bytes_are_refused_with_file_and_line(
    tmp_path: Path, name: str, content: str, line: int
):
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CultureAlignError) as err:
        load_judgement_file(f)
    assert f"{name}:{line}: contains a NUL byte" in err.value.message
    assert "UTF-8" in (err.value.hint or "")


def test_jsonl_row_without_label_names_line(tmp_path: Path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "a", "label": 1}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(CultureAlignError, match=r"d.jsonl:2: row has no 'label'"):
        load_judgement_file(f)


def test_unknown_label_line_counts_multiline_fields(tmp_path: Path):
    f = tmp_path / "bad.csv"
    f.write_text('text,label\n"first\nsecond",1\nthird,7\n', encoding="utf-8")
    with pytest.raises(CultureAlignError, match=r"bad.csv:4: unknown label value '7'"):
        load_judgement_file(f)


def test_load_named_is_the_one_name_to_loader_table(tmp_path: Path):
    assert load_named("jcm", "val").items == load_jcm("val").items
    assert load_named("ethics", "test").name == "ethics"
    f = tmp_path / "cm.csv"
    f.write_text("label,input,is_short\n1,I lied.,True\n0,I ate.,False\n", encoding="utf-8")
    assert [i.text for i in load_named("ethics", "test_hard", f).items] == ["I lied."]
    with pytest.raises(CultureAlignError, match="unknown dataset 'nope'"):
        load_named("nope", "test")
