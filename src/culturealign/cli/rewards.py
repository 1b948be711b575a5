"""Reward-model commands: ``rm-eval``, ``prefs from-rm``, ``train rm`` (issue 10).

``from-rm`` joins the ``prefs`` group and ``rm`` the ``train`` group (imported from
cli/train.py, which stays untouched); heavy imports live inside the command bodies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from culturealign.alignment.config import describe
from culturealign.cli.scale_options import RayAddress, Workers
from culturealign.cli.train import ReportTo, prefs_app, train_app
from culturealign.errors import CultureAlignError
from culturealign.rewards.config import RMConfig

console = Console(stderr=True)
out_console = Console()
R = RMConfig

RewardOpt = Annotated[
    str,
    typer.Option(
        "--reward-model",
        "--rm",
        help="Reward model: a `train rm` folder, or a sequence-classification model folder or "
        "hub id (the study: OpenAssistant/reward-model-deberta-v3-large-v2).",
    ),
]
Threads = Annotated[int | None, typer.Option(help="CPU threads.")]
Device = Annotated[str | None, typer.Option(help="cpu or cuda[:n]; default cuda when present.")]


def rm_eval(
    reward_model: RewardOpt,
    out: Annotated[Path, typer.Option(help="Output folder: scores.jsonl, rm_eval.json.")],
    task: Annotated[str, typer.Option(help="Only jcm-pairs (the study's check).")] = "jcm-pairs",
    split: Annotated[str, typer.Option(help="JCM split: train/val/test.")] = "test",
    sentence_as: Annotated[
        str,
        typer.Option(
            help="How a lone sentence is fed: answer (empty question; our default), "
            "question (empty answer), single (one text, no pair encoding). The paper does "
            "not say."
        ),
    ] = "answer",
    limit: Annotated[int | None, typer.Option(help="Only the first N pairs.")] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs per batch.")] = 32,
    path: Annotated[Path | None, typer.Option(help="JCM file or folder override.")] = None,
    device: Device = None,
    threads: Threads = None,
) -> None:
    """Reward-model accuracy on JCM minimal pairs: does 'not wrong' outscore 'wrong'?"""
    from culturealign.rewards.evaluate import eval_pairs
    from culturealign.rewards.model import SENTENCE_FEEDS, load_reward_model
    from culturealign.rewards.pairs import jcm_pairs

    if task != "jcm-pairs":
        raise CultureAlignError(f"unknown rm-eval task {task!r}", "use --task jcm-pairs")
    if sentence_as not in SENTENCE_FEEDS:
        raise CultureAlignError(
            f"unknown --sentence-as {sentence_as!r}", f"use one of {list(SENTENCE_FEEDS)}"
        )
    pairs = jcm_pairs(split, path)[:limit]
    rm = load_reward_model(reward_model, device=device, threads=threads)
    result = eval_pairs(
        rm,
        pairs,
        out,
        sentence_as,
        batch_size,
        split,  # type: ignore[arg-type]
        on_batch=lambda done, total: console.print(f"rm-eval {done}/{total} pairs"),
    )
    out_console.print(
        f"pair accuracy {result['accuracy']:.3f} [95% CI {result['ci_low']:.3f}, "
        f"{result['ci_high']:.3f}] on {len(pairs)} {split} pairs; paper (OpenAssistant RM): "
        f"{result['paper_accuracy_openassistant']}"
    )


def from_rm_cmd(
    model: Annotated[str, typer.Option(help="Policy model that samples the two responses.")],
    reward_model: RewardOpt,
    instructions: Annotated[Path, typer.Option(help="JSONL or CSV of instructions.")],
    out: Annotated[Path, typer.Option(help="Output prefs JSONL (train dpo's format).")],
    column: Annotated[
        str | None, typer.Option(help="Instruction column (default: instruction/prompt/...).")
    ] = None,
    adapter: Annotated[Path | None, typer.Option(help="LoRA adapter on the policy.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N instructions.")] = None,
    temperature: Annotated[float, typer.Option(help="Paper: 1.0.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Paper: 0.7.")] = 0.7,
    max_new_tokens: Annotated[int, typer.Option(help="Paper: 256.")] = 256,
    max_instruction_tokens: Annotated[int, typer.Option(help="Paper: 256.")] = 256,
    seed: Annotated[int, typer.Option(help="Sampling seed (per batch: seed + batch number).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Instructions per batch (2 samples each).")] = 8,
    device: Device = None,
    threads: Threads = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Sample two responses per instruction, keep the reward model's preferred one as chosen."""
    from culturealign.evaluation.parallel import generation_model
    from culturealign.rewards.from_rm import Decoding, from_rm, read_instructions
    from culturealign.rewards.model import load_reward_model

    rows = read_instructions(instructions, column)[:limit]
    decoding = Decoding(temperature, top_p, max_new_tokens, max_instruction_tokens, seed)
    options = {"adapter": adapter, "device": device, "threads": threads}
    with generation_model(model, workers, options, ray_address) as policy:
        rm = load_reward_model(reward_model, device=device, threads=threads)
        summary = from_rm(
            policy,
            rm,
            rows,
            out,
            decoding,
            batch_size,
            source=str(instructions),
            on_batch=lambda done, total: console.print(f"from-rm {done}/{total} instructions"),
        )
    out_console.print(
        f"{summary['pairs']} pairs -> {out}; dropped {summary['dropped']} "
        f"(scores: {out.with_suffix('.scores.jsonl')})"
    )


