#!/usr/bin/env python3
"""Reference fixtures for HunyuanVideo's two text encoders in C++ (the Llama-3 language model of
LLaVA-LLaMA-3-8B, read at hidden_states[-3], and the CLIP-L text tower's pooler_output).

Writes into ``tests/data/hv_text_encoders/``:

  llama/          tiny LlamaForCausalLM with GQA, fp32, saved with save_pretrained(max_shard_size=...)
                  so it is sharded (model-0000k-of-0000n.safetensors + model.safetensors.index.json,
                  `model.` key prefix, lm_head.weight), with a config.json in the form transformers
                  4.46.3 writes (rope_theta + rope_scaling: null): HunyuanVideo's ckpts/text_encoder
  llama_bare/     the same weights as a bare LlamaModel (no prefix, no lm_head) in fp16, one
                  model.safetensors, config.json as transformers 5 writes it (rope_parameters)
  clip/           tiny CLIPTextModel (quick_gelu, legacy eos_token_id 2: pooled at ids.argmax), as
                  transformers 5 saves it: no `text_model.` prefix
  clip_full/      the same text tower inside a whole CLIPModel (config.json with text_config and
                  vision_config, text_model.* + vision_model.* + projections), the layout of
                  openai/clip-vit-large-patch14 that HunyuanVideo's ckpts/text_encoder_2 holds
  clip_eos/       the same weights with eos_token_id 257 (pooled at the first 257), stored as a
                  torch.save pytorch_model.bin with `text_model.` names (as 4.46.3 saves them) that
                  also carries the position_ids buffer
  outputs.safetensors   inputs and transformers' outputs (CPU):
      llama_ids, llama_mask [2,24] int64 (row 1: 17 valid tokens, right padding)
      llama_hidden_fp32 [5,2,24,32]: output_hidden_states of the fp32 model (index 0 = embeddings,
                        4 = norm(last layer)), so hidden_states[-(s+1)] = llama_hidden_fp32[4-s]
      llama_hidden_fp16 [5,2,24,32]: the same from from_pretrained(dtype=fp16) (fp16 weights and run;
                        RoPE inv_freq stays fp32), as fp16
      llama_hidden_fp16_to [5,2,24,32]: loaded fp32, then .to(fp16) as HunyuanVideo does, which also
                        rounds the inv_freq buffer to fp16
      clip_ids, clip_mask [2,77] (rows 17 and 9 valid; pad = eos as CLIPTokenizer pads)
      clip_pooled_fp32 / clip_pooled_fp16 [2,32], clip_last_fp32 [2,77,32] (after final_layer_norm)
      clip_eos_ids [2,77] (eos 257, random tokens above 257 so argmax pooling would be wrong),
      clip_eos_pooled_fp32 / clip_eos_pooled_fp16 [2,32]
      rope_positions [5] (0, 1, 95, 200, 350), rope_cos/sin_fp16[_to] [5,128]: the real Llama-3-8B's RoPE
                        tables (head_dim 128, theta 500000) in fp16, with inv_freq fp32 and rounded by .to(fp16)
      with --pinned: llama_hidden_fp16_446 [5,2,24,32], clip_full_pooled_fp16_446 [2,32] from 4.46.3
  meta.json       versions, configs, verification numbers, notes on transformers 5.23 vs 4.46.3

The same checkpoints are also run under transformers 4.46.3 (+ tokenizers 0.20.3, huggingface_hub
0.26.5), the versions HunyuanVideo pins, in a child process; the differences go into meta.json.
They live in a side folder (``--pinned``, default .venv-tools/hv-transformers-4.46.3, the one
make_tokenizer_fixtures.py uses), installed there with ``pip --no-deps --target`` when absent.

Usage (from the repository root):
    .venv-tools/bin/python tools/make_hv_text_encoder_fixtures.py [--out DIR] [--pinned DIR | --no-pinned]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "hv_text_encoders"

LLAMA = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=500000.0, vocab_size=300,
             max_position_embeddings=64, hidden_act="silu", bos_token_id=1, eos_token_id=2,
             tie_word_embeddings=False)
LLAMA_LEN, LLAMA_VALID = 24, (24, 17)
CLIP = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=77, layer_norm_eps=1e-5, hidden_act="quick_gelu", vocab_size=300,
            bos_token_id=298, eos_token_id=2, pad_token_id=1)
CLIP_LEN, CLIP_VALID = 77, (17, 9)
CLIP_BOS, CLIP_EOS_LEGACY, CLIP_EOS_REAL = 298, 299, 257
SHARD_SIZE = "40KB"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Weights of O(1) activations (transformers' init, std 0.02, would leave every layer a near
    identity and hide wiring mistakes): matrices N(0, 1/fan_in), embeddings N(0, 1), norm weights
    1 + N(0, 0.1^2), biases N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "norm" in name and name.endswith("weight"):
                r = 1 + 0.1 * r
            elif "embed" in name or "embedding" in name:
                pass
            elif p.dim() >= 2:
                r = r / p.shape[1] ** 0.5
            else:
                r = 0.1 * r
            p.copy_(r)


def config_as_446(config_json: Path) -> None:
    """Rewrites a transformers 5 Llama config.json as 4.46.3 writes it: rope_theta and
    rope_scaling at the top level instead of rope_parameters."""
    c = json.loads(config_json.read_text())
    rope = c.pop("rope_parameters")
    assert rope == {"rope_theta": LLAMA["rope_theta"], "rope_type": "default"}, rope
    c["rope_theta"] = rope["rope_theta"]
    c["rope_scaling"] = None
    c["transformers_version"] = "4.46.3"
    c["torch_dtype"] = c.pop("dtype")
    config_json.write_text(json.dumps(dict(sorted(c.items())), indent=2) + "\n")


def llama_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(3, LLAMA["vocab_size"], (2, LLAMA_LEN), generator=g)
    mask = torch.zeros(2, LLAMA_LEN, dtype=torch.int64)
    for row, n in enumerate(LLAMA_VALID):
        mask[row, :n] = 1
        ids[row, n:] = 0  # a pad id; its value must not matter
    return ids, mask


def clip_inputs(eos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """CLIPTokenizer's shape: bos, tokens, eos, then eos as padding up to 77."""
    g = torch.Generator().manual_seed(12)
    ids = torch.full((2, CLIP_LEN), eos, dtype=torch.int64)
    mask = torch.zeros(2, CLIP_LEN, dtype=torch.int64)
    for row, n in enumerate(CLIP_VALID):
        body = torch.randint(3, CLIP_BOS, (n - 2,), generator=g)
        body[body == eos] = eos + 1
        ids[row, 0] = CLIP_BOS
        ids[row, 1:n - 1] = body
        mask[row, :n] = 1
    return ids, mask


