import json

import pytest

from culturealign.alignment.prefs import (
    PreferencePair,
    pairs_from_judgements,
    read_pairs,
    write_pairs,
)
from culturealign.data.judgements import load_ethics, load_jcm
from culturealign.errors import CultureAlignError
from culturealign.prompts.moral import TEMPLATES, render_moral


def test_jcm_pairs_are_the_zero_shot_eval_prompt_with_gold_answer_chosen():
    data = load_jcm("train").head(6)
    pairs = pairs_from_judgements(data)
    for item, pair in zip(data.items, pairs, strict=True):
        rendered = render_moral(item, TEMPLATES["ja"])
        assert pair.prompt == rendered.full
        assert pair.chosen == ("誤" if item.label == 1 else "正")
        assert pair.rejected == ("正" if item.label == 1 else "誤")
        assert pair.id == item.id and pair.source == "jcm/train"
        assert pair.chat_template is None
    assert pairs[0].prompt.endswith("答え：")


def test_ethics_pairs_in_english_prompt_and_chat_template():
    data = load_ethics("test_hard").head(3)

    def chat(messages):
        return "<user>" + messages[-1].content + "</user><assistant>"

    pairs = pairs_from_judgements(data, "en", chat=chat, chat_name="toy")
    assert pairs[0].prompt.startswith("<user>Judge whether")
    assert pairs[0].prompt.endswith("</user><assistant>")
    assert {pairs[0].chosen, pairs[0].rejected} == {"wrong", "not wrong"}
    assert pairs[0].chat_template == "toy"


def test_write_read_roundtrip(tmp_path):
    pairs = pairs_from_judgements(load_jcm("val").head(5))
    path = tmp_path / "p.jsonl"
    assert write_pairs(path, pairs) == 5
    assert read_pairs(path) == pairs
    assert read_pairs(path, limit=2) == pairs[:2]
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert {"prompt", "chosen", "rejected"} <= set(row)


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "p.jsonl:2: not valid JSON"),
        ('["a"]', "p.jsonl:2: expected a JSON object"),
        ('{"prompt": "p", "chosen": "a"}', "p.jsonl:2: rejected: Field required"),
        ('{"prompt": "p", "chosen": "a", "rejected": ""}', "p.jsonl:2: rejected"),
        ('{"prompt": "p", "chosen": "a", "rejected": "a"}', "p.jsonl:2: chosen and rejected"),
        ('{"prompt": "p", "chosen": "a", "rejected": "b", "x": 1}', "p.jsonl:2: x"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    good = PreferencePair(prompt="p", chosen="a", rejected="b").model_dump_json()
    path = tmp_path / "p.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CultureAlignError) as err:
        read_pairs(path)
    assert message in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(CultureAlignError, match="not found"):
        read_pairs(tmp_path / "none.jsonl")
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(CultureAlignError, match="no preference rows"):
        read_pairs(tmp_path / "e.jsonl")
