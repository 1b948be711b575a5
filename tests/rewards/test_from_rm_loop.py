"""The loop the study suggests, on the embedded smollm2 (issue 10.2): `train rm` trains a reward
model (and resumes after an interruption exactly where an uninterrupted run would be), then
`prefs from-rm` samples two answers per instruction with the policy and labels them with it
(and resumes a killed run without redoing finished batches); bad input exits 2 with no output.
Tiny on purpose: 3 RM steps on 16 JCM pairs, 4 instructions x 8 new tokens.
"""

from __future__ import annotations

import json

import pytest

from culturealign.rewards.config import RMConfig
from culturealign.rewards.from_rm import Decoding, from_rm, read_instructions
from culturealign.rewards.model import load_reward_model
from culturealign.rewards.train import train_rm
from tests.conftest import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

BASE = "smollm2-135m-instruct"
INSTRUCTIONS = [
    "電車で席を譲るべきですか？",
    "Is it rude to be late?",
    "嘘をつくのは悪いことですか？",
    "Should I return a lost wallet?",
]


def _rm_config(out, **kw) -> RMConfig:
    settings = dict(model=BASE, out=out, max_steps=3, batch_size=2, limit=16, save_every=1,
                    lora_layers=1, threads=2, warmup_ratio=0.0)  # fmt: skip
    return RMConfig(**(settings | kw))


def _losses(folder) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (folder / "curves.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"]) for r in rows]


@pytest.fixture(scope="module")
def trained_rm(tmp_path_factory):
    """An RM trained 3 steps straight through, and one interrupted in step 3, then resumed."""
    root = tmp_path_factory.mktemp("rm")
    straight = train_rm(_rm_config(root / "straight"))

    def stop_in_step_three(step, total, record):
        if step == 3:  # step 3 computed and logged, not saved: the last checkpoint is step 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_rm(_rm_config(root / "resumed"), on_step=stop_in_step_three)
    resumed = train_rm(_rm_config(root / "resumed"))
    return root, straight, resumed


def test_train_rm_resumes_where_an_uninterrupted_run_is(trained_rm):
    root, straight, resumed = trained_rm
    assert straight["resumed_from"] == 0 and resumed["resumed_from"] == 2
    a, b = _losses(root / "straight"), _losses(root / "resumed")
    assert [s for s, _ in b] == [1, 2, 3]  # no step lost or logged twice
    for (_, la), (_, lb) in zip(a, b, strict=True):
        assert la == pytest.approx(lb, abs=1e-5)
    assert (root / "resumed" / "reward_model.json").is_file()


def test_from_rm_with_the_trained_rm_resumes_after_a_kill(trained_rm, smollm, tmp_path):
    root = trained_rm[0]
    inst = tmp_path / "inst.jsonl"
    inst.write_text("".join(json.dumps({"id": f"i{k}", "instruction": t}) + "\n"
                            for k, t in enumerate(INSTRUCTIONS)))  # fmt: skip
    rows = read_instructions(inst)
    rm = load_reward_model(root / "resumed", threads=2)
    decoding = Decoding(max_new_tokens=8)
    straight = from_rm(smollm, rm, rows, tmp_path / "a.jsonl", decoding, batch_size=2)

    def kill_after_first_batch(done, total):
        raise KeyboardInterrupt

    out = tmp_path / "b.jsonl"
    with pytest.raises(KeyboardInterrupt):
        from_rm(smollm, rm, rows, out, decoding, batch_size=2, on_batch=kill_after_first_batch)
    assert not out.exists()  # the prefs file is written only at the end
    work = out.with_suffix(".work.jsonl")
    with work.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "i2", "prompt": "torn')  # a kill in the middle of a write
    generated: list[int] = []

    class Counting:
        def __getattr__(self, name):
            return getattr(smollm, name)

        def generate(self, prompts, config, progress=None):
            generated.append(len(prompts))
            return smollm.generate(prompts, config)

    resumed = from_rm(Counting(), rm, rows, out, decoding, batch_size=2)  # type: ignore[arg-type]
    assert generated == [4]  # only the second batch (2 instructions x 2 samples) was redone
    assert resumed == straight
    assert out.read_text() == (tmp_path / "a.jsonl").read_text()
    score_file = out.with_suffix(".scores.jsonl")
    scores = [json.loads(line) for line in score_file.read_text().splitlines()]
    assert all(s["chosen_score"] > s["rejected_score"] for s in scores)


def test_from_rm_bad_input_exits_2_and_writes_nothing(trained_rm, tmp_path):
    out = tmp_path / "prefs.jsonl"
    bad = tmp_path / "inst.jsonl"
    bad.write_text(json.dumps({"id": "x", "body": "no instruction column"}) + "\n")
    res = run_cli("prefs", "from-rm", "--model", BASE, "--rm", str(trained_rm[0] / "resumed"),
                  "--instructions", str(bad), "--out", str(out))  # fmt: skip
    assert res.returncode == 2 and "no instruction column" in res.stderr, res.stderr[-1500:]
    assert not any(tmp_path.glob("prefs*"))
