"""A stand-in model for the resume test: it replays the release's generated questions as JSON.

A fake, named as one: the kill -9 test needs many quick generation rounds, which no real model
gives on a shared 2-core CPU. Replies are a pure function of (prompt, seed), like a seeded sampler,
so an interrupted and an uninterrupted run must end with the same questions.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from culturealign.models.base import ChatMessage, GenerationConfig, ModelInfo


class ReplayModel:
    info = ModelInfo(name="replay-fake", backend="fake", path="-")
    is_chat = False

    def __init__(self, pool: list[dict], delay: float = 0.0) -> None:
        self.pool, self.delay = pool, delay

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        return "\n".join(m.content for m in messages)

    def generate(
        self, prompts: Sequence[str], config: GenerationConfig, progress=None
    ) -> list[str]:
        time.sleep(self.delay)
        out = []
        for p in prompts:
            h = int(hashlib.sha256(f"{config.seed}/{p}".encode()).hexdigest(), 16)
            row = self.pool[h % len(self.pool)]
            if h % 7 == 0:
                out.append("Sure! Here is a question about it.")  # malformed: no JSON
            else:
                out.append(json.dumps({"Question": row["question"], "Options": row["option_lst"]}))
        return out
