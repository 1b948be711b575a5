"""Generation prompt, question parser and dedup against the release's real generated questions."""

from __future__ import annotations

import json
import re

import pytest

from culturealign.culturespa.questions import (
    TOPICS,
    Deduplicator,
    Question,
    generation_prompt,
    normalise,
    parse_question,
    rouge_l,
    seed_questions,
)
from tests.culturespa.conftest import released_questions

_EXAMPLE = re.compile(r"#Example \d+:\nQuestion: (.*?)\nOptions: (\[.*?\])\n\n", re.S)


@pytest.mark.parametrize("topic", [0, 3, 7, 12])
def test_prompt_reproduces_the_released_prompts(topic):
    import ast

    rows = released_questions(topic)
    for row in rows[::97]:
        examples = [
            Question(q, tuple(ast.literal_eval(o))) for q, o in _EXAMPLE.findall(row["prompt"])
        ]
        assert len(examples) == 5
        assert generation_prompt(TOPICS[topic], examples).strip() == row["prompt"].strip()
        assert row["class"] == TOPICS[topic]


def test_seed_questions_cover_every_topic_with_the_wvs_wording():
    seeds = seed_questions()
    assert list(seeds) == list(TOPICS) and len(TOPICS) == 13
    assert sum(len(v) for v in seeds.values()) == 259
    # The released prompts' seed examples are WVS questions of the same topic.
    row = released_questions(3)[0]
    texts = {q.question for q in seeds[TOPICS[3]]}
    assert sum(q in texts for q, _ in _EXAMPLE.findall(row["prompt"])) >= 3


@pytest.mark.parametrize(
    "wrap",
    [
        lambda j: j,
        lambda j: "```json\n" + j + "\n```",
        lambda j: "Here is my question:\n" + j + "\nI hope it helps.",
        lambda j: j[:-1],  # cut off before the closing brace (max_new_tokens)
        lambda j: j.replace('"Question"', '"Question:"'),  # the prompt's own example key
    ],
)
def test_parser_recovers_released_questions(wrap):
    rows = released_questions(5)
    ok = 0
    for row in rows:
        raw = wrap(json.dumps({"Question": row["question"], "Options": row["option_lst"]}))
        parsed = parse_question(raw)
        if isinstance(parsed, Question):
            ok += 1
            assert parsed.question == " ".join(row["question"].split())
            assert list(parsed.options) == [o.strip() for o in row["option_lst"]]
    assert ok >= 0.98 * len(rows)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("I cannot think of a question.", "no JSON object"),
        ('{"Question": "Why?"}', "options not a list of strings"),
        ('{"Question": "Why?", "Options": ["yes"]}', "fewer than 2 options or an empty option"),
        ('{"Options": ["a", "b"]}', "no question"),
        ('{"Question": "Why?", "Options": ["a", "a"]}', "repeated options"),
        ('{"Question": "Q?", "Options": [' + ",".join(f'"{i}"' for i in range(17)) + "]}",
         "more than 16 options"),
    ],
)  # fmt: skip
def test_parser_names_why_a_generation_is_malformed(raw, reason):
    assert parse_question(raw) == reason


def test_python_literal_replies_parse_too():
    parsed = parse_question("{'Question': 'Is work good?', 'Options': ['Yes', 'No']}")
    assert parsed == Question("Is work good?", ("Yes", "No"))


def test_exact_dedup_on_the_release_finds_the_papers_duplicates():
    # The paper: exact-duplicate removal takes the 13,000 generated questions to 12,891.
    rows = [r for t in range(13) for r in released_questions(t)]
    dedup, exact = Deduplicator(threshold=1.0), 0
    for r in rows:
        reason = dedup.check(r["class"], r["question"])
        exact += reason == "exact duplicate"
        if reason is None:
            dedup.add(r["class"], r["question"])
    assert len({r["question"] for r in rows}) == 12891  # case kept: the paper's count
    assert exact == 13000 - len({normalise(r["question"]) for r in rows}) == 110


def test_near_duplicates_are_rouge_l_over_tokens():
    assert rouge_l("a b c d", "a b x d") == pytest.approx(2 * 3 / 8)
    assert rouge_l("How important is family?", "how IMPORTANT is family") == 1.0
    d = Deduplicator(threshold=0.7)
    d.add("T", "How important is work in your life?")
    assert d.check("T", "How important is work in your daily life?").startswith("near duplicate")
    assert d.check("U", "How important is work in your daily life?") is None  # other topic
    assert d.check("T", "Do you trust people you meet for the first time?") is None


def test_near_dedup_yield_on_a_released_topic():
    rows = released_questions(3)
    d, kept = Deduplicator(threshold=0.7), 0
    for r in rows:
        if d.check(r["class"], r["question"]) is None:
            d.add(r["class"], r["question"])
            kept += 1
    # Llama-3-8B repeats itself within a topic: the ROUGE-L filter drops a real share,
    # and keeps most.
    assert 0.3 * len(rows) < kept < len(rows)
