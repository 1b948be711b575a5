"""The direct tokenizer load must give AutoTokenizer's tokenizer: same pipeline, same ids."""

import pytest

from culturealign.data import load_ethics, load_jcm
from culturealign.models.embedded import converted_dir, ensure_converted
from culturealign.models.hf_tokenizer import load_tokenizer

pytestmark = pytest.mark.integration

ATTRIBUTES = (
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "unk_token_id",
    "all_special_ids",
    "all_special_tokens",
    "chat_template",
    "padding_side",
    "truncation_side",
    "model_max_length",
    "model_input_names",
    "added_tokens_decoder",
    "vocab_size",
)


def _texts() -> list[str]:
    jcm = [it.text for it in load_jcm("test").items[:300]]
    ethics = [it.text for it in load_ethics("test").items[:300]]
    shots = "".join(f"{it.text}\n答え: 正\n\n" for it in load_jcm("val").items[:3])
    # prompts as the tasks build them, odd whitespace, and special tokens written as text
    extra = [shots + jcm[0] + "\n答え:", " 誤", "正", "a\n\n", "  two  spaces", "<bos>hi<eos>"]
    return jcm + ethics + extra


@pytest.mark.parametrize("name", ["gemma-3-270m", "smollm2-135m-instruct"])
def test_direct_load_equals_auto_tokenizer(name):
    from transformers import AutoTokenizer

    ensure_converted(name)
    auto = AutoTokenizer.from_pretrained(converted_dir(name))
    direct = load_tokenizer(converted_dir(name))
    assert direct.backend_tokenizer.to_str() == auto.backend_tokenizer.to_str()
    for attr in ATTRIBUTES:
        assert getattr(direct, attr) == getattr(auto, attr), attr
    texts = _texts()
    for special in (True, False):
        assert (
            direct(texts, add_special_tokens=special)["input_ids"]
            == auto(texts, add_special_tokens=special)["input_ids"]
        )
    ids = auto(texts[:50])["input_ids"]
    assert direct.batch_decode(ids, skip_special_tokens=True) == auto.batch_decode(
        ids, skip_special_tokens=True
    )
    if auto.chat_template:
        chat = [{"role": "user", "content": texts[0]}]
        assert direct.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=True
        ) == auto.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def test_hub_style_folder_without_tokenizer_json_uses_auto(tmp_path):
    # No tokenizer.json: the direct path must not apply (AutoTokenizer then reports the folder).
    (tmp_path / "tokenizer_config.json").write_text('{"backend": "tokenizers"}')
    with pytest.raises((OSError, ValueError)):
        load_tokenizer(tmp_path)
