"""Named survey and NLI prompts, in the original wordings, with culture personas.

Every template is rendered as ``prefix + text`` (a :class:`ChoiceRequest`): the prefix (chat
header, system persona, instruction up to the item) is the same for all items of a country,
so backends encode it once. Templates and where their wording comes from:

* ``culturespa-unaware`` / ``culturespa-aware``: CultureSPA ``utils.py`` (``system_prompt_dict``
  "en" / "en_culture_aware" and ``question_template_dict["en"]``), as a system + user chat;
  options as ``"1.Very important 2.Rather important ..."`` numbered by their WVS codes.
* ``culturebank-aware``: CultureBank ``world_value_survey.py`` (GlobalOpinionQA), raw text with
  "Human:"/"Assistant:" turns and no chat template, options ``(A) ...`` on separate lines; the
  answer is the letter after the final ``(``. ``culturebank-unaware`` drops the persona clause
  (our derivation: the study only ran the persona version).
* ``culturebank-cali``: CultureBank ``cultural_nli.py`` ``NLI_TEMPLATE`` (the curly apostrophe
  of "Let’s" and the space after "(E) Entail" kept); ``culturebank-cali-indented`` adds the
  two-space indentation the template has in the released version defined inside ``main()``.

For base models (no chat template) the CultureSPA templates put the system text, a blank line,
the user text and ``"\\nAnswer:"`` in a row, and options are scored as `` 1``, `` 2``...: that
layout is ours, as the paper only used chat models. Any change here that can move a score
must bump the task versions in :mod:`culturealign.evaluation.tasks.survey`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from culturealign.models.base import ChatMessage, ChoiceRequest

_SENTINEL = "\x00ITEM\x00"
Persona = Literal["unaware", "aware"]


class SurveyTemplate(BaseModel):
    """One prompt wording. Placeholders: {question} {options}; persona: {country} {article}
    {nationality}; NLI: {premise} {hypothesis}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str | None = Field(None, description="System turn (persona); None for none.")
    user: str = Field(description="User turn; the first item placeholder starts the item part.")
    option: str = Field("{label}.{option}", description="How one option is shown.")
    option_separator: str = " "
    labels: Literal["codes", "letters"] = Field(
        "codes", description="Show the question's own codes (WVS 1, 2...) or A, B, C..."
    )
    chat: Literal["model", "never"] = Field(
        "model", description="Wrap in the model's chat template when it has one, or never."
    )
    answer_cue: str = Field("\nAnswer:", description="Appended when no chat template is used.")
    choice_space: bool = Field(
        True, description="Score ' 1' rather than '1' when the cue ends without a space."
    )
    source: str


CULTURESPA_SYSTEM_UNAWARE = (
    "You are a real person with your own set of values. Please fill out the World Values Survey"
    " and answer the questions honestly according to your own value system."
)
CULTURESPA_SYSTEM_AWARE = (
    "You are a real person with {article} {nationality} cultural background. Please fill out the"
    " World Values Survey and answer the questions honestly according to your own value system."
)
CULTURESPA_USER = (
    "Given a #Question and #Options, choose the option that best aligns with your own value"
    " system to answer the question.\n#Question: {question}\n#Options: {options}\n"
    "Please return the number of the selected option only."
)
_CULTUREBANK_AWARE = (
    "Human: How would someone from {country} answer the following question:\n{question}\n"
    "Here are the options:\n{options}\n"
    "Assistant: If I had to select one of the options, my answer would be ("
)
_CULTUREBANK_UNAWARE = _CULTUREBANK_AWARE.replace(
    "How would someone from {country} answer the following question:\n", ""
)
_CALI = (
    "Premise: {premise}\nHypothesis: {hypothesis}\n\nLet’s think as someone who lives in "
    "{country}. What do you think is the relationship between the premise and the hypothesis?\n"
    "(E) Entail \n(N) Neutral\n(C) Contradict\n\nYour Answer (E/N/C): ("
)


