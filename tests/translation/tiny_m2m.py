"""A tiny M2M100 translator built locally: a sentencepiece model trained on a few sentences,
a real ``M2M100Tokenizer`` over it, and a randomly initialised ``M2M100ForConditionalGeneration``
from a config. Its translations are noise, but every step of the seq2seq code path is real.
"""

from __future__ import annotations

import json
from pathlib import Path

SENTENCES = [
    "I stole money from my friend's wallet.",
    "I gave my seat to an elderly person on the train.",
    "友達の財布からお金を盗んだ。",
    "電車で高齢者に席を譲った。",
    "The signal was red so I stepped on the brake.",
    "信号が赤信号だったため車のブレーキを踏んだ",
] * 20


def build_tiny_m2m(folder: Path) -> Path:
    import sentencepiece as spm
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spm"),
        vocab_size=64,
        character_coverage=1.0,
        model_type="unigram",
        minloglevel=2,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        pad_id=-1,
    )
    sp = spm.SentencePieceProcessor(model_file=str(folder / "spm.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # language tokens (__ja__ ...) and 8 made-up words get ids after the vocab: +128 covers them
    tok = M2M100Tokenizer(str(folder / "vocab.json"), str(folder / "spm.model"))
    out = folder / "model"
    tok.save_pretrained(out)
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=len(vocab) + 128,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    M2M100ForConditionalGeneration(config).save_pretrained(out)
    return out