def train_rm_cmd(
    model: Annotated[str, typer.Option(help=describe(R, "model"))],
    out: Annotated[Path, typer.Option(help=describe(R, "out"))],
    pairs: Annotated[Path | None, typer.Option(help=describe(R, "pairs"))] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/JSON config file.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint.")] = False,
    epochs: Annotated[float | None, typer.Option(help=describe(R, "epochs"))] = None,
    max_steps: Annotated[int | None, typer.Option(help=describe(R, "max_steps"))] = None,
    max_minutes: Annotated[float | None, typer.Option(help=describe(R, "max_minutes"))] = None,
    learning_rate: Annotated[
        float | None, typer.Option("--lr", "--learning-rate", help=describe(R, "learning_rate"))
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help=describe(R, "batch_size"))] = None,
    scheduler: Annotated[str | None, typer.Option(help=describe(R, "scheduler"))] = None,
    lora_layers: Annotated[int | None, typer.Option(help=describe(R, "lora_layers"))] = None,
    limit: Annotated[int | None, typer.Option(help=describe(R, "limit"))] = None,
    seed: Annotated[int | None, typer.Option(help=describe(R, "seed"))] = None,
    save_every: Annotated[int | None, typer.Option(help=describe(R, "save_every"))] = None,
    threads: Threads = None,
    report_to: ReportTo = "none",
    set_: Annotated[
        list[str], typer.Option("--set", help="Any config field, key=value (lora.r=8).")
    ] = [],  # noqa: B006 (typer needs a literal default)
) -> None:
    """Train a reward model (Bradley-Terry, LoRA + scalar head); default data: JCM train pairs."""
    given = dict(locals())
    from culturealign.alignment.config import resolve_config
    from culturealign.alignment.fast_trainer import CHECKPOINTS, latest_checkpoint
    from culturealign.rewards.train import train_rm
    from culturealign.tracking import chain, parse_report_to, step_tracking

    trackers = parse_report_to(report_to)
    skip = {"config", "resume", "set_", "report_to"}
    options = {k: v for k, v in given.items() if k not in skip and v is not None}
    cfg = resolve_config(RMConfig, config, options, _sets(set_))
    if latest_checkpoint(cfg.out) is not None and not resume:
        raise CultureAlignError(
            f"{cfg.out} holds checkpoints of an earlier run", "add --resume, or pick a new --out"
        )
    params = cfg.model_dump(mode="json")
    batch = cfg.batch_size * cfg.grad_accum
    with step_tracking(trackers, cfg.out / CHECKPOINTS, cfg.out.name, params, batch) as track:
        summary = train_rm(cfg, on_step=chain(_step_printer(), track))
    shown = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    out_console.print(" ".join(f"{k}={v}" for k, v in shown.items()))
    out_console.print(f"reward model: {cfg.out}  (evaluate: culturealign rm-eval --rm {cfg.out})")


def _step_printer() -> Any:
    def hook(step: int, total: int, record: dict[str, Any]) -> None:
        keys = ("loss", "reward_accuracy", "margin", "elapsed_s")
        console.print(f"step {step}/{total} " + json.dumps({k: record.get(k) for k in keys}))

    return hook


def _sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CultureAlignError(f"bad --set {pair!r}", "write it as key=value")
        out[key.strip()] = value.strip()
    return out


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
    app.command("rm-eval")(rm_eval)
    prefs_app.command("from-rm")(from_rm_cmd)
    train_app.command("rm")(train_rm_cmd)