def _indent_after_first_line(text: str) -> str:
    """The template as written inside ``main()``: two spaces before each non-empty later line."""
    first, *rest = text.split("\n")
    return "\n".join([first, *("  " + line if line else line for line in rest)])


_CULTURESPA = "CultureSPA utils.py (github.com/shaoyangxu/CultureSPA @c3155353)"
_CULTUREBANK = "CultureBank evaluation/downstream_tasks (github.com/SALT-NLP/CultureBank)"
_RAW = dict(chat="never", answer_cue="", choice_space=False)
_LETTERS = dict(option="({label}) {option}", option_separator="\n", labels="letters")

TEMPLATES: dict[str, SurveyTemplate] = {
    "culturespa-unaware": SurveyTemplate(
        system=CULTURESPA_SYSTEM_UNAWARE, user=CULTURESPA_USER, source=_CULTURESPA
    ),
    "culturespa-aware": SurveyTemplate(
        system=CULTURESPA_SYSTEM_AWARE, user=CULTURESPA_USER, source=_CULTURESPA
    ),
    "culturebank-aware": SurveyTemplate(
        user=_CULTUREBANK_AWARE, source=_CULTUREBANK, **_RAW, **_LETTERS
    ),
    "culturebank-unaware": SurveyTemplate(
        user=_CULTUREBANK_UNAWARE, source=_CULTUREBANK + " minus the persona", **_RAW, **_LETTERS
    ),
    "culturebank-cali": SurveyTemplate(user=_CALI, source=_CULTUREBANK, **_RAW),
    "culturebank-cali-indented": SurveyTemplate(
        user=_indent_after_first_line(_CALI), source=_CULTUREBANK + " (main()-indented)", **_RAW
    ),
}
# Prompt families: the template each persona uses.
FAMILIES: dict[str, dict[Persona, str]] = {
    "culturespa": {"unaware": "culturespa-unaware", "aware": "culturespa-aware"},
    "culturebank": {"unaware": "culturebank-unaware", "aware": "culturebank-aware"},
}


def option_labels(template: SurveyTemplate, codes: Sequence[str]) -> tuple[str, ...]:
    """The labels shown before the options: the question's codes or A, B, C..."""
    if template.labels == "codes":
        return tuple(codes)
    return tuple(chr(ord("A") + i) for i in range(len(codes)))


@dataclass(frozen=True)
class Rendered:
    prefix: str
    text: str
    choices: tuple[str, ...]

    @property
    def full(self) -> str:
        return self.prefix + self.text

    def request(self) -> ChoiceRequest:
        return ChoiceRequest(self.prefix, self.text, self.choices)


def render(
    template: SurveyTemplate,
    fields: dict[str, str],
    item_field: str,
    labels: Sequence[str],
    chat: Callable[[Sequence[ChatMessage]], str] | None = None,
) -> Rendered:
    """Fill ``template``; the prefix ends where ``fields[item_field]`` starts.

    ``chat`` is the model's ``render_chat`` when the prompt is to be chat-wrapped (see
    :func:`wants_chat`), else None.
    """
    values = {**fields, item_field: _SENTINEL + fields[item_field]}
    user = template.user.format(**values)
    system = template.system.format(**values) if template.system else None
    if chat is not None:
        messages = [ChatMessage("system", system)] if system else []
        full = chat([*messages, ChatMessage("user", user)])
    else:
        full = (system + "\n\n" if system else "") + user + template.answer_cue
    prefix, text = full.split(_SENTINEL)
    space = " " if template.choice_space and chat is None else ""
    return Rendered(prefix, text, tuple(space + lab for lab in labels))


def wants_chat(template: SurveyTemplate, model_is_chat: bool, forced: bool | None) -> bool:
    """Chat-wrap when forced, else when the template allows it and the model has a template."""
    if forced is not None:
        return forced
    return template.chat == "model" and model_is_chat


def format_options(template: SurveyTemplate, labels: Sequence[str], options: Sequence[str]) -> str:
    return template.option_separator.join(
        template.option.format(label=lab, option=opt)
        for lab, opt in zip(labels, options, strict=True)
    )