def llama_hidden(model, ids, mask) -> torch.Tensor:
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    return torch.stack(list(out.hidden_states))


def clip_run(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
    return out.pooler_output, out.last_hidden_state


PINNED_SCRIPT = r"""
import json, sys, torch, transformers
from safetensors.torch import save_file
from transformers import AutoModel, CLIPTextModel
data, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)  # 4.46.3 initialises clip/'s unreadable tower randomly: keep meta.json reproducible
inp = {k: v for k, v in __import__("safetensors.torch").torch.load_file(data + "/outputs.safetensors").items()}
res, info = {}, {"transformers": transformers.__version__}
# HunyuanVideo's own calls (hyvideo/text_encoder/__init__.py): AutoModel.from_pretrained, .to(fp16)
llama = AutoModel.from_pretrained(data + "/llama", low_cpu_mem_usage=True).eval()
info["llama_class"] = type(llama).__name__
info["llama_attn_implementation"] = llama.config._attn_implementation
for tag in ("fp32", "fp16"):
    m = llama.to(dtype=torch.float16) if tag == "fp16" else llama
    with torch.no_grad():
        hs = m(input_ids=inp["llama_ids"], attention_mask=inp["llama_mask"], output_hidden_states=True).hidden_states
    res["llama_hidden_" + tag] = torch.stack(list(hs)).contiguous()
for name, ids in (("clip", "clip_ids"), ("clip_full", "clip_ids"), ("clip_eos", "clip_eos_ids")):
    m = CLIPTextModel.from_pretrained(data + "/" + name).eval()
    info[name + "_attn_implementation"] = m.config._attn_implementation
    for tag in ("fp32", "fp16"):
        mm = m.half() if tag == "fp16" else m
        with torch.no_grad():
            res[name + "_pooled_" + tag] = mm(input_ids=inp[ids], attention_mask=inp["clip_mask"]).pooler_output.contiguous()
save_file(res, out)
print(json.dumps(info))
"""


def run_pinned(pinned: Path, out: Path, refs: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "pinned.safetensors"
        env = dict(os.environ, PYTHONPATH=str(pinned))
        proc = subprocess.run([sys.executable, "-c", PINNED_SCRIPT, str(out), str(result)], env=env,
                              capture_output=True, text=True, check=True)
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        pinned_out = load_file(str(result))
    diffs = {}
    for key, t in sorted(pinned_out.items()):
        # both reach fp16 by .to(fp16)
        ref_key = "llama_hidden_fp16_to" if key == "llama_hidden_fp16" else key.replace("clip_full_", "clip_")
        diffs[key] = float((t.float() - refs[ref_key].float()).abs().max())
    info["max_abs_diff_vs_5.23"] = diffs
    # HunyuanVideo's own numbers (the rows its clip/llama dirs can be read into under 4.46.3)
    extra = {"llama_hidden_fp16_446": pinned_out["llama_hidden_fp16"],
             "clip_full_pooled_fp16_446": pinned_out["clip_full_pooled_fp16"]}
    return info, extra


def make_fixtures(out: Path, pinned: Path | None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    meta: dict = {
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "safetensors": safetensors.__version__,
                     "numpy": np.__version__},
        "verification": {},
    }
    v = meta["verification"]
    refs: dict[str, torch.Tensor] = {}

    # ---- Llama
    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(**LLAMA)).eval()
    randomize(llama, seed=1)
    llama.save_pretrained(str(out / "llama"), max_shard_size=SHARD_SIZE)
    config_as_446(out / "llama" / "config.json")
    copy.deepcopy(llama.model).half().save_pretrained(str(out / "llama_bare"))
    index = json.loads((out / "llama" / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 2 and "lm_head.weight" in index["weight_map"], shards
    meta["llama"] = {"config": LLAMA, "shards": shards, "inputs": {"length": LLAMA_LEN, "valid": LLAMA_VALID}}

    ids, mask = llama_inputs()
    refs["llama_ids"], refs["llama_mask"] = ids, mask
    reloaded = transformers.AutoModel.from_pretrained(str(out / "llama")).eval()
    assert type(reloaded).__name__ == "LlamaModel"
    meta["llama"]["attn_implementation"] = reloaded.config._attn_implementation
    hidden = llama_hidden(reloaded, ids, mask)
    assert hidden.shape == (LLAMA["num_hidden_layers"] + 1, 2, LLAMA_LEN, LLAMA["hidden_size"])
    refs["llama_hidden_fp32"] = hidden
    v["llama_reload_vs_inmemory"] = float((llama_hidden(llama.model, ids, mask) - hidden).abs().max())
    eager = transformers.AutoModel.from_pretrained(str(out / "llama"), attn_implementation="eager").eval()
    v["llama_eager_vs_sdpa_fp32"] = float((llama_hidden(eager, ids, mask) - hidden).abs().max())
    half = transformers.AutoModel.from_pretrained(str(out / "llama_bare"), dtype=torch.float16).eval()
    hidden16 = llama_hidden(half, ids, mask)
    refs["llama_hidden_fp16"] = hidden16
    # HunyuanVideo's way to fp16: load fp32, then .to(fp16), which also rounds the inv_freq buffer
    to16 = transformers.AutoModel.from_pretrained(str(out / "llama")).eval().to(dtype=torch.float16)
    assert to16.rotary_emb.inv_freq.dtype == torch.float16 and half.rotary_emb.inv_freq.dtype == torch.float32
    refs["llama_hidden_fp16_to"] = llama_hidden(to16, ids, mask)
    v["llama_fp16_to_vs_fp16_from_pretrained"] = float((refs["llama_hidden_fp16_to"].float() - hidden16.float()).abs().max())
    v["llama_fp16_vs_fp32"] = float((hidden16.float() - hidden).abs().max())
    v["llama_hidden_m3_abs_max"] = float(hidden[-3].abs().max())
    # Right padding: a padded row's valid tokens equal the same tokens run alone.
    n = LLAMA_VALID[1]
    alone = llama_hidden(reloaded, ids[1:, :n], mask[1:, :n])
    v["llama_padded_row_vs_alone"] = float((alone[:, 0] - hidden[:, 1, :n]).abs().max())
    assert v["llama_padded_row_vs_alone"] < 1e-5 and v["llama_reload_vs_inmemory"] == 0.0, v

    # ---- RoPE tables of the real Llama-3-8B (no weights needed) at HunyuanVideo's positions
    real = LlamaConfig(hidden_size=4096, num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0,
                       max_position_embeddings=8192)
    positions = torch.tensor([[0, 1, 95, 200, 350]])
    probe = torch.zeros(1, dtype=torch.float16)
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
    refs["rope_positions"] = positions[0]
    refs["rope_cos_fp16"], refs["rope_sin_fp16"] = (t[0] for t in LlamaRotaryEmbedding(real)(probe, positions))
    rounded = LlamaRotaryEmbedding(real).to(dtype=torch.float16)  # what HunyuanVideo's .to(fp16) does to it
    refs["rope_cos_fp16_to"], refs["rope_sin_fp16_to"] = (t[0] for t in rounded(probe, positions))
    v["rope_real_inv_freq_rounding_max_cos_change"] = float(
        (refs["rope_cos_fp16_to"].float() - refs["rope_cos_fp16"].float()).abs().max())

    # ---- CLIP
    torch.manual_seed(0)
    clip = CLIPTextModel(CLIPTextConfig(**CLIP)).eval()
    randomize(clip, seed=2)
    clip.save_pretrained(str(out / "clip"))
    full = CLIPModel(CLIPConfig(text_config=CLIP, vision_config=dict(
        hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4, image_size=32,
        patch_size=16), projection_dim=16)).eval()
    randomize(full, seed=3)
    missing = full.text_model.load_state_dict(clip.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys
    full.save_pretrained(str(out / "clip_full"))
    (out / "clip_eos").mkdir()
    eos_cfg = dict(CLIP, eos_token_id=CLIP_EOS_REAL)
    CLIPTextConfig(**eos_cfg).save_pretrained(str(out / "clip_eos"))
    # 5.23 saves a CLIPTextModel without the text_model. prefix; 4.46.3 and the openai files have it
    sd = {"text_model." + k: t.clone() for k, t in clip.state_dict().items()}
    sd["text_model.embeddings.position_ids"] = torch.arange(CLIP_LEN).unsqueeze(0)  # old checkpoints carry it
    torch.save(sd, str(out / "clip_eos" / "pytorch_model.bin"))

    cids, cmask = clip_inputs(CLIP_EOS_LEGACY)
    refs["clip_ids"], refs["clip_mask"] = cids, cmask
    clip_ref = CLIPTextModel.from_pretrained(str(out / "clip")).eval()
    meta["clip"] = {"config": CLIP, "attn_implementation": clip_ref.config._attn_implementation,
                    "inputs": {"length": CLIP_LEN, "valid": CLIP_VALID}, "eos_config": eos_cfg}
    pooled, last = clip_run(clip_ref, cids, cmask)
    refs["clip_pooled_fp32"], refs["clip_last_fp32"] = pooled, last
    pooled16, _ = clip_run(CLIPTextModel.from_pretrained(str(out / "clip"), dtype=torch.float16).eval(), cids, cmask)
    refs["clip_pooled_fp16"] = pooled16
    v["clip_fp16_vs_fp32"] = float((pooled16.float() - pooled).abs().max())
    v["clip_pooled_abs_max"] = float(pooled.abs().max())
    v["clip_full_vs_text"] = float((clip_run(CLIPTextModel.from_pretrained(str(out / "clip_full")).eval(),
                                             cids, cmask)[0] - pooled).abs().max())
    # diffusers passes no attention mask; causal attention makes the pooled EOS state the same
    v["clip_no_mask_vs_mask"] = float((clip_run(clip_ref, cids, None)[0] - pooled).abs().max())
    eos_ids, _ = clip_inputs(CLIP_EOS_REAL)
    refs["clip_eos_ids"] = eos_ids
    eos_model = CLIPTextModel(CLIPTextConfig(**eos_cfg)).eval()
    eos_model.load_state_dict({k[len("text_model."):]: t for k, t in sd.items() if "position_ids" not in k})
    eos_pooled, _ = clip_run(eos_model, eos_ids, cmask)
    refs["clip_eos_pooled_fp32"] = eos_pooled
    refs["clip_eos_pooled_fp16"] = clip_run(eos_model.half(), eos_ids, cmask)[0]
    first_eos = (eos_ids == CLIP_EOS_REAL).int().argmax(-1)
    v["clip_eos_first_positions"] = first_eos.tolist()
    v["clip_eos_argmax_positions"] = eos_ids.argmax(-1).tolist()
    assert first_eos.tolist() != eos_ids.argmax(-1).tolist()
    assert v["clip_full_vs_text"] == 0.0 and v["clip_no_mask_vs_mask"] < 1e-5, v

    save_file({k: t.contiguous() for k, t in refs.items()}, str(out / "outputs.safetensors"),
              metadata={"fixture": json.dumps(meta["versions"])})

    meta["notes"] = [
        "hidden_states has num_hidden_layers+1 entries in both 4.46.3 and 5.23: the embeddings, the output of "
        "layers 0..n-2, then norm(output of layer n-1). hidden_states[-(s+1)] for s >= 1 is the raw output of "
        "layer n-s-1, so the last s layers and the final norm are never needed.",
        "Both versions default to the SDPA attention path on CPU. 4.46.3 builds a 4-D additive mask filled "
        "with finfo(dtype).min (causal + key padding, masked_fill, no addition, so no -inf), or none at all "
        "(is_causal) when the mask is all ones; 5.23's create_causal_mask hands SDPA a boolean mask. "
        "With right padding no valid query row is fully masked, so both give the same valid rows.",
        "CLIP in 4.46.3 (CLIPSdpaAttention) adds the expanded padding mask and the causal mask (finfo.min + "
        "finfo.min = -inf where both apply); 5.23 builds one mask with create_causal_mask. Same softmax.",
        "5.23 writes rope_parameters {rope_theta, rope_type}; 4.46.3 writes rope_theta and rope_scaling. "
        "llama/config.json is rewritten in the 4.46.3 form (what HunyuanVideo's preprocessing writes); "
        "llama_bare/config.json keeps the 5.23 form.",
        "The fp16 references run on the CPU (torch 2.15 fp16 matmul and SDPA): a GPU differs in rounding.",
        "RoPE inv_freq is a module buffer: HunyuanVideo's from_pretrained (fp32) + .to(fp16) rounds it to fp16 "
        "(both 4.46.3 and 5.23), from_pretrained(dtype=fp16) keeps it fp32. llama_hidden_fp16_to is the former, "
        "llama_hidden_fp16 the latter.",
    ]
    if pinned is not None:
        meta["pinned_transformers"], extra = run_pinned(pinned, out, refs)
        refs.update(extra)
        save_file({k: t.contiguous() for k, t in refs.items()}, str(out / "outputs.safetensors"),
                  metadata={"fixture": json.dumps(meta["versions"])})
        meta["notes"].append(
            "clip/ (saved by 5.23 without the text_model. prefix) is not readable by 4.46.3: it initialises the "
            "tower randomly (hence its large difference); clip_full/ and clip_eos/ carry the prefix and match "
            "exactly. llama_hidden_fp16_446 / clip_full_pooled_fp16_446 are 4.46.3's fp16 outputs (HunyuanVideo's "
            "calls: AutoModel.from_pretrained, .to(dtype=fp16)).")

    meta["files"] = {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha(p)}
                     for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--pinned", type=Path, default=ROOT / ".venv-tools" / "hv-transformers-4.46.3",
                    help="side folder for transformers 4.46.3 (HunyuanVideo's pin), installed there with --no-deps "
                         "if absent (shared with make_tokenizer_fixtures.py)")
    ap.add_argument("--no-pinned", action="store_true", help="skip the 4.46.3 cross-check (and its *_446 outputs)")
    args = ap.parse_args()
    pinned = None
    if not args.no_pinned:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from make_tokenizer_fixtures import ensure_hv_transformers
        pinned = ensure_hv_transformers(args.pinned)
    meta = make_fixtures(args.out, pinned)
    print(json.dumps({k: meta[k] for k in ("verification", "pinned_transformers") if k in meta}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
