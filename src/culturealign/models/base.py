"""The one interface every model backend implements.

Callers (tasks, data builders, trainers) only see :class:`LanguageModel`; a backend is a module
in this package plus one line in :mod:`culturealign.models.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Progress = Callable[[int], None]  # called with the number of requests just finished


@dataclass(frozen=True, slots=True)
class ChoiceRequest:
    """Score ``choices`` as continuations of ``prefix + text``.

    ``prefix`` is the part many requests share (instruction, few-shot examples, persona
    preamble): backends that can encode it once and reuse its KV cache do so. Token
    boundaries fall between prefix, text and each choice, in every backend and in the plain
    reference path alike, so fast and slow paths score the same token sequence.
    """

    prefix: str
    text: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    max_new_tokens: int = 16
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k cut
    seed: int = 0
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class ModelInfo:
    """Provenance written into every result summary."""

    name: str
    backend: str
    path: str
    revision: str | None = None
    adapter: str | None = None
    adapter_sha256: str | None = None
    dtype: str | None = None
    device: str | None = None
    chat_template: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class LanguageModel(Protocol):
    info: ModelInfo

    @property
    def is_chat(self) -> bool:
        """True when prompts should be wrapped in the model's chat template."""

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        """The chat template applied to ``messages``, ending with the assistant turn's start."""

    def choice_logprobs(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float]]:
        """Sum of token log-probabilities of each choice, one list per request."""

    def generate(
        self,
        prompts: Sequence[str],
        config: GenerationConfig,
        progress: Progress | None = None,
    ) -> list[str]:
        """One completion per prompt (greedy when ``config.temperature == 0``)."""
