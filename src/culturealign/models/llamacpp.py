"""llama.cpp in-process backend (llama-cpp-python): any GGUF file, quantized, on a laptop CPU.

``--model llamacpp:<path.gguf>`` or ``llamacpp:<embedded name>`` (the GGUF the embedded model
ships as, not its de-quantized copy). Options after ``#``: ``n_ctx=4096``, ``chat=0|1``,
``parallel=16`` (sequences generated at once; 1: one at a time through ``create_completion``),
``head=bf16`` (run a copy of the file whose output layer is BF16: faster on a CPU with
AVX512-BF16 for a large-vocabulary model; written once in the culturealign cache, see
:mod:`culturealign.models.gguf_rewrite`).

Choice scoring follows the HF backend's token convention (context tokenized as one string with
BOS, each choice alone) and reads log-probabilities from llama.cpp's per-position logits
(``logits_all``). Consecutive requests share their longest common token prefix (the few-shot
block): llama.cpp keeps that part of the KV cache and evaluates only the rest. Generation
decodes ``parallel`` prompts at once (:mod:`culturealign.models.llamacpp_batch`); with
``parallel=1`` it goes through ``create_completion`` with ``repeat_penalty=1``, the reference the
batched path is tested against. Greedy means plain argmax in both, as in the other backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from culturealign.errors import CultureAlignError
from culturealign.models.base import (
    ChatMessage,
    ChoiceRequest,
    GenerationConfig,
    ModelInfo,
    Progress,
)
from culturealign.models.llamacpp_batch import BatchedGenerator

DEFAULT_N_CTX = 4096
DEFAULT_PARALLEL = 16


class LlamaCppModel:
    def __init__(
        self,
        llm: Any,
        info: ModelInfo,
        chat: bool,
        tokenizer: Any = None,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        self.llm = llm
        self.info = info
        self._chat = chat
        self._tokenizer = tokenizer  # an HF tokenizer for the chat template, when one is known
        self.work: dict[str, int] = {"tokens_evaluated": 0, "tokens_reused": 0}
        self.parallel = 1
        self._batched: BatchedGenerator | None = None
        self.set_parallel(parallel)

    def set_parallel(self, parallel: int) -> None:
        """Generate ``parallel`` sequences at once (1: one by one); a bad value fails here."""
        if parallel < 1:
            raise CultureAlignError(f"parallel={parallel}", "use a parallel= option >= 1")
        batched = BatchedGenerator(self.llm, parallel) if parallel > 1 else None
        if self._batched is not None:
            self._batched.close()
        self.parallel, self._batched = parallel, batched
        self.info.extra["parallel"] = parallel

    @property
    def is_chat(self) -> bool:
        return self._chat

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        dicts = [{"role": m.role, "content": m.content} for m in messages]
        if self._tokenizer is not None:
            return str(
                self._tokenizer.apply_chat_template(
                    dicts, tokenize=False, add_generation_prompt=True
                )
            )
        # The GGUF's own template (tokenizer.chat_template metadata), as llama.cpp renders it.
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise CultureAlignError(f"{self.info.path} has no chat template", "run with --no-chat")
        formatter = Jinja2ChatFormatter(
            template,
            eos_token=self._piece(self.llm.token_eos()),
            bos_token=self._piece(self.llm.token_bos()),
        )
        return str(formatter(messages=dicts).prompt)  # type: ignore[arg-type]

    def _piece(self, token: int) -> str:
        return bytes(self.llm.detokenize([token], special=True)).decode("utf-8", "replace")

    def tokenize(self, text: str, bos: bool) -> list[int]:
        if not text:
            return []
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    def choice_logprobs(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float]]:
        out = []
        for request in requests:
            context = self.tokenize(request.prefix + request.text, bos=True)
            out.append([self._score(context, self.tokenize(c, bos=False)) for c in request.choices])
            if progress:
                progress(1)
        return out

    def _score(self, context: list[int], choice: list[int]) -> float:
        ids = context + choice
        self._feed(ids)
        logits = np.asarray(self.llm.scores[len(context) - 1 : len(ids) - 1], dtype=np.float64)
        top = logits.max(axis=1, keepdims=True)
        logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        return float(sum(logits[j, t] - logz[j] for j, t in enumerate(choice)))

    def _feed(self, ids: list[int]) -> None:
        """Evaluate ``ids``, keeping the KV cache (and logits) of the prefix already evaluated.

        Every evaluated position gets its logits (``logits_all``). Evaluating the context
        without logits and only its last token with them was tried: llama.cpp then gave
        log-probabilities up to 0.15 away from the full evaluation's (only 91 of 100 JCM
        predictions equal to HF's), so the LM head runs at every position.
        """
        llm = self.llm
        common = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], ids, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(ids) - 1)  # re-evaluate at least the last token
        llm.n_tokens = common  # eval() drops the KV cache from here on
        llm.eval(ids[common:])
        self.work["tokens_evaluated"] += len(ids) - common
        self.work["tokens_reused"] += common

    def generate(
        self, prompts: Sequence[str], config: GenerationConfig, progress: Progress | None = None
    ) -> list[str]:
        if self._batched is not None:
            tokens = [list(self.llm.tokenize(p.encode("utf-8"), special=True)) for p in prompts]
            return self._batched.generate(tokens, config, progress)
        return self._generate_one_by_one(prompts, config, progress)

    def _generate_one_by_one(
        self, prompts: Sequence[str], config: GenerationConfig, progress: Progress | None = None
    ) -> list[str]:
        out = []
        self.llm._logits_all = False  # sampling needs the last position's logits only
        try:
            for prompt in prompts:
                result = self.llm.create_completion(
                    prompt,
                    max_tokens=config.max_new_tokens,
                    temperature=config.temperature,
                    top_p=config.top_p,
                    top_k=config.top_k if config.temperature > 0 else 40,  # 0: off
                    min_p=0.0,
                    repeat_penalty=1.0,
                    seed=config.seed,
                    stop=list(config.stop) or None,
                )
                out.append(str(result["choices"][0]["text"]))
                if progress:
                    progress(1)
        finally:
            self.llm._logits_all = True
        return out


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    path, _, opts = spec.partition("#")
    options: dict[str, Any] = {}
    for pair in filter(None, opts.split(",")):
        key, eq, value = pair.partition("=")
        if key == "n_ctx" and eq:
            options["n_ctx"] = int(value)
        elif key == "chat" and eq:
            options["chat"] = value.lower() in ("1", "true", "yes")
        elif key == "parallel" and eq and value.isdigit() and int(value) >= 1:
            options["parallel"] = int(value)
        elif key == "head" and value.lower() == "bf16":
            options["head"] = "bf16"
        else:
            raise CultureAlignError(
                f"bad option {pair!r} in {spec!r}",
                "options: n_ctx=<int>, chat=0|1, parallel=<int >= 1>, head=bf16",
            )
    return path, options


def load_llamacpp(
    spec: str,
    name: str | None = None,
    adapter: str | Path | None = None,
    threads: int | None = None,
    n_ctx: int | None = None,
    chat: bool | None = None,
    **_: Any,
) -> LlamaCppModel:
    """Registry loader: ``spec`` is a GGUF path or an embedded model name, with ``#options``."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    from culturealign.models.compat import available_cores
    from culturealign.models.embedded import EMBEDDED, ensure_converted

    if adapter is not None:
        raise CultureAlignError(
            "the llamacpp backend does not load PEFT adapters",
            "merge the adapter (culturealign export) and convert it to GGUF, or use the hf backend",
        )
    target, options = parse_spec(spec)
    n_ctx = n_ctx or options.get("n_ctx", DEFAULT_N_CTX)
    chat = options.get("chat", chat)
    tokenizer = None
    if target in EMBEDDED:
        embedded = EMBEDDED[target]
        path = embedded.gguf_path()
        chat = embedded.chat if chat is None else chat
        if chat:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(ensure_converted(target))
    else:
        path = Path(target).expanduser()
        if not path.is_file():
            raise CultureAlignError(
                f"GGUF file not found: {target}",
                f"give a .gguf file or one of: {', '.join(EMBEDDED)}",
            )
    source = path
    if options.get("head") == "bf16":
        path = bf16_head_copy(path)
    threads = threads or available_cores()
    try:
        # verbose=False quiets the model load, not the context's KV-cache notices
        with suppress_stdout_stderr(disable=False):
            llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=512,
                logits_all=True,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
    except ValueError as exc:
        raise CultureAlignError(
            f"llama.cpp cannot load {path}: {exc}", "check it is a GGUF file llama.cpp supports"
        ) from exc
    meta = llm.metadata
    if chat is None:
        chat = bool(meta.get("tokenizer.chat_template"))
    import llama_cpp

    info = ModelInfo(
        name=name or f"llamacpp:{spec}",  # as given: tables tell it from the HF model
        backend="llamacpp",
        path=str(path),
        dtype=_file_type(meta),
        device="cpu",
        chat_template=chat,
        extra={
            "threads": threads,
            "n_ctx": n_ctx,
            "llama_cpp_python": llama_cpp.__version__,
            "architecture": meta.get("general.architecture"),
            **({"head": "bf16", "source": str(source)} if path != source else {}),
        },
    )
    parallel = options.get("parallel", DEFAULT_PARALLEL)
    return LlamaCppModel(llm, info, chat=chat, tokenizer=tokenizer, parallel=parallel)


def _file_type(meta: dict[str, str]) -> str | None:
    """GGUF ``general.file_type`` as llama.cpp's name for it (e.g. ``Q4_K_M``)."""
    names = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 15: "Q4_K_M", 17: "Q5_K_M"}
    raw = meta.get("general.file_type")
    if raw is None:
        return None
    return names.get(int(raw), f"gguf_file_type_{raw}")


def bf16_head_copy(path: Path) -> Path:
    """The cached copy of ``path`` with a BF16 output layer, written on first use."""
    import logging
    import platform

    import llama_cpp

    from culturealign.models.gguf_rewrite import bf16_head_gguf, cached_copy

    log = logging.getLogger(__name__)
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    if x86 and b"AVX512_BF16 = 1" not in llama_cpp.llama_print_system_info():
        log.warning(
            "this llama.cpp build has no AVX512-BF16 kernels: head=bf16 may be slower than the "
            "file's own output layer here"
        )

    def write(src: Path, dst: Path) -> Path:
        log.info("writing %s (once): %s with a BF16 output layer", dst, src.name)
        return bf16_head_gguf(src, dst)

    return cached_copy(path, "bf16-head", write)
