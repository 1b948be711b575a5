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
