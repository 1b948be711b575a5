"""Translation quality, measured: round-trip chrF/BLEU on a sample, and failure shares.

A round trip translates the sample to the target language and back, and scores the back
translation against the original with sacrebleu (chrF, and BLEU with character tokenization
for Japanese/Chinese, 13a otherwise). It measures the pair of directions, not one, and a
translator that copies its input scores high on it: the "unchanged" and "wrong script"
shares of the forward outputs are reported beside it for that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from culturealign.translation.run import failure_shares, translate_texts
from culturealign.translation.translators import Translator


def round_trip(
    forward: Translator, backward: Translator, texts: Sequence[str], source: str
) -> dict[str, Any]:
    """chrF and BLEU of ``backward(forward(texts))`` against ``texts`` (sacrebleu corpus scores)."""
    import sacrebleu

    there, _ = translate_texts(forward, texts)
    back, _ = translate_texts(backward, there)
    refs = [list(texts)]
    tokenize = "char" if source in ("ja", "zh") else "13a"
    return {
        "sentences": len(texts),
        "chrf": round(sacrebleu.corpus_chrf(back, refs).score, 2),
        "bleu": round(sacrebleu.corpus_bleu(back, refs, tokenize=tokenize).score, 2),
        "bleu_tokenize": tokenize,
        "forward": forward.identity,
        "backward": backward.identity,
        **{
            k: round(v, 4)
            for k, v in failure_shares(texts, there, forward.identity["target"]).items()
        },
        "examples": [
            {"source": s, "translation": t, "back": b}
            for s, t, b in list(zip(texts, there, back, strict=True))[:5]
        ],
    }


def sample(texts: Sequence[str], n: int) -> list[str]:
    """Every k-th non-empty text, ``n`` of them: spread over the file, deterministic."""
    pool = [t for t in texts if t.strip()]
    if n <= 0 or not pool:
        return []
    step = max(len(pool) // n, 1)
    return pool[::step][:n]
