"""Data-parallel evaluation and generation on Ray: N actors, each holding its own model.

The driver cuts the pending items into shards, hands them to idle actors (``ray.wait``), and
writes each finished shard atomically to ``<out>/shards/<pos>.jsonl`` (``pos``: the shard's first
item in scoring order). When every item is done it writes ``items.jsonl`` in scoring order, the
file a single-process run writes, and the same summary. A re-run reads the shards already
written and scores only the rest. A killed worker is restarted by Ray (``max_restarts``) and
its shard retried (``max_task_retries``); shards are written only by the driver, so an actor
dying mid-shard writes nothing half.

Shards are the single-process runner's chunks (in generate mode with their seeds), so the
results match a single-process run's byte for byte (``shard_size`` trades that for more, smaller
choice-mode shards: the backend's batching moves fp32 scores in the 5th decimal).
:func:`parallel_generate` is the same mechanism for other pipelines' ``generate()`` calls.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.evaluation.records import ItemRecord
from culturealign.evaluation.runner import (
    CHUNK,
    ProgressFactory,
    check_resume,
    finish_run,
    identity_for,
    pending_chunks,
    read_records,
    score_chunk,
    scoring_order,
)
from culturealign.evaluation.task import Sample, Task
from culturealign.layout import ITEMS_FILE, RUN_FILE
from culturealign.models.base import GenerationConfig
from culturealign.paths import ensure_writable_dir, write_text_atomic

SHARDS = "shards"


class ModelWorker:
    """One Ray actor's state: a model loaded once, then asked to score or generate shards."""

    def __init__(self, model: str, options: dict[str, Any]) -> None:
        from culturealign.models import load_model

        self.lm = load_model(model, **options)

    def info(self) -> dict[str, Any]:
        return asdict(self.lm.info)

    def pid(self) -> int:
        return os.getpid()

    def samples(self, task: Task) -> list[Sample]:
        return task.samples(self.lm)

    def score(self, task: Task, samples: list[Sample], generation: GenerationConfig) -> list[str]:
        return [r.to_line() for r in score_chunk(task, self.lm, samples, generation, None)]

    def generate(self, prompts: list[str], generation: GenerationConfig) -> list[Any]:
        return list(self.lm.generate(prompts, generation))

    def work(self) -> dict[str, Any]:
        return dict(getattr(self.lm, "work", {}))


