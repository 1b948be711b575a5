"""Tiny reward-model fixtures built from configs (no hub): a causal LM and a BERT reward model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory) -> Path:
    """A 2-layer random gemma-3 (real embedded tokenizer) saved as a model folder."""
    from tests.alignment.conftest import tiny_model

    model, tok = tiny_model("gemma-3-270m")
    folder = tmp_path_factory.mktemp("tiny-gemma")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_rm(tmp_path_factory) -> Path:
    """A random 1-output BERT sequence classifier with a WordPiece tokenizer built here."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert-rm")
    words = "the a is was to of and not wrong ok good bad he she it did help hit stole gave".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tok.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder
