"""Fast DPO log-probs on gemma-3-270m for prompts wider than its 512-token sliding window.

The shared instruction is cached and rows are left-padded after it; a sliding window counts
those pads, so a short row in a wide batch could lose instruction tokens a plain forward sees.
"""

import pytest
import torch

from culturealign.alignment import lora
from culturealign.alignment.config import LoraSettings
from culturealign.alignment.fast_dpo import collate, pair_logps, reference_logps, tokenize_pair
from culturealign.alignment.prefs import PreferencePair
from culturealign.data import load_jcm
from tests.alignment.conftest import perturb_lora

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def policy():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from culturealign.models.embedded import ensure_converted

    path = ensure_converted("gemma-3-270m")
    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
    perturb_lora(model, std=0.05)
    return model.eval(), AutoTokenizer.from_pretrained(path)


def _pairs(tok, shots: int):
    val, test = load_jcm("val").items, load_jcm("test").items
    instruction = "".join(
        f"{it.text}\n答え: {'誤り' if it.label else '正'}\n\n" for it in val[:shots]
    )
    texts = [test[0].text, " ".join(it.text for it in test[1:16]), test[9].text + "。"]
    pairs = [
        PreferencePair(prompt=f"{instruction}{t}\n答え:", chosen=" 正", rejected=" 誤り")
        for t in texts
    ]
    return [tokenize_pair(tok, p) for p in pairs]


def _plain(model, pair) -> list[float]:
    """One unbatched, uncached forward per completion over prompt + completion."""
    out = []
    for completion in (pair.chosen, pair.rejected):
        ids = torch.tensor([pair.prompt + completion])
        logits = model(input_ids=ids, logits_to_keep=len(completion) + 1).logits
        logp = torch.log_softmax(logits.float(), -1)[0]
        out.append(sum(float(logp[j, t]) for j, t in enumerate(completion)))
    return out


@pytest.mark.parametrize("shots", [22, 34])  # shared instruction below and above the window
def test_policy_and_reference_equal_plain_forward(policy, shots):
    model, tok = policy
    tokenized = _pairs(tok, shots)
    lengths = [len(t.prompt) for t in tokenized]
    assert max(lengths) > 512 and min(lengths) < max(lengths) - 100
    assert max(len(t.rejected) for t in tokenized) > 1  # the completion tail path runs
    with torch.no_grad():
        chosen, rejected = pair_logps(model, collate(tokenized, tok.pad_token_id))
        fast = torch.stack([chosen, rejected], dim=1)
        plain = torch.tensor([_plain(model, t) for t in tokenized], dtype=torch.float64)
        with model.disable_adapter():
            plain_ref = torch.tensor([_plain(model, t) for t in tokenized], dtype=torch.float64)
    reference = reference_logps(model, tokenized, tok.pad_token_id)
    assert (plain - plain_ref).abs().max() > 1e-3  # the adapter matters: two distinct checks
    torch.testing.assert_close(fast.double(), plain, atol=1e-4, rtol=0)
    torch.testing.assert_close(reference, plain_ref, atol=1e-4, rtol=0)
