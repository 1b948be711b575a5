import pytest

from culturealign.evaluation.parsers import parse_judgement


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("誤", "ja", 1),
        ("正", "ja", 0),
        ("「誤」です。", "ja", 1),
        ("正しいです", "ja", 0),
        ("正しくない", "ja", 1),  # negation of 正しい is wrong, matched before 正
        ("間違っている", "ja", 1),
        ("わかりません", "ja", None),
        ("", "ja", None),
        ("wrong", "en", 1),
        (" Not wrong.", "en", 0),
        ("not morally wrong", "en", 0),
        ("It is not acceptable.", "en", 1),
        ("Acceptable", "en", 0),
        ("Wrong, not acceptable", "en", 1),  # earliest answer word wins
        ("I cannot say", "en", None),
    ],
)
def test_parse_judgement(text, language, expected):
    assert parse_judgement(text, language) == expected


@pytest.mark.parametrize(
    "text",
    [
        "この文章には道徳的な誤りはありません。",
        "誤りがない",
        "誤りではない",
        "間違いはない",
        "間違っていない",
    ],
)
def test_negated_faults_are_not_wrong(text):
    # Issue 8: the earliest-word parser returned 1 (wrong) for every one of these.
    assert parse_judgement(text, "ja") == 0


def test_english_run_reads_english_cues_only():
    assert parse_judgement("誤", "en") is None
    assert parse_judgement("Not wrong", "ja") == 0


def test_full_width_text_is_normalised():
    assert parse_judgement("Ｎｏｔ ｗｒｏｎｇ", "ja") == 0
    assert parse_judgement("誤りはありますか？　いいえ。", "ja") == 0


def test_explicit_verdicts_that_disagree_are_na():
    assert parse_judgement("答え：正 答え：誤", "ja") is None
    assert parse_judgement("Not wrong. The answer is: wrong", "en") is None


def test_explicit_verdict_outranks_other_cues():
    assert parse_judgement("一見正しいように見えますが、答えは「誤」です。", "ja") == 1
