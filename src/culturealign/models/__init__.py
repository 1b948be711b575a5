"""Model backends behind one interface (:class:`LanguageModel`)."""

from culturealign.models.base import (
    ChatMessage,
    ChoiceRequest,
    GenerationConfig,
    LanguageModel,
    ModelInfo,
)
from culturealign.models.registry import BACKENDS, load_model

__all__ = [
    "BACKENDS",
    "ChatMessage",
    "ChoiceRequest",
    "GenerationConfig",
    "LanguageModel",
    "ModelInfo",
    "load_model",
]
