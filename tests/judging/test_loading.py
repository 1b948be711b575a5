"""A separate judge model keeps the run's thread count (torch's is per process)."""

from __future__ import annotations

import pytest
import torch

from culturealign.judging.loading import load_judge_model
from culturealign.models.base import ModelInfo


class _Answering:
    """Only the answering model's provenance matters here: what it was loaded with."""

    info = ModelInfo("gemma-3-270m", "hf", "gemma-3-270m", extra={"threads": 1})


@pytest.mark.integration
def test_a_separate_judge_is_loaded_with_the_answering_models_threads():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        judge = load_judge_model("smollm2-135m-instruct", _Answering())  # type: ignore[arg-type]
        assert torch.get_num_threads() == 1 and judge.info.extra["threads"] == 1
    finally:
        torch.set_num_threads(before)


def test_no_spec_or_the_same_model_is_the_answering_model():
    answering = _Answering()
    assert load_judge_model(None, answering) is answering  # type: ignore[arg-type]
    assert load_judge_model("gemma-3-270m", answering) is answering  # type: ignore[arg-type]
