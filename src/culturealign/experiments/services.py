"""The experiment services: what the executor needs from the rest of culturealign, as one
small protocol.

The executor never imports models, pair builders or trainers directly; it calls
:class:`Services`. :class:`LibraryServices` is the real implementation (transformers models,
the preference builder and the DPO + LoRA recipe of :mod:`culturealign.alignment`); tests pass
a fake one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from culturealign.data.records import JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.experiments.spec import ModelSpec, PairsSpec, TranslationSpec
from culturealign.models.base import LanguageModel

PAIRS_FILE = "pairs.jsonl"
TRANSLATED_FILE = "translated.jsonl"  # + .meta.json (provenance) and check.json (round trip)
CHECK_FILE = "check.json"
ADAPTER_DIR = "adapter"

# Fields of the training config that change speed or bookkeeping, never the trained weights;
# they stay out of the cache key so that, e.g., more threads do not force a retrain.
_NOT_IN_KEY = {"model", "out", "prefs", "threads", "save_every", "keep_checkpoints"}


class Services(Protocol):
    def load(self, model: ModelSpec, adapter: Path | None) -> LanguageModel:
        """The model (with a LoRA adapter on top when given), ready to evaluate."""

    def pairs_version(self) -> str:
        """Changes whenever the pair builder's output can change (part of the cache key)."""

    def build_pairs(
        self, data: JudgementSet, pairs: PairsSpec, model: LanguageModel, out: Path
    ) -> int:
        """Write preference pairs for ``data`` to ``out`` (JSONL); returns the count."""

    def training_identity(self, model: ModelSpec, config: dict[str, Any]) -> dict[str, Any]:
        """The validated, fully resolved training config (defaults filled in) for hashing."""

    def translation_identity(self, translation: TranslationSpec) -> dict[str, Any]:
        """Translator ids and settings (defaults filled in, threads left out) for hashing."""

    def translate(
        self, data: JudgementSet, translation: TranslationSpec, out: Path, progress: Any
    ) -> None:
        """Write ``data`` translated to ``out / TRANSLATED_FILE`` and its check to CHECK_FILE."""

    def train(
        self, model: ModelSpec, prefs: Path, config: dict[str, Any], out: Path, console: Any
    ) -> None:
        """Train an adapter on ``prefs`` into ``out / ADAPTER_DIR``, resuming what is there."""


class LibraryServices:
    """The real services: culturealign's model registry, pair builder and DPO + LoRA recipe."""

    def load(self, model: ModelSpec, adapter: Path | None) -> LanguageModel:
        from culturealign.models import load_model

        options: dict[str, Any] = {"threads": model.threads}
        if model.dtype:
            options["dtype"] = model.dtype
        if model.revision:
            options["revision"] = model.revision
        return load_model(model.id, adapter=adapter, **options)

    def pairs_version(self) -> str:
        import culturealign.evaluation.tasks  # noqa: F401  (fills TASK_VERSIONS)
        from culturealign.evaluation.task import TASK_VERSIONS

        # Pairs reuse the evaluation prompt, so a prompt change (a task version bump) is a
        # pair change too.
        return f"from_labels-1/prompt-{TASK_VERSIONS['jcm']}"

    def build_pairs(
        self, data: JudgementSet, pairs: PairsSpec, model: LanguageModel, out: Path
    ) -> int:
        from culturealign.alignment import pairs_from_judgements, write_pairs

        chat = model.render_chat if model.is_chat else None
        built = pairs_from_judgements(
            data, pairs.prompt_language, chat=chat, chat_name=model.info.name if chat else None
        )
        return write_pairs(out, built)

    def training_identity(self, model: ModelSpec, config: dict[str, Any]) -> dict[str, Any]:
        cfg = self._config(model, Path("prefs.jsonl"), config, Path("out"))
        return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_IN_KEY}

    def translation_identity(self, translation: TranslationSpec) -> dict[str, Any]:
        forward, backward = _translators(translation)
        drop = ("threads", "batch_size")  # speed only
        ids = [{k: v for k, v in t.identity.items() if k not in drop} for t in (forward, backward)]
        return {"forward": ids[0], "backward": ids[1], "check_sample": translation.check_sample}

    def translate(
        self, data: JudgementSet, translation: TranslationSpec, out: Path, progress: Any
    ) -> None:
        from culturealign.paths import write_json_atomic
        from culturealign.translation import round_trip, translate_rows
        from culturealign.translation.quality import sample

        forward, backward = _translators(translation)
        rows = [{"id": j.id, "text": j.text, "label": j.label} for j in data.items]
        source = {"name": data.name, "split": data.split, "sha256": data.sha256, "n": len(rows)}
        translate_rows(rows, forward, out / TRANSLATED_FILE, source, progress=progress)
        texts = [j.text for j in data.items]
        if translation.check_sample:
            report = round_trip(
                forward, backward, sample(texts, translation.check_sample), forward.source
            )
            write_json_atomic(out / CHECK_FILE, report)

    def train(
        self, model: ModelSpec, prefs: Path, config: dict[str, Any], out: Path, console: Any
    ) -> None:
        from culturealign.alignment.recipes.common import CONFIG_FILE

        adapter = out / ADAPTER_DIR
        # The recipe saved its config on an earlier, killed attempt: continue from its
        # checkpoints. The stage key already guarantees the config is the same.
        resume = (adapter / CONFIG_FILE).is_file()
        _dpo_recipe()(self._config(model, prefs, config, adapter), resume=resume, console=console)

    def _config(self, model: ModelSpec, prefs: Path, config: dict[str, Any], out: Path) -> Any:
        from culturealign.alignment import DPOConfig, resolve_config

        options = {"model": model.id, "prefs": prefs, "out": out, "threads": model.threads}
        return resolve_config(DPOConfig, options={**config, **options})


def _dpo_recipe() -> Callable[..., Any]:
    try:
        from culturealign.alignment.recipes.dpo_lora import run
    except ImportError as exc:
        raise CultureAlignError(
            f"the DPO + LoRA recipe cannot be imported ({exc})", "reinstall culturealign"
        ) from exc
    return run


def _translators(translation: TranslationSpec) -> tuple[Any, Any]:
    from culturealign.translation import make_translator

    t = translation
    if t.translator is None:
        raise CultureAlignError("no translator set", "set data.translated.translator")
    src, tgt = t.source_language, t.target_language
    forward = make_translator(t.translator, src, tgt, t.options)
    back_options = t.options if t.back_translator is None else {}
    backward = make_translator(t.back_translator or t.translator, tgt, src, back_options)
    return forward, backward
