"""Cut choice-scoring requests into forward batches of least cost (used by models/hf.py).

Kept apart from the backend so the planner can be tested without a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# One forward costs about this many tokens' work on top of its tokens: it streams every weight
# from memory once (gemma-3-270m on one CPU thread: ~140 ms fixed, ~1.5 ms per token).
FORWARD_COST_TOKENS = 64


@dataclass(frozen=True)
class Encoded:
    index: int
    row: list[int]  # prompt tokens after the cached prefix
    choices: list[list[int]]


def length_batches(
    items: list[Encoded], token_budget: int, past: int, window: int | None
) -> list[list[Encoded]]:
    """Cut length-sorted rows into batches of least cost: padded tokens + a cost per forward.

    Dynamic programming over cut points: ``cost[end]`` is the cheapest way to batch the first
    ``end`` rows. A batch must fit ``token_budget`` (the cached prefix counted at 1/8: it is
    attended to, not recomputed). Pads sit between the cached prefix and a shorter row, and a
    sliding window counts them as tokens: once prefix + width + choice tokens could exceed
    ``window``, a batch must not be padded, or its short rows would lose prefix tokens.
    """
    rows = sorted(items, key=lambda e: len(e.row))
    cost = [0.0] + [float("inf")] * len(rows)
    start = [0] * (len(rows) + 1)
    for end in range(1, len(rows) + 1):
        width, longest = len(rows[end - 1].row), 0
        for begin in range(end - 1, -1, -1):  # growing the batch leftwards, shorter rows join
            longest = max(longest, _longest_choice(rows[begin]))
            size = end - begin
            padded = len(rows[begin].row) < width
            spills = window is not None and past + width + longest - 1 > window
            if size > 1 and (size * (width + past // 8) > token_budget or (padded and spills)):
                break  # only gets worse as the batch grows
            total = cost[begin] + FORWARD_COST_TOKENS + size * width
            if total < cost[end]:
                cost[end], start[end] = total, begin
    batches = []
    end = len(rows)
    while end:
        batches.append(rows[start[end] : end])
        end = start[end]
    return batches[::-1]


def _longest_choice(item: Encoded) -> int:
    return max((len(c) for c in item.choices), default=1)


HEAD_ROWS = 256  # rows per LM-head call: one read of the head weight, logits of bounded size


class HeadQueue:
    """Batches' last hidden states waiting for one LM-head call over all their rows.

    On CPU the head is bound by reading its weight (gemma-3: 262k x 640 fp32, 671 MB) more than
    by its FLOPs; per batch of ~25 rows that read cost 4x the arithmetic.
    """

    def __init__(self) -> None:
        self.batches: list[tuple[list[Encoded], torch.Tensor, dict[tuple[int, int], float]]] = []
        self.rows = 0

    def add(
        self, batch: list[Encoded], hidden: torch.Tensor, rest: dict[tuple[int, int], float]
    ) -> None:
        self.batches.append((batch, hidden, rest))
        self.rows += len(batch)

    def flush(
        self, head_logp: Callable[[torch.Tensor], torch.Tensor], out: list[list[float]]
    ) -> None:
        """Run the head once over every waiting row; write each request's choice log-probs."""
        import torch

        if not self.batches:
            return
        logp = head_logp(torch.cat([h for _, h, _ in self.batches]))
        row = 0
        for batch, _, rest in self.batches:
            for b, e in enumerate(batch):
                first = [float(logp[row, c[0]]) for c in e.choices]
                out[e.index] = [f + rest[(b, k)] if (b, k) in rest else f
                                for k, f in enumerate(first)]  # fmt: skip
                row += 1
        self.batches, self.rows = [], 0
