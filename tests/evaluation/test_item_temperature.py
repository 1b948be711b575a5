"""Per-item temperatures (FastChat's per-category ones for mt-bench-ja turn 1): chunks never mix
them, each chunk is drawn at its items' temperature, and --temperature replaces them all."""

from __future__ import annotations

from dataclasses import replace

import pytest

from culturealign.evaluation import build_task
from culturealign.evaluation.runner import (
    CHUNK,
    pending_chunks,
    resolve_generation,
    scoring_order,
)
from culturealign.judging.mt_bench import TEMPERATURES

pytestmark = pytest.mark.needs_data


@pytest.fixture
def mt_bench(smollm):
    task = build_task("mt-bench-ja", {"limit": 20})
    return task, task.samples(smollm)


def test_each_chunk_is_drawn_at_its_categorys_temperature(mt_bench):
    task, samples = mt_bench
    generation = resolve_generation(task)
    chunks = list(pending_chunks(task, samples, {}, generation))
    assert sorted(s.id for c, _ in chunks for s in c) == sorted(s.id for s in samples)
    assert len({g.temperature for _, g in chunks}) > 1  # several categories in the first 20
    for i, (chunk, drawn) in enumerate(chunks):
        assert {TEMPERATURES[s.meta["category"]] for s in chunk} == {drawn.temperature}
        assert drawn.seed == generation.seed + i and len(chunk) <= CHUNK["generate"]


def test_a_run_temperature_replaces_the_items(mt_bench):
    task, samples = mt_bench
    generation = replace(resolve_generation(task), temperature=0.3)
    assert {g.temperature for _, g in pending_chunks(task, samples, {}, generation)} == {0.3}


def test_tasks_without_item_temperatures_chunk_as_before(smollm):
    task = build_task("jcm", {"limit": 40, "mode": "generate"})
    samples = task.samples(smollm)
    ordered = scoring_order(samples)
    chunks = [c for c, _ in pending_chunks(task, samples, {}, resolve_generation(task))]
    size = CHUNK["generate"]
    assert chunks == [ordered[i : i + size] for i in range(0, len(ordered), size)]
