"""Question generation prompts, the parser of generated questions and deduplication.

The prompt is the released one word for word (``prompt`` field of CultureSPA's
``generated_questions_topic_*_from_all_seed.json``): five examples ("#Example k:"), three WVS
seed questions of the topic and up to two questions already generated, in shuffled order.

Deduplication (our method; the paper states only exact-duplicate removal, 13,000 -> 12,891):

* exact: the question text, case and whitespace folded, seen before (any topic);
* near: ROUGE-L F1 over lower-cased alphanumeric tokens >= ``threshold`` (0.7, Self-Instruct's
  value) against the topic's seeds and accepted questions. ROUGE-L F1 with beta 1 is
  ``2 LCS / (m + n)``, which is rapidfuzz's normalised Indel similarity computed on token
  sequences (each distinct token mapped to one character).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Indel

from culturealign.data.sources import locate
from culturealign.data.survey import read_json
from culturealign.data.wvs import EXCLUDED, QUESTIONS, SECTION_OF

# The 13 WVS topics in CultureSPA's order (topic k = generated_questions_topic_k).
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(SECTION_OF.values()))
MAX_OPTIONS = 16  # the answer step accepts options 0-15

PROMPT_HEAD = (
    "Please come up with one new survey question.\n"
    "Make sure your question addresses the topic of {topic}.\n"
    "For reference, here are some example questions:\n"
)
EXAMPLE = "#Example {k}:\nQuestion: {question}\nOptions: {options}\n\n"
PROMPT_TAIL = (
    "Note that your question should be clearly different from the example questions provided "
    "and must pertain to the topic of {topic}.\n"
    'Please return your question in JSON format, for example:{{"Question:" ..., "Options": '
    "[..., ..., ...]}}.\n"
    "Return the JSON data only and do not include any additional text or information.\n"
)


@dataclass(frozen=True)
class Question:
    question: str
    options: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"question": self.question, "options": list(self.options)}


def seed_questions(data_dir: Any = None) -> dict[str, list[Question]]:
    """The WVS questions CultureSPA seeds each topic with (Q1-Q259 less Q223, by section)."""
    out: dict[str, list[Question]] = {t: [] for t in TOPICS}
    for row in read_json(locate(QUESTIONS, data_dir), list):
        qid = row["Q_id"]
        if qid in EXCLUDED or qid not in SECTION_OF or not row["option_lst"]:
            continue
        out[SECTION_OF[qid]].append(Question(row["question"], tuple(row["option_lst"])))
    return out


def generation_prompt(topic: str, examples: Sequence[Question]) -> str:
    """The released generation prompt for ``topic`` with these in-context examples."""
    body = "".join(
        EXAMPLE.format(k=k, question=q.question, options=repr(list(q.options)))
        for k, q in enumerate(examples, start=1)
    )
    return PROMPT_HEAD.format(topic=topic) + body + PROMPT_TAIL.format(topic=topic)


def parse_question(text: str) -> Question | str:
    """The question a model generated, or the reason it is malformed (a string)."""
    obj = _first_object(text)
    if obj is None:
        return "no JSON object"
    keys = {k.strip().strip(":").strip().lower(): v for k, v in obj.items() if isinstance(k, str)}
    q, opts = keys.get("question"), keys.get("options")
    if not isinstance(q, str) or not q.strip():
        return "no question"
    if not isinstance(opts, list) or not all(isinstance(o, str | int | float) for o in opts):
        return "options not a list of strings"
    options = tuple(str(o).strip() for o in opts)
    if len(options) < 2 or any(not o for o in options):
        return "fewer than 2 options or an empty option"
    if len(options) > MAX_OPTIONS:
        return f"more than {MAX_OPTIONS} options"
    if len(set(options)) != len(options):
        return "repeated options"
    return Question(" ".join(q.split()), options)


_CLOSERS = ("", "}", "]}", '"]}')


def _first_object(text: str) -> dict[str, Any] | None:
    """The first ``{...}`` that parses as JSON (or a Python literal), closing a cut-off end."""
    for match in re.finditer(r"\{", text):
        rest = text[match.start() :]
        for closer in _CLOSERS:
            try:
                obj, _ = json.JSONDecoder().raw_decode(rest + closer)
            except json.JSONDecodeError:
                obj = _literal(rest + closer)
            if isinstance(obj, dict):
                return obj
    return None


def _literal(text: str) -> Any:
    end = text.rfind("}")
    try:
        return ast.literal_eval(text[: end + 1]) if end >= 0 else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def normalise(text: str) -> str:
    """Case and whitespace folded: the key of exact deduplication."""
    return " ".join(text.lower().split())


_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass
class Deduplicator:
    """Exact (all topics) and ROUGE-L near-duplicate (per topic) filter over a growing pool."""

    threshold: float = 0.7
    seen: set[str] = field(default_factory=set)
    pools: dict[str, list[str]] = field(default_factory=dict)
    _vocab: dict[str, str] = field(default_factory=dict)

    def _encode(self, text: str) -> str:
        chars = []
        for tok in _TOKEN.findall(text.lower()):
            if tok not in self._vocab:
                self._vocab[tok] = chr(0x4E00 + len(self._vocab))
            chars.append(self._vocab[tok])
        return "".join(chars)

    def add(self, topic: str, question: str) -> None:
        self.seen.add(normalise(question))
        self.pools.setdefault(topic, []).append(self._encode(question))

    def check(self, topic: str, question: str) -> str | None:
        """Why ``question`` is a duplicate, or None when it is new."""
        if normalise(question) in self.seen:
            return "exact duplicate"
        hit = process.extractOne(
            self._encode(question),
            self.pools.get(topic, []),
            scorer=Indel.normalized_similarity,
            processor=None,
            score_cutoff=self.threshold,
        )
        return None if hit is None else f"near duplicate (ROUGE-L {hit[1]:.2f})"


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts over lower-cased alphanumeric tokens (for tests and docs)."""
    d = Deduplicator()
    return float(Indel.normalized_similarity(d._encode(a), d._encode(b)))
