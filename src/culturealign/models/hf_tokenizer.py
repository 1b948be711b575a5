"""Load a saved fast tokenizer from its ``tokenizer.json`` without transformers' detours.

For a local folder saved by transformers 5 (``"backend": "tokenizers"`` in
tokenizer_config.json), ``AutoTokenizer.from_pretrained`` parses the 33 MB ``tokenizer.json``
of gemma-3 twice in Python (once for the added tokens, missing from the config; once to pull
out vocabulary and merges) and then rebuilds the Rust tokenizer from those Python objects,
because ``GemmaTokenizer`` defines its own ``__init__``. The generic class reads the file once,
in Rust, into the same tokenizer: ``load_tokenizer`` checks nothing at run time, so
tests/models/test_hf_tokenizer.py compares the serialized pipelines, special tokens and
encodings of both paths on the embedded models. That cuts gemma's tokenizer load to about a
third (relative, same process); smollm2's was already generic.

Anything else (hub ids, revisions, remote code, slow or sentencepiece-only folders) goes
through ``AutoTokenizer`` unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_tokenizer(
    path: str | Path, revision: str | None = None, trust_remote_code: bool = False
) -> Any:
    """The tokenizer saved at ``path``: the direct fast path when it applies, else AutoTokenizer."""
    folder = Path(path)
    config_file = folder / "tokenizer_config.json"
    if (
        revision is None
        and not trust_remote_code
        and (folder / "tokenizer.json").is_file()
        and config_file.is_file()
    ):
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("backend") == "tokenizers" and "auto_map" not in config:
            return _direct(folder, config)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        path, revision=revision, trust_remote_code=trust_remote_code
    )


def _direct(folder: Path, config: dict[str, Any]) -> Any:
    """The generic fast class on ``tokenizer.json``, with the saved class's Python defaults.

    An empty ``added_tokens_decoder`` stops transformers from re-reading tokenizer.json for
    its added tokens: the Rust tokenizer loads them from the file itself.
    """
    from transformers import PreTrainedTokenizerFast
    from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

    tok = PreTrainedTokenizerFast.from_pretrained(folder, added_tokens_decoder={})
    saved_class = tokenizer_class_from_name(str(config.get("tokenizer_class", "")))
    if saved_class is not None:  # class attributes the generic class lacks (gemma: left padding)
        if "padding_side" not in config:
            tok.padding_side = saved_class.padding_side
        tok.model_input_names = list(saved_class.model_input_names)
    return tok
