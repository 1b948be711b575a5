"""Record types for survey questions answered differently by people in different countries.

One :class:`SurveyQuestion` holds a question, its ordered options, the label each option is
shown with (``"1"``, ``"0"``, ``"A"``...), a numeric score per option for mean-score analyses,
and per-country human answer distributions. The World Values Survey (CultureSPA,
WorldValuesBench) and GlobalOpinionQA loaders all produce a :class:`SurveySet` of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError


@dataclass(frozen=True)
class SurveyQuestion:
    """A question with ordered options and the answer distribution of each country.

    ``distributions[c][i]`` is the share of respondents in country ``c`` who chose option
    ``i`` (as published: some rows do not sum to one; metrics normalise where their
    definition does). ``majority[c]`` is the index of the published majority answer, kept
    separately because CultureSPA defines it as the *first* key of a pre-sorted dict, which
    settles ties differently from an argmax. ``scores[i]`` is ``None`` for options with no
    place on the scale ("Other answer", "Not allowed to vote").
    """

    id: str
    text: str
    options: tuple[str, ...]
    labels: tuple[str, ...]
    scores: tuple[float | None, ...]
    distributions: Mapping[str, tuple[float, ...]]
    majority: Mapping[str, int]
    category: str | None = None
    section: str | None = None

    def __post_init__(self) -> None:
        n = len(self.options)
        if n < 2 or len(self.labels) != n or len(self.scores) != n:
            raise ValueError(f"question {self.id}: options, labels and scores must align")
        for country, dist in self.distributions.items():
            if len(dist) != n:
                raise ValueError(f"question {self.id}: {country} distribution has {len(dist)}")

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(self.distributions)

    @property
    def scale(self) -> tuple[float, float]:
        """Lowest and highest option score (the range used to normalise mean scores)."""
        valid = [s for s in self.scores if s is not None]
        return (min(valid), max(valid)) if valid else (math.nan, math.nan)


@dataclass(frozen=True)
class SurveySet:
    """Questions of one survey dataset plus what is needed to cite it in a result."""

    name: str
    questions: list[SurveyQuestion]
    countries: tuple[str, ...]
    source: str
    sha256: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.questions)

    def head(self, limit: int | None) -> SurveySet:
        """The first ``limit`` questions (all of them when ``limit`` is None)."""
        if limit is None or limit >= len(self.questions):
            return self
        note = f"limited to the first {limit} questions"
        return replace(self, questions=self.questions[:limit], notes=[*self.notes, note])

    def restrict(self, countries: Iterable[str] | None) -> SurveySet:
        """Keep only ``countries`` (in the given order); unknown names are an error."""
        if countries is None:
            return self
        wanted = tuple(countries)
        unknown = [c for c in wanted if c not in self.countries]
        if unknown:
            raise CultureAlignError(
                f"unknown countr{'y' if len(unknown) == 1 else 'ies'} for {self.name}: "
                + ", ".join(unknown),
                "choose from: " + ", ".join(self.countries),
            )
        keep = set(wanted)
        questions = [
            replace(
                q,
                distributions={c: d for c, d in q.distributions.items() if c in keep},
                majority={c: m for c, m in q.majority.items() if c in keep},
            )
            for q in self.questions
        ]
        questions = [q for q in questions if q.distributions]
        note = "countries: " + ", ".join(wanted)
        return replace(self, questions=questions, countries=wanted, notes=[*self.notes, note])

    def pairs(self) -> list[tuple[SurveyQuestion, str]]:
        """Every (question, country) with a human distribution, question-major."""
        return [(q, c) for q in self.questions for c in self.countries if c in q.distributions]


def read_json(path: Path, expect: type) -> Any:
    """Parse a JSON file whose top level must be ``expect``; errors name the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CultureAlignError(
            f"cannot read {path}: {exc}", "re-download the file or check --data-path"
        ) from exc
    if not isinstance(data, expect):
        raise CultureAlignError(
            f"{path} holds a {type(data).__name__}, expected a {expect.__name__}",
            "is this the right file? see docs/tasks/survey.md for the expected format",
        )
    return data
