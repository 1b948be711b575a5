"""``translate``: machine-translate a dataset (issue 10); ``--check`` measures quality."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from culturealign.cli.scale_options import RayAddress, Workers

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
    app.command(name="translate")(translate)


def translate(
    source: Annotated[str, typer.Argument(help="jcm, ethics, or a CSV/TSV/JSONL file.")],
    to: Annotated[str, typer.Option("--to", help="Target language code (ja, en, ...).")],
    out: Annotated[Path, typer.Option(help="Output .csv or .jsonl (same columns).")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Source language (default: ja for jcm, en for ethics)."),
    ] = None,
    translator: Annotated[
        str | None,
        typer.Option(
            help="seq2seq:<id> (HF seq2seq, beam search), lm:<id> (culturealign model, few-shot), "
            "or a bare id. Default: the study's WMT21 model for ja<->en."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Split of jcm/ethics.")] = "train",
    limit: Annotated[int | None, typer.Option(help="Translate only the first N rows.")] = None,
    text_column: Annotated[str, typer.Option(help="Column to translate (files).")] = "text",
    beams: Annotated[
        int | None, typer.Option(help="Beam width, seq2seq (default 5, the study).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Sentences per batch (default 8).")] = None,
    max_length: Annotated[
        int | None, typer.Option(help="Max tokens in/out, seq2seq (default 256).")
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="Max new tokens, lm (default 96).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads.")] = None,
    check: Annotated[
        bool, typer.Option(help="Also measure round-trip chrF/BLEU on a sample.")
    ] = False,
    check_sample: Annotated[int, typer.Option(help="Sentences in the round-trip sample.")] = 50,
    back_translator: Annotated[
        str | None,
        typer.Option(
            help="Translator for the way back (default: same as --translator, or the study's)."
        ),
    ] = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Translate a dataset's text column; labels, ids and other columns are carried over."""
    from culturealign.translation import make_translator
    from culturealign.translation.run import meta_path

    rows, meta_source, src = _source_rows(source, split, limit, text_column, from_)
    options = _options(
        beams=beams,
        batch_size=batch_size,
        max_length=max_length,
        max_new_tokens=max_new_tokens,
        threads=threads,
    )
    name = translator or _default(src, to)
    with _pooled_lm(name, workers, threads, ray_address) as lm:
        forward = make_translator(name, src, to, options | ({"lm": lm} if lm else {}))
        meta = _run(rows, forward, out, meta_source, text_column)
        console.print(
            f"wrote {out} ({meta['rows']} rows, {meta['cache_hits']} from cache, "
            f"{meta['seconds']} s wall, {meta['cpu_seconds']} s CPU); provenance: {meta_path(out)}"
        )
        if check:
            from culturealign.paths import write_json_atomic
            from culturealign.translation import round_trip
            from culturealign.translation.quality import sample

            back_opts = {k: v for k, v in options.items() if k in ("threads", "batch_size")}
            same = {**options, **({"lm": lm} if lm else {})}  # the way back on the same model
            backward = make_translator(
                back_translator or translator or _default(to, src),
                to,
                src,
                same if back_translator is None else back_opts,
            )
            texts = [str(r.get(text_column) or "") for r in rows]
            report = round_trip(forward, backward, sample(texts, check_sample), src)
            report["all_rows"] = meta["failure_shares"]
            write_json_atomic(out.with_name(out.name + ".check.json"), report)
            shares = report["all_rows"]
            console.print(
                f"round trip {src}->{to}->{src} on {report['sentences']} sentences: "
                f"chrF {report['chrf']}, BLEU {report['bleu']}; "
                f"all rows: empty {shares['empty']:.1%}, unchanged {shares['unchanged']:.1%}, "
                f"wrong script {shares['wrong_script']:.1%}"
            )


@contextmanager
def _pooled_lm(
    name: str, workers: int | None, threads: int | None, ray_address: str | None
) -> Iterator[Any]:
    """With ``--workers``: the ``lm:`` translator's model, generating on Ray actors; else None
    (the translator loads its model itself)."""
    from culturealign.errors import CultureAlignError
    from culturealign.evaluation.parallel import generation_model
    from culturealign.translation.translators import translator_kind

    if not workers and not ray_address:
        yield None
        return
    kind, model = translator_kind(name)
    if kind != "lm":
        raise CultureAlignError(
            "--workers spreads an lm: translator over Ray actors; a seq2seq translator runs "
            "in this process",
            "drop --workers, or use --translator lm:<model>",
        )
    options = {"threads": threads} if threads else {}
    with generation_model(model, workers, options, ray_address) as lm:
        yield lm


def _default(src: str, to: str) -> str:
    from culturealign.errors import CultureAlignError
    from culturealign.translation import STUDY_TRANSLATORS

    if (src, to) not in STUDY_TRANSLATORS:
        raise CultureAlignError(f"no default translator for {src}->{to}", "give --translator")
    return "seq2seq:" + STUDY_TRANSLATORS[src, to]


def _options(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


def _source_rows(
    source: str, split: str, limit: int | None, text_column: str, from_: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    from culturealign.errors import CultureAlignError
    from culturealign.translation import read_rows

    if source in ("jcm", "ethics"):
        from culturealign.data.judgements import load_named

        data = load_named(source, split).head(limit)
        rows = [{"id": j.id, "text": j.text, "label": j.label} for j in data.items]
        if text_column != "text":
            raise CultureAlignError("--text-column applies to files only", "drop it")
        meta = {"name": data.name, "split": data.split, "sha256": data.sha256, "path": data.source}
        return rows, meta, from_ or data.language
    path = Path(source)
    if from_ is None:
        raise CultureAlignError(
            f"the language of {path} is not known", "give --from (e.g. --from en)"
        )
    rows = read_rows(path, text_column)[:limit]
    from culturealign.data.sources import sha256_of

    return rows, {"name": path.stem, "path": str(path), "sha256": sha256_of(path)}, from_


def _run(
    rows: list[dict[str, Any]], translator: Any, out: Path, source: dict[str, Any], text_column: str
) -> dict[str, Any]:
    import time

    from culturealign.progress import progress
    from culturealign.translation import translate_rows

    start, done = time.perf_counter(), [0]
    with progress(console, stats=True) as bar:
        name = translator.identity["model"]
        tid: Any = bar.add_task(f"[bold]translate {name}[/]", total=len(rows), stats="")

        def advance(n: int) -> None:
            # sentences/s over the whole run (cache hits count: they are sentences done)
            done[0] += n
            rate = done[0] / max(time.perf_counter() - start, 1e-9)
            bar.update(tid, completed=done[0], stats=f"{rate:.2f} sentences/s")

        return translate_rows(rows, translator, out, source, text_column, progress=advance)