class WorkerPool:
    """``workers`` Ray actors each holding ``model``; joins ``ray_address`` or starts local Ray.

    Use as a context manager; :meth:`map` hands units to idle actors and yields results as
    they finish. Ray is shut down on exit only if this pool started it.
    """

    def __init__(
        self,
        model: str,
        workers: int,
        options: dict[str, Any] | None = None,
        ray_address: str | None = None,
        restarts: int = 1,
    ) -> None:
        if workers < 1:
            raise CultureAlignError(f"--workers {workers}: needs at least 1", "pass --workers 2")
        self.model, self.workers, self.restarts = model, workers, restarts
        self.options = {k: v for k, v in (options or {}).items() if v is not None}
        self.ray_address = ray_address
        self.actors: list[Any] = []
        self.pids: list[int] = []
        self._started_ray = False

    def __enter__(self) -> WorkerPool:
        import ray

        if not ray.is_initialized():
            if self.ray_address:
                ray.init(address=self.ray_address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        threads = self.options.get("threads") or 1
        actor = ray.remote(
            num_cpus=threads, max_restarts=self.restarts, max_task_retries=self.restarts
        )(ModelWorker)
        self.actors = [actor.remote(self.model, self.options) for _ in range(self.workers)]
        self.pids = self._get([a.pid.remote() for a in self.actors])
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        for a in self.actors:
            ray.kill(a)
        if self._started_ray:
            ray.shutdown()

    def _get(self, refs: Any) -> Any:
        import ray
        from ray.exceptions import RayActorError

        try:
            return ray.get(refs)
        except RayActorError as err:
            raise CultureAlignError(
                f"a Ray worker died and did not come back ({err.__class__.__name__})",
                "re-run the same command: finished shards are kept and only the rest is redone",
            ) from err

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` on the first actor (e.g. model info, rendering samples)."""
        return self._get(getattr(self.actors[0], method).remote(*args))

    def map(self, method: str, units: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """Yield ``(unit index, actor.method(*unit))`` as each finishes; dynamic dispatch."""
        import ray

        queue = list(enumerate(units))[::-1]
        running: dict[Any, tuple[int, Any]] = {}
        idle = list(self.actors)
        while queue or running:
            while queue and idle:
                index, args = queue.pop()
                actor = idle.pop()
                running[getattr(actor, method).remote(*args)] = (index, actor)
            ready, _ = ray.wait(list(running), num_returns=1)
            index, actor = running.pop(ready[0])
            idle.append(actor)
            yield index, self._get(ready[0])

    def work(self) -> dict[str, Any]:
        """Counters summed over the actors (numbers only)."""
        total: dict[str, Any] = {}
        for work in self._get([a.work.remote() for a in self.actors]):
            for k, v in work.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    total[k] = total.get(k, 0) + v
        return total


def run_task_parallel(
    task: Task,
    model: str,
    out_dir: Path,
    workers: int,
    options: dict[str, Any] | None = None,
    generation: GenerationConfig | None = None,
    progress: ProgressFactory | None = None,
    ray_address: str | None = None,
    shard_size: int | None = None,
    on_shard: Callable[[WorkerPool, int], None] | None = None,
) -> dict[str, Any]:
    """:func:`~culturealign.evaluation.runner.run_task` over ``workers`` Ray actors.

    ``options`` go to ``load_model`` in each actor (adapter, threads, concurrency).
    ``on_shard(pool, n_written)`` runs after each shard is written (progress, tests).
    """
    from culturealign.evaluation.runner import resolve_generation

    ensure_writable_dir(out_dir)
    generation = generation or resolve_generation(task)
    shard_dir = out_dir / SHARDS
    with WorkerPool(model, workers, options, ray_address) as pool:
        import ray

        identity = identity_for(task, pool.call("info"), generation)
        check_resume(out_dir / RUN_FILE, identity)
        task_ref = ray.put(task)
        samples = pool.call("samples", task_ref)
        done = _finished(out_dir)
        units = _units(task, samples, done, generation, workers, shard_size)
        position = {s.id: i for i, s in enumerate(scoring_order(samples))}
        n_todo = sum(s.id not in done for s in samples)
        advance = progress(len(samples), len(samples) - n_todo) if progress else None
        calls = [(task_ref, chunk, gen) for chunk, gen in units]
        for written, (index, lines) in enumerate(pool.map("score", calls), start=1):
            chunk = units[index][0]
            fresh = [line for line in lines if json.loads(line)["id"] not in done]
            pos = min(position[s.id] for s in chunk)
            write_text_atomic(shard_dir / f"{pos:06d}.jsonl", "".join(fresh))
            for line in fresh:
                record = ItemRecord.model_validate(json.loads(line))
                done[record.id] = record
            if advance:
                advance(len(fresh))
            if on_shard:
                on_shard(pool, written)
        work = {"items_scored": n_todo, "workers": workers, **pool.work()}
    ordered = scoring_order(samples)
    write_text_atomic(out_dir / ITEMS_FILE, "".join(done[s.id].to_line() for s in ordered))
    shutil.rmtree(shard_dir, ignore_errors=True)  # now all in items.jsonl
    records = [done[s.id] for s in samples]
    return finish_run(task, out_dir, identity, records, generation, work)


def _finished(out_dir: Path) -> dict[str, ItemRecord]:
    """Records already done: ``items.jsonl`` (a single-process run's too) plus every shard."""
    done = read_records(out_dir / ITEMS_FILE)
    for shard in sorted((out_dir / SHARDS).glob("*.jsonl")):
        done.update(read_records(shard))
    return done


def _units(
    task: Task,
    samples: list[Sample],
    done: dict[str, ItemRecord],
    generation: GenerationConfig,
    workers: int,
    size: int | None,
) -> list[tuple[list[Sample], GenerationConfig]]:
    if task.scorer.mode != "choice":
        return list(pending_chunks(task, samples, done, generation))
    todo = [s for s in scoring_order(samples) if s.id not in done]
    # The single-process chunks by default: the backend batches within a chunk, and another
    # batching changes fp32 rounding (scores move in the 5th decimal). Smaller shards spread a
    # short run over more workers at that cost.
    size = size or CHUNK["choice"]
    return [(todo[i : i + size], generation) for i in range(0, len(todo), size)]


def generation_units(
    prompts: Sequence[str], generation: GenerationConfig, chunk: int
) -> list[tuple[list[str], GenerationConfig]]:
    """Chunks of ``prompts``, chunk ``i`` drawn with ``seed + i``: the draws depend on the chunk
    size only, never on how many workers share the chunks."""
    from dataclasses import replace

    return [
        (list(prompts[start : start + chunk]), replace(generation, seed=generation.seed + i))
        for i, start in enumerate(range(0, len(prompts), chunk))
    ]


def pool_generate(
    pool: WorkerPool,
    prompts: Sequence[str],
    generation: GenerationConfig,
    chunk: int,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    units = generation_units(prompts, generation, chunk)
    results: list[list[Any]] = [[] for _ in units]
    for index, outputs in pool.map("generate", units):
        results[index] = outputs
        if progress:
            progress(len(outputs))
    return [out for chunk_out in results for out in chunk_out]


def parallel_generate(
    model: str,
    prompts: Sequence[str],
    generation: GenerationConfig,
    workers: int,
    options: dict[str, Any] | None = None,
    ray_address: str | None = None,
    chunk: int = CHUNK["generate"],
) -> list[Any]:
    """``model.generate(prompts, generation)`` sharded over ``workers`` Ray actors, in order
    (chunk ``i`` drawn with ``seed + i``, as the runner does)."""
    with WorkerPool(model, workers, options, ray_address) as pool:
        return pool_generate(pool, prompts, generation, chunk)


POOLED_CHUNK = 4  # prompts per actor call: small, so one pipeline batch spreads over the actors


class PooledModel:
    """A local model whose ``generate`` runs on a :class:`WorkerPool`.

    Generation-heavy pipelines (``prefs from-rm``, CultureSPA, translation) take it unchanged:
    rendering, tokenizing and choice scoring stay local, each ``generate`` call is cut into
    chunks of ``chunk`` prompts spread over the actors. Sampled outputs are the same for any
    number of workers (they depend on ``chunk``), but not the in-process draws; greedy outputs are.
    """

    def __init__(self, local: Any, pool: WorkerPool, chunk: int = POOLED_CHUNK) -> None:
        self.local, self.pool, self.chunk = local, pool, chunk

    def generate(
        self,
        prompts: Sequence[str],
        config: GenerationConfig,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        return pool_generate(self.pool, prompts, config, self.chunk, progress)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)


@contextmanager
def generation_model(
    model: str,
    workers: int | None,
    options: dict[str, Any],
    ray_address: str | None = None,
) -> Iterator[Any]:
    """``load_model(model, **options)``, with its ``generate`` on ``workers`` Ray actors if set."""
    from culturealign.models import load_model

    if ray_address and not workers:
        raise CultureAlignError("--ray-address needs --workers", "add --workers N")
    local = load_model(model, **options)
    if not workers:
        yield local
        return
    with WorkerPool(model, workers, options, ray_address) as pool:
        yield PooledModel(local, pool)
