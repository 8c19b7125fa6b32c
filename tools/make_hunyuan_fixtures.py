#!/usr/bin/env python3
"""Reference fixtures for the C++ HunyuanVideo DiT.

Builds diffusers' ``HunyuanVideoTransformer3DModel`` at small configurations with seeded random
weights (every parameter re-drawn: no norm gain stays 1, no bias 0), and writes for each fixture
into ``tests/data/hunyuan/<name>/``:

  diffusers/            config.json + diffusion_pytorch_model.safetensors, as save_pretrained writes them
  original/             the same weights in the ORIGINAL release layout (HYVideoDiffusionTransformer keys):
                        mp_rank_00_model_states.pt = torch.save({"module": state_dict}) + config.json
                        (tiny only) ema_module.pt = {"ema": other weights, "module": state_dict},
                        mp_rank_00_model_states_fp8.pt + mp_rank_00_model_states_fp8_map.pt (fp8 e4m3fn)
  inputs<sfx>.safetensors         hidden_states, timestep, encoder_hidden_states, encoder_attention_mask (f32),
                                  pooled_projections, guidance
  outputs<sfx>.safetensors        sample = model(**inputs, return_dict=False)[0] (fp32, CPU)
  outputs_ema / outputs_fp8       (tiny) the same input through the "ema" weights / the dequantised fp8 weights
  intermediates<sfx>.safetensors  named tensors captured with hooks (see tools/README.md)
  meta.json                       versions, configs, inputs, verification results, notes, file hashes

The original layout is obtained by inverting diffusers' published conversion
(``convert_hunyuan_video_transformer_to_diffusers`` in diffusers/loaders/single_file_utils.py, the
same code as scripts/convert_hunyuan_video_to_diffusers.py); the script re-applies that conversion
to the saved original file (hidden_size constant patched, see README) and requires a bit-exact round
trip and a strict load. It also runs an independent re-implementation of the ORIGINAL
HYVideoDiffusionTransformer.forward (Tencent-Hunyuan/HunyuanVideo hyvideo/modules/*.py semantics:
varlen attention segments instead of a key mask) on the original-layout weights and checks the
video output against diffusers.

Usage (from the repository root):
    tools/setup_tools_venv.sh && .venv-tools/bin/python tools/make_hunyuan_fixtures.py [--out DIR] [--only NAME]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import safetensors
import torch
import torch.nn.functional as F

import diffusers
from diffusers import HunyuanVideoTransformer3DModel
from diffusers.loaders import single_file_utils
from diffusers.models.transformers import transformer_hunyuan_video as thv
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "hunyuan"

# --------------------------------------------------------------------------------------------
# Fixture definitions
# --------------------------------------------------------------------------------------------

FIXTURES = {
    # diffusers' own unit-test config (tests/models/transformers/test_models_transformer_hunyuan_video.py)
    "tiny": {
        "seed": 2025,
        "config": {
            "in_channels": 4,
            "out_channels": 4,
            "num_attention_heads": 2,
            "attention_head_dim": 10,
            "num_layers": 1,
            "num_single_layers": 1,
            "num_refiner_layers": 1,
            "mlp_ratio": 4.0,
            "patch_size": 1,
            "patch_size_t": 1,
            "qk_norm": "rms_norm",
            "guidance_embeds": True,
            "text_embed_dim": 16,
            "pooled_projection_dim": 8,
            "rope_theta": 256.0,
            "rope_axes_dim": (2, 4, 4),
            "image_condition_type": None,
        },
        # suffix -> hidden_states shape, timesteps, guidance, text length L, valid text lengths per row
        "inputs": {
            "": {"shape": (1, 4, 1, 16, 16), "timestep": [731.0], "guidance": [6000.0], "text_len": 12,
                 "valid": [8]},
        },
        "intermediates": {"": "all"},
        "ema": True,
        "fp8": True,
    },
    # head_dim 128 as in the real model (RoPE axes 16/56/56), patch (1,2,2), in/out 16. One head and
    # mlp_ratio 1.5 for size (the fp32 weights are ~4.3 MB per layout; 6*hidden^2 modulations, the
    # refiner (mlp ratio fixed at 4) and three 256->hidden timestep MLPs dominate).
    "real_like": {
        "seed": 4242,
        "config": {
            "in_channels": 16,
            "out_channels": 16,
            "num_attention_heads": 1,
            "attention_head_dim": 128,
            "num_layers": 1,
            "num_single_layers": 1,
            "num_refiner_layers": 1,
            "mlp_ratio": 1.5,
            "patch_size": 2,
            "patch_size_t": 1,
            "qk_norm": "rms_norm",
            "guidance_embeds": True,
            "text_embed_dim": 32,
            "pooled_projection_dim": 8,
            "rope_theta": 256.0,
            "rope_axes_dim": (16, 56, 56),
            "image_condition_type": None,
        },
        # [1,16,3,10,14] -> 3x5x7 = 105 video tokens. Row 0 of _b2 is exactly the _b1 input.
        "inputs": {
            "": {"shape": (1, 16, 3, 10, 14), "timestep": [873.25], "guidance": [6000.0], "text_len": 20,
                 "valid": [13]},
            "_b2": {"shape": (2, 16, 3, 10, 14), "timestep": [873.25, 17.5], "guidance": [6000.0, 3500.0],
                    "text_len": 20, "valid": [13, 20], "row0_from": ""},
        },
        "intermediates": {
            "": "all",
            "_b2": ["timestep_sinusoid", "guidance_sinusoid", "temb", "refiner.pooled_text", "refiner.temb",
                    "refiner.out", "double0.out_video"],
        },
        "ema": False,
        "fp8": False,
    },
}

# --------------------------------------------------------------------------------------------
# Name map diffusers <-> original
# --------------------------------------------------------------------------------------------

# (original, diffusers, how) rows for the README table; N = block index. "qkv" rows are concatenated
# along dim 0 in the original in the order given; "swap" = halves exchanged.
NAME_MAP = [
    ("img_in.proj.{weight,bias}", "x_embedder.proj.{weight,bias}", ""),
    ("txt_in.input_embedder.{weight,bias}", "context_embedder.proj_in.{weight,bias}", ""),
    ("txt_in.t_embedder.mlp.0.{weight,bias}", "context_embedder.time_text_embed.timestep_embedder.linear_1.{weight,bias}", ""),
    ("txt_in.t_embedder.mlp.2.{weight,bias}", "context_embedder.time_text_embed.timestep_embedder.linear_2.{weight,bias}", ""),
    ("txt_in.c_embedder.linear_1.{weight,bias}", "context_embedder.time_text_embed.text_embedder.linear_1.{weight,bias}", ""),
    ("txt_in.c_embedder.linear_2.{weight,bias}", "context_embedder.time_text_embed.text_embedder.linear_2.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.norm1.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.norm1.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.self_attn_qkv.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.attn.{to_q,to_k,to_v}.{weight,bias}", "concat q,k,v (dim 0)"),
    ("txt_in.individual_token_refiner.blocks.N.self_attn_proj.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.attn.to_out.0.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.norm2.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.norm2.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.mlp.fc1.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.ff.net.0.proj.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.mlp.fc2.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.ff.net.2.{weight,bias}", ""),
    ("txt_in.individual_token_refiner.blocks.N.adaLN_modulation.1.{weight,bias}", "context_embedder.token_refiner.refiner_blocks.N.norm_out.linear.{weight,bias}", "(gate_msa, gate_mlp) both"),
    ("time_in.mlp.0.{weight,bias}", "time_text_embed.timestep_embedder.linear_1.{weight,bias}", ""),
    ("time_in.mlp.2.{weight,bias}", "time_text_embed.timestep_embedder.linear_2.{weight,bias}", ""),
    ("vector_in.in_layer.{weight,bias}", "time_text_embed.text_embedder.linear_1.{weight,bias}", ""),
    ("vector_in.out_layer.{weight,bias}", "time_text_embed.text_embedder.linear_2.{weight,bias}", ""),
    ("guidance_in.mlp.0.{weight,bias}", "time_text_embed.guidance_embedder.linear_1.{weight,bias}", ""),
    ("guidance_in.mlp.2.{weight,bias}", "time_text_embed.guidance_embedder.linear_2.{weight,bias}", ""),
    ("double_blocks.N.img_mod.linear.{weight,bias}", "transformer_blocks.N.norm1.linear.{weight,bias}", "6 chunks, same order"),
    ("double_blocks.N.img_attn_qkv.{weight,bias}", "transformer_blocks.N.attn.{to_q,to_k,to_v}.{weight,bias}", "concat q,k,v (dim 0)"),
    ("double_blocks.N.img_attn_q_norm.weight", "transformer_blocks.N.attn.norm_q.weight", ""),
    ("double_blocks.N.img_attn_k_norm.weight", "transformer_blocks.N.attn.norm_k.weight", ""),
    ("double_blocks.N.img_attn_proj.{weight,bias}", "transformer_blocks.N.attn.to_out.0.{weight,bias}", ""),
    ("double_blocks.N.img_mlp.fc1.{weight,bias}", "transformer_blocks.N.ff.net.0.proj.{weight,bias}", ""),
    ("double_blocks.N.img_mlp.fc2.{weight,bias}", "transformer_blocks.N.ff.net.2.{weight,bias}", ""),
    ("double_blocks.N.txt_mod.linear.{weight,bias}", "transformer_blocks.N.norm1_context.linear.{weight,bias}", "6 chunks, same order"),
    ("double_blocks.N.txt_attn_qkv.{weight,bias}", "transformer_blocks.N.attn.{add_q_proj,add_k_proj,add_v_proj}.{weight,bias}", "concat q,k,v (dim 0)"),
    ("double_blocks.N.txt_attn_q_norm.weight", "transformer_blocks.N.attn.norm_added_q.weight", ""),
    ("double_blocks.N.txt_attn_k_norm.weight", "transformer_blocks.N.attn.norm_added_k.weight", ""),
    ("double_blocks.N.txt_attn_proj.{weight,bias}", "transformer_blocks.N.attn.to_add_out.{weight,bias}", ""),
    ("double_blocks.N.txt_mlp.fc1.{weight,bias}", "transformer_blocks.N.ff_context.net.0.proj.{weight,bias}", ""),
    ("double_blocks.N.txt_mlp.fc2.{weight,bias}", "transformer_blocks.N.ff_context.net.2.{weight,bias}", ""),
    ("single_blocks.N.linear1.{weight,bias}", "single_transformer_blocks.N.{attn.to_q,attn.to_k,attn.to_v,proj_mlp}.{weight,bias}", "concat q,k,v,mlp (dim 0): rows [0,h) [h,2h) [2h,3h) [3h,3h+mlp)"),
    ("single_blocks.N.linear2.{weight,bias}", "single_transformer_blocks.N.proj_out.{weight,bias}", "input = cat[attn (h), gelu(mlp)]"),
    ("single_blocks.N.q_norm.weight", "single_transformer_blocks.N.attn.norm_q.weight", ""),
    ("single_blocks.N.k_norm.weight", "single_transformer_blocks.N.attn.norm_k.weight", ""),
    ("single_blocks.N.modulation.linear.{weight,bias}", "single_transformer_blocks.N.norm.linear.{weight,bias}", "3 chunks, same order"),
    ("final_layer.linear.{weight,bias}", "proj_out.{weight,bias}", ""),
    ("final_layer.adaLN_modulation.1.{weight,bias}", "norm_out.linear.{weight,bias}", "SWAP halves: original (shift, scale), diffusers (scale, shift)"),
]


def diffusers_to_original(dsd: dict, cfg: dict) -> dict:
    """Inverse of diffusers' conversion; keys in the original module registration order."""
    o = {}

    def wb(dst, src):
        for s in ("weight", "bias"):
            o[f"{dst}.{s}"] = dsd[f"{src}.{s}"].clone()

    def cat(dst, srcs):
        for s in ("weight", "bias"):
            o[f"{dst}.{s}"] = torch.cat([dsd[f"{x}.{s}"] for x in srcs], dim=0).contiguous()

    wb("img_in.proj", "x_embedder.proj")
    ce = "context_embedder"
    wb("txt_in.input_embedder", f"{ce}.proj_in")
    wb("txt_in.t_embedder.mlp.0", f"{ce}.time_text_embed.timestep_embedder.linear_1")
    wb("txt_in.t_embedder.mlp.2", f"{ce}.time_text_embed.timestep_embedder.linear_2")
    wb("txt_in.c_embedder.linear_1", f"{ce}.time_text_embed.text_embedder.linear_1")
    wb("txt_in.c_embedder.linear_2", f"{ce}.time_text_embed.text_embedder.linear_2")
    for n in range(cfg["num_refiner_layers"]):
        o_, d_ = f"txt_in.individual_token_refiner.blocks.{n}", f"{ce}.token_refiner.refiner_blocks.{n}"
        wb(f"{o_}.norm1", f"{d_}.norm1")
        cat(f"{o_}.self_attn_qkv", [f"{d_}.attn.to_q", f"{d_}.attn.to_k", f"{d_}.attn.to_v"])
        wb(f"{o_}.self_attn_proj", f"{d_}.attn.to_out.0")
        wb(f"{o_}.norm2", f"{d_}.norm2")
        wb(f"{o_}.mlp.fc1", f"{d_}.ff.net.0.proj")
        wb(f"{o_}.mlp.fc2", f"{d_}.ff.net.2")
        wb(f"{o_}.adaLN_modulation.1", f"{d_}.norm_out.linear")
    wb("time_in.mlp.0", "time_text_embed.timestep_embedder.linear_1")
    wb("time_in.mlp.2", "time_text_embed.timestep_embedder.linear_2")
    wb("vector_in.in_layer", "time_text_embed.text_embedder.linear_1")
    wb("vector_in.out_layer", "time_text_embed.text_embedder.linear_2")
    if cfg["guidance_embeds"]:
        wb("guidance_in.mlp.0", "time_text_embed.guidance_embedder.linear_1")
        wb("guidance_in.mlp.2", "time_text_embed.guidance_embedder.linear_2")
    for n in range(cfg["num_layers"]):
        o_, d_ = f"double_blocks.{n}", f"transformer_blocks.{n}"
        wb(f"{o_}.img_mod.linear", f"{d_}.norm1.linear")
        cat(f"{o_}.img_attn_qkv", [f"{d_}.attn.to_q", f"{d_}.attn.to_k", f"{d_}.attn.to_v"])
        o[f"{o_}.img_attn_q_norm.weight"] = dsd[f"{d_}.attn.norm_q.weight"].clone()
        o[f"{o_}.img_attn_k_norm.weight"] = dsd[f"{d_}.attn.norm_k.weight"].clone()
        wb(f"{o_}.img_attn_proj", f"{d_}.attn.to_out.0")
        wb(f"{o_}.img_mlp.fc1", f"{d_}.ff.net.0.proj")
        wb(f"{o_}.img_mlp.fc2", f"{d_}.ff.net.2")
        wb(f"{o_}.txt_mod.linear", f"{d_}.norm1_context.linear")
        cat(f"{o_}.txt_attn_qkv", [f"{d_}.attn.add_q_proj", f"{d_}.attn.add_k_proj", f"{d_}.attn.add_v_proj"])
        o[f"{o_}.txt_attn_q_norm.weight"] = dsd[f"{d_}.attn.norm_added_q.weight"].clone()
        o[f"{o_}.txt_attn_k_norm.weight"] = dsd[f"{d_}.attn.norm_added_k.weight"].clone()
        wb(f"{o_}.txt_attn_proj", f"{d_}.attn.to_add_out")
        wb(f"{o_}.txt_mlp.fc1", f"{d_}.ff_context.net.0.proj")
        wb(f"{o_}.txt_mlp.fc2", f"{d_}.ff_context.net.2")
    for n in range(cfg["num_single_layers"]):
        o_, d_ = f"single_blocks.{n}", f"single_transformer_blocks.{n}"
        cat(f"{o_}.linear1", [f"{d_}.attn.to_q", f"{d_}.attn.to_k", f"{d_}.attn.to_v", f"{d_}.proj_mlp"])
        wb(f"{o_}.linear2", f"{d_}.proj_out")
        o[f"{o_}.q_norm.weight"] = dsd[f"{d_}.attn.norm_q.weight"].clone()
        o[f"{o_}.k_norm.weight"] = dsd[f"{d_}.attn.norm_k.weight"].clone()
        wb(f"{o_}.modulation.linear", f"{d_}.norm.linear")
    wb("final_layer.linear", "proj_out")
    for s in ("weight", "bias"):
        scale, shift = dsd[f"norm_out.linear.{s}"].chunk(2, dim=0)
        o[f"final_layer.adaLN_modulation.1.{s}"] = torch.cat([shift, scale], dim=0).contiguous()
    return o


def diffusers_conversion_fn(hidden_size: int):
    """diffusers' published conversion, run verbatim except for its hard-coded `hidden_size = 3072`
    (used only to split single_blocks.N.linear1 into q, k, v, mlp)."""
    fn = single_file_utils.convert_hunyuan_video_transformer_to_diffusers
    src = inspect.getsource(fn)
    assert src.count("hidden_size = 3072") == 1, "diffusers' conversion changed; re-check the inversion"
    src = src.replace("hidden_size = 3072", f"hidden_size = {hidden_size}")
    ns = {"torch": torch}
    exec(compile(src, "<convert_hunyuan_video_transformer_to_diffusers>", "exec"), ns)
    conv = ns["convert_hunyuan_video_transformer_to_diffusers"]
    return lambda sd: conv(dict(sd))


# Linear layers the release quantises to fp8: every nn.Linear whose module name contains
# "double_blocks" or "single_blocks" (hyvideo/modules/fp8_optimization.py convert_fp8_linear).
def fp8_module_names(cfg: dict) -> list:
    names = []
    for n in range(cfg["num_layers"]):
        for s in ("img", "txt"):
            names += [f"double_blocks.{n}.{s}_mod.linear", f"double_blocks.{n}.{s}_attn_qkv",
                      f"double_blocks.{n}.{s}_attn_proj", f"double_blocks.{n}.{s}_mlp.fc1",
                      f"double_blocks.{n}.{s}_mlp.fc2"]
    for n in range(cfg["num_single_layers"]):
        names += [f"single_blocks.{n}.linear1", f"single_blocks.{n}.linear2", f"single_blocks.{n}.modulation.linear"]
    return names


FP8_MAX = 448.0  # E4M3: 1.75 * 2^(15 - 7), get_fp_maxval() in fp8_optimization.py


def quantise_fp8(w: torch.Tensor):
    """Per-tensor fp8 e4m3fn quantisation as fp8_optimization.py does it: scale = max|w| / 448,
    x = w / scale rounded to the e4m3 grid (round half to even; subnormal step 2^-9), stored as
    float8_e4m3fn. Returns (w_fp8, scale as a 0-dim fp32 tensor)."""
    scale = w.abs().max() / FP8_MAX
    x = (w / scale).clamp(-FP8_MAX, FP8_MAX)
    e = torch.clamp(torch.floor(torch.log2(x.abs())) + 7.0, min=1.0)  # biased exponent (7 = bias)
    step = torch.pow(2.0, e - 3.0 - 7.0)  # 3 mantissa bits
    qdq = torch.round(x / step) * step
    w8 = qdq.to(torch.float8_e4m3fn)
    assert torch.equal(w8.float(), qdq), "qdq value not representable in e4m3fn"
    assert torch.equal(w8.view(torch.uint8), x.to(torch.float8_e4m3fn).view(torch.uint8)), \
        "release rounding differs from torch's RNE cast"
    return w8, scale.to(torch.float32).reshape(())


# --------------------------------------------------------------------------------------------
# Model construction
# --------------------------------------------------------------------------------------------


def randomise_(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Re-draw every parameter (named_parameters() order):
    weights with ndim >= 2 (Linear, Conv3d): N(0, 1/fan_in); biases: N(0, 0.1^2);
    1-D weights (RMSNorm q/k gains, affine LayerNorm gains of the refiner): 1 + N(0, 0.25^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif leaf == "weight" and p.ndim == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.25)
            elif leaf == "weight" and p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                raise RuntimeError(f"unhandled parameter {name} {tuple(p.shape)}")
    for name, p in model.named_parameters():
        if torch.all(p == 0) or torch.all(p == 1):
            raise RuntimeError(f"{name} is still trivial after randomisation")


def build_model(cfg: dict, seed: int, weight_seed: int) -> HunyuanVideoTransformer3DModel:
    torch.manual_seed(seed)
    model = HunyuanVideoTransformer3DModel(**cfg)
    randomise_(model, torch.Generator().manual_seed(weight_seed))
    return model.eval()


def make_inputs(cfg: dict, spec: dict, seed: int, row0: dict | None) -> dict:
    gen = torch.Generator().manual_seed(seed)
    b = spec["shape"][0]
    L = spec["text_len"]
    assert len(spec["timestep"]) == b == len(spec["guidance"]) == len(spec["valid"])
    inp = {
        "hidden_states": torch.randn(spec["shape"], generator=gen),
        "timestep": torch.tensor(spec["timestep"], dtype=torch.float32),
        # padded rows hold random values too (an LLM's padded positions are not zero)
        "encoder_hidden_states": torch.randn((b, L, cfg["text_embed_dim"]), generator=gen),
        "encoder_attention_mask": torch.stack(
            [(torch.arange(L) < v).to(torch.float32) for v in spec["valid"]]),
        "pooled_projections": torch.randn((b, cfg["pooled_projection_dim"]), generator=gen),
        "guidance": torch.tensor(spec["guidance"], dtype=torch.float32),
    }
    if row0 is not None:  # row 0 := the batch-1 input (batch-independence check)
        for k in inp:
            assert row0[k].shape[0] == 1 and row0[k].shape[1:] == inp[k].shape[1:], k
            inp[k][0] = row0[k][0]
        assert spec["timestep"][0] == float(row0["timestep"][0]) and spec["guidance"][0] == float(row0["guidance"][0])
    return inp


# --------------------------------------------------------------------------------------------
# Reference forward with intermediates
# --------------------------------------------------------------------------------------------

INTERMEDIATE_DOCS = {
    "rope_cos": "[S, head_dim] model.rope(hidden_states)[0]: per video token, cos(pos_axis * theta^(-2j/d_axis)) "
    "for the t|h|w segments (d_axis = rope_axes_dim), each value repeated for both members of a pair",
    "rope_sin": "[S, head_dim] model.rope(hidden_states)[1], likewise with sin",
    "timestep_sinusoid": "[B, 256] time_text_embed.time_proj(timestep) = [cos(t*f_i), sin(t*f_i)], "
    "f_i = exp(-ln(10000)*i/128), fp32",
    "guidance_sinusoid": "[B, 256] the same of `guidance` (second call of time_proj)",
    "time_emb": "[B, h] time_text_embed.timestep_embedder(timestep_sinusoid) = linear_2(SiLU(linear_1)); original time_in",
    "guidance_emb": "[B, h] time_text_embed.guidance_embedder(guidance_sinusoid); original guidance_in",
    "pooled_emb": "[B, h] time_text_embed.text_embedder(pooled_projections) = linear_2(SiLU(linear_1)); original vector_in",
    "temb": "[B, h] time_text_embed output = time_emb + guidance_emb + pooled_emb; original `vec`",
    "refiner.pooled_text": "[B, text_dim] masked mean of encoder_hidden_states over valid rows (input of the "
    "refiner's text_embedder / original c_embedder)",
    "refiner.temb": "[B, h] context_embedder.time_text_embed(timestep, pooled_text) = timestep MLP + text MLP "
    "(the refiner's own weights; original txt_in.t_embedder + txt_in.c_embedder)",
    "refiner.proj_in": "[B, L, h] context_embedder.proj_in(encoder_hidden_states); original txt_in.input_embedder",
    "refiner.out": "[B, L, h] context_embedder output (after the refiner blocks); rows >= valid length are "
    "diffusers-specific (see README), compare valid rows only",
    "img_in": "[B, S, h] x_embedder(hidden_states) = Conv3d + flatten(2).transpose(1,2); token = (f*H'+y)*W'+x",
    "double0.mod_video": "[B, 6h] transformer_blocks.0.norm1.linear(SiLU(temb)) = "
    "(shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp); original img_mod",
    "double0.mod_text": "[B, 6h] transformer_blocks.0.norm1_context.linear(SiLU(temb)), same order; original txt_mod",
    "double0.q": "[B, S+L, heads, head_dim] query handed to the joint attention of double block 0: "
    "[video ; text], after per-head RMSNorm, RoPE on the video part only",
    "double0.k": "[B, S+L, heads, head_dim] key, likewise",
    "double0.out_video": "[B, S, h] video stream after double block 0",
    "double0.out_text": "[B, L, h] text stream after double block 0 (compare valid rows only)",
    "single0.mod": "[B, 3h] single_transformer_blocks.0.norm.linear(SiLU(temb)) = (shift, scale, gate); "
    "original modulation",
    "single0.out_video": "[B, S, h] video part after single block 0",
    "single0.out_text": "[B, L, h] text part after single block 0 (compare valid rows only)",
    "final.mod": "[B, 2h] norm_out.linear(SiLU(temb)) = (scale, shift) -- diffusers order; the original "
    "final_layer.adaLN_modulation.1 gives (shift, scale)",
    "final.proj_out": "[B, S, pt*p*p*C_out] proj_out output before unpatchify (feature = ((c*pt+it)*p+iy)*p+ix)",
}


def run_reference(model, inputs: dict, capture: bool):
    """fp32 CPU forward; returns (sample, intermediates)."""
    inter: dict[str, torch.Tensor] = {}
    handles = []
    orig_dispatch = thv.dispatch_attention_fn

    def keep(name, t):
        inter[name] = t.detach().to(torch.float32).contiguous().clone()

    if capture:
        calls = {"tproj": 0, "attn": 0}

        def rope_hook(_m, _a, out):
            keep("rope_cos", out[0])
            keep("rope_sin", out[1])

        def tproj_hook(_m, _a, out):
            keep("timestep_sinusoid" if calls["tproj"] == 0 else "guidance_sinusoid", out)
            calls["tproj"] += 1

        def out_hook(name, idx=None):
            def h(_m, _a, out):
                keep(name, out if idx is None else out[idx])
            return h

        def pair_hook(prefix):
            def h(_m, _a, out):
                keep(prefix + ".out_video", out[0])
                keep(prefix + ".out_text", out[1])
            return h

        def pooled_pre_hook(_m, args):
            keep("refiner.pooled_text", args[0])

        tte = model.time_text_embed
        ce = model.context_embedder
        handles += [
            model.rope.register_forward_hook(rope_hook),
            tte.time_proj.register_forward_hook(tproj_hook),
            tte.timestep_embedder.register_forward_hook(out_hook("time_emb")),
            tte.text_embedder.register_forward_hook(out_hook("pooled_emb")),
            tte.register_forward_hook(out_hook("temb", 0)),
            ce.time_text_embed.text_embedder.register_forward_pre_hook(pooled_pre_hook),
            ce.time_text_embed.register_forward_hook(out_hook("refiner.temb")),
            ce.proj_in.register_forward_hook(out_hook("refiner.proj_in")),
            ce.register_forward_hook(out_hook("refiner.out")),
            model.x_embedder.register_forward_hook(out_hook("img_in")),
            model.transformer_blocks[0].norm1.linear.register_forward_hook(out_hook("double0.mod_video")),
            model.transformer_blocks[0].norm1_context.linear.register_forward_hook(out_hook("double0.mod_text")),
            model.transformer_blocks[0].register_forward_hook(pair_hook("double0")),
            model.single_transformer_blocks[0].norm.linear.register_forward_hook(out_hook("single0.mod")),
            model.single_transformer_blocks[0].register_forward_hook(pair_hook("single0")),
            model.norm_out.linear.register_forward_hook(out_hook("final.mod")),
            model.proj_out.register_forward_hook(out_hook("final.proj_out")),
        ]
        if tte.guidance_embedder is not None:
            handles.append(tte.guidance_embedder.register_forward_hook(out_hook("guidance_emb")))

        def dispatch_spy(query, key, value, *a, **kw):
            # the first dispatch call of the forward is the joint attention of double block 0 (the
            # refiner uses AttnProcessor2_0, which calls F.scaled_dot_product_attention directly)
            if calls["attn"] == 0:
                keep("double0.q", query)
                keep("double0.k", key)
            calls["attn"] += 1
            return orig_dispatch(query, key, value, *a, **kw)

        thv.dispatch_attention_fn = dispatch_spy
    try:
        with torch.no_grad():
            sample = model(**inputs, return_dict=False)[0]
    finally:
        thv.dispatch_attention_fn = orig_dispatch
        for h in handles:
            h.remove()
    return sample.detach().to(torch.float32).contiguous(), inter


# --------------------------------------------------------------------------------------------
# Independent re-implementation of the ORIGINAL forward (hyvideo/modules/models.py and friends),
# used to check the name map and the mask semantics. Attention over [video ; text] follows the
# release's flash_attn_varlen_func with cu_seqlens from get_cu_seqlens: per sample, the first
# S + valid tokens form one sequence and the padded text tokens another one.
# --------------------------------------------------------------------------------------------


def _lin(x, sd, p):
    return F.linear(x, sd[p + ".weight"], sd[p + ".bias"])


def _rms(x, w, eps=1e-6):
    return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)).type_as(x) * w


def _timestep_embedding(t, dim=256, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _nd_rope(rope_dim_list, sizes, theta):
    axes = [torch.linspace(0, n, n + 1, dtype=torch.float32)[:n] for n in sizes]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0)
    cos, sin = [], []
    for i, d in enumerate(rope_dim_list):
        freqs = 1.0 / (theta ** (torch.arange(0, d, 2)[: d // 2].float() / d))
        f = torch.outer(grid[i].reshape(-1), freqs)
        cos.append(f.cos().repeat_interleave(2, dim=1))
        sin.append(f.sin().repeat_interleave(2, dim=1))
    return torch.cat(cos, 1), torch.cat(sin, 1)


def _apply_rope(x, cos, sin):  # x [B, S, H, D]; pairs (x[2i], x[2i+1])
    xr, xi = x.float().reshape(*x.shape[:-1], -1, 2).unbind(-1)
    rot = torch.stack([-xi, xr], dim=-1).flatten(3)
    return (x.float() * cos[None, :, None, :] + rot * sin[None, :, None, :]).type_as(x)


def _sdpa(q, k, v, mask=None):  # [B, N, H, D]
    o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return o.transpose(1, 2)


def _varlen_attention(q, k, v, split):  # split[b] = S + valid_b
    out = torch.empty_like(q)
    for b in range(q.shape[0]):
        for lo, hi in ((0, split[b]), (split[b], q.shape[1])):
            if hi > lo:
                out[b:b + 1, lo:hi] = _sdpa(q[b:b + 1, lo:hi], k[b:b + 1, lo:hi], v[b:b + 1, lo:hi])
    return out.flatten(2)


def original_forward(sd: dict, ocfg: dict, x, t, text, text_mask, text_2, guidance):
    h, nh = ocfg["hidden_size"], ocfg["heads_num"]
    d = h // nh
    mlp = int(h * ocfg["mlp_width_ratio"])
    pt, ph, pw = ocfg["patch_size"]
    B, _, T, H, W = x.shape
    tt, th, tw = T // pt, H // ph, W // pw
    cos, sin = _nd_rope(ocfg["rope_dim_list"], (tt, th, tw), ocfg["rope_theta"])
    ln = lambda u: F.layer_norm(u, (h,), eps=1e-6)  # noqa: E731
    gelu = lambda u: F.gelu(u, approximate="tanh")  # noqa: E731

    def t_embed(p, tv):
        return _lin(F.silu(_lin(_timestep_embedding(tv), sd, p + ".mlp.0")), sd, p + ".mlp.2")

    vec = t_embed("time_in", t) + _lin(F.silu(_lin(text_2, sd, "vector_in.in_layer")), sd, "vector_in.out_layer")
    if ocfg["guidance_embed"]:
        vec = vec + t_embed("guidance_in", guidance)
    img = F.conv3d(x, sd["img_in.proj.weight"], sd["img_in.proj.bias"], stride=(pt, ph, pw)).flatten(2).transpose(1, 2)
    # token refiner (SingleTokenRefiner)
    mf = text_mask.float().unsqueeze(-1)
    c = t_embed("txt_in.t_embedder", t) + _lin(
        F.silu(_lin((text * mf).sum(1) / mf.sum(1), sd, "txt_in.c_embedder.linear_1")), sd, "txt_in.c_embedder.linear_2")
    txt = _lin(text, sd, "txt_in.input_embedder")
    L = txt.shape[1]
    m = text_mask.bool()
    amask = m.view(B, 1, 1, L).repeat(1, 1, L, 1)
    amask = amask & amask.transpose(2, 3)
    amask[:, :, :, 0] = True
    for n in range(ocfg["token_refiner_depth"]):
        p = f"txt_in.individual_token_refiner.blocks.{n}."
        g_msa, g_mlp = _lin(F.silu(c), sd, p + "adaLN_modulation.1").chunk(2, dim=1)
        nx = F.layer_norm(txt, (h,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], 1e-6)
        q, k, v = _lin(nx, sd, p + "self_attn_qkv").view(B, L, 3, nh, d).unbind(2)
        txt = txt + _lin(_sdpa(q, k, v, amask).flatten(2), sd, p + "self_attn_proj") * g_msa[:, None]
        nx = F.layer_norm(txt, (h,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], 1e-6)
        txt = txt + _lin(F.silu(_lin(nx, sd, p + "mlp.fc1")), sd, p + "mlp.fc2") * g_mlp[:, None]
    S = img.shape[1]
    split = [S + int(v) for v in text_mask.sum(1)]
    mod = lambda u, sh, sc: u * (1 + sc[:, None]) + sh[:, None]  # noqa: E731
    for n in range(ocfg["mm_double_blocks_depth"]):
        p = f"double_blocks.{n}."
        im = _lin(F.silu(vec), sd, p + "img_mod.linear").chunk(6, dim=-1)
        tm = _lin(F.silu(vec), sd, p + "txt_mod.linear").chunk(6, dim=-1)
        iq, ik, iv = _lin(mod(ln(img), im[0], im[1]), sd, p + "img_attn_qkv").view(B, S, 3, nh, d).unbind(2)
        iq = _apply_rope(_rms(iq, sd[p + "img_attn_q_norm.weight"]), cos, sin)
        ik = _apply_rope(_rms(ik, sd[p + "img_attn_k_norm.weight"]), cos, sin)
        tq, tk, tv = _lin(mod(ln(txt), tm[0], tm[1]), sd, p + "txt_attn_qkv").view(B, L, 3, nh, d).unbind(2)
        tq = _rms(tq, sd[p + "txt_attn_q_norm.weight"])
        tk = _rms(tk, sd[p + "txt_attn_k_norm.weight"])
        a = _varlen_attention(torch.cat([iq, tq], 1), torch.cat([ik, tk], 1), torch.cat([iv, tv], 1), split)
        img = img + _lin(a[:, :S], sd, p + "img_attn_proj") * im[2][:, None]
        img = img + _lin(gelu(_lin(mod(ln(img), im[3], im[4]), sd, p + "img_mlp.fc1")), sd, p + "img_mlp.fc2") * im[5][:, None]
        txt = txt + _lin(a[:, S:], sd, p + "txt_attn_proj") * tm[2][:, None]
        txt = txt + _lin(gelu(_lin(mod(ln(txt), tm[3], tm[4]), sd, p + "txt_mlp.fc1")), sd, p + "txt_mlp.fc2") * tm[5][:, None]
    xs = torch.cat([img, txt], 1)
    for n in range(ocfg["mm_single_blocks_depth"]):
        p = f"single_blocks.{n}."
        sh, sc, g = _lin(F.silu(vec), sd, p + "modulation.linear").chunk(3, dim=-1)
        qkv, mlp_in = torch.split(_lin(mod(ln(xs), sh, sc), sd, p + "linear1"), [3 * h, mlp], dim=-1)
        q, k, v = qkv.view(B, S + L, 3, nh, d).unbind(2)
        q = _rms(q, sd[p + "q_norm.weight"])
        k = _rms(k, sd[p + "k_norm.weight"])
        q = torch.cat([_apply_rope(q[:, :S], cos, sin), q[:, S:]], 1)
        k = torch.cat([_apply_rope(k[:, :S], cos, sin), k[:, S:]], 1)
        a = _varlen_attention(q, k, v, split)
        xs = xs + _lin(torch.cat([a, gelu(mlp_in)], 2), sd, p + "linear2") * g[:, None]
    img = xs[:, :S]
    shift, scale = _lin(F.silu(vec), sd, "final_layer.adaLN_modulation.1").chunk(2, dim=1)
    img = _lin(mod(ln(img), shift, scale), sd, "final_layer.linear")
    co = ocfg["out_channels"]
    img = img.reshape(B, tt, th, tw, co, pt, ph, pw)
    img = torch.einsum("nthwcopq->nctohpwq", img)
    return img.reshape(B, co, tt * pt, th * ph, tw * pw)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def original_config(cfg: dict) -> dict:
    """config.json for the original layout (the release ships none). Keys are the argument names of
    HYVideoDiffusionTransformer.__init__ (hyvideo/modules/models.py) and of the argparse options it
    reads (args.text_states_dim, args.text_states_dim_2, args.rope_theta), plus token_refiner_depth
    (hard-coded 2 in the release: SingleTokenRefiner(..., depth=2))."""
    h = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    assert cfg["qk_norm"] == "rms_norm" and cfg["image_condition_type"] is None
    return {
        "_class_name": "HYVideoDiffusionTransformer",
        "patch_size": [cfg["patch_size_t"], cfg["patch_size"], cfg["patch_size"]],
        "in_channels": cfg["in_channels"],
        "out_channels": cfg["out_channels"],
        "hidden_size": h,
        "heads_num": cfg["num_attention_heads"],
        "mlp_width_ratio": cfg["mlp_ratio"],
        "mlp_act_type": "gelu_tanh",
        "mm_double_blocks_depth": cfg["num_layers"],
        "mm_single_blocks_depth": cfg["num_single_layers"],
        "rope_dim_list": list(cfg["rope_axes_dim"]),
        "qkv_bias": True,
        "qk_norm": True,
        "qk_norm_type": "rms",
        "guidance_embed": cfg["guidance_embeds"],
        "text_projection": "single_refiner",
        "use_attention_mask": True,
        "text_states_dim": cfg["text_embed_dim"],
        "text_states_dim_2": cfg["pooled_projection_dim"],
        "rope_theta": int(cfg["rope_theta"]) if float(cfg["rope_theta"]).is_integer() else cfg["rope_theta"],
        "token_refiner_depth": cfg["num_refiner_layers"],
    }


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def max_abs(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


def check_same_sd(a: dict, b: dict, what: str) -> None:
    assert set(a) == set(b), (what, sorted(set(a) ^ set(b)))
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), (what, k)


def load_into(cfg: dict, dsd: dict) -> HunyuanVideoTransformer3DModel:
    m = HunyuanVideoTransformer3DModel(**cfg)
    m.load_state_dict(dsd, strict=True)
    return m.eval()


def st_meta(name: str, call: str) -> dict:
    # one metadata key: safetensors writes a multi-key map in hash order (not reproducible)
    return {"fixture": json.dumps({"name": name, "diffusers_version": diffusers.__version__,
                                   "torch_version": torch.__version__, "call": call}, sort_keys=True)}


CALL = ("model(hidden_states, timestep, encoder_hidden_states, encoder_attention_mask, pooled_projections, "
        "guidance, return_dict=False)[0], fp32, CPU")


def make_fixture(name: str, spec: dict, out_root: Path, versions: dict) -> dict:
    cfg = spec["config"]
    seed = spec["seed"]
    h = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    fdir = out_root / name
    if fdir.exists():
        shutil.rmtree(fdir)
    fdir.mkdir(parents=True)
    model = build_model(cfg, seed, seed + 1)
    convert = diffusers_conversion_fn(h)

    # (a) diffusers layout, exactly as save_pretrained writes it
    ddir = fdir / "diffusers"
    model.save_pretrained(str(ddir), safe_serialization=True)
    dsd = load_file(str(ddir / "diffusion_pytorch_model.safetensors"))
    check_same_sd(dsd, model.state_dict(), "save_pretrained")

    # (b) original layout by inverting the published conversion
    odir = fdir / "original"
    odir.mkdir()
    osd = diffusers_to_original(dsd, cfg)
    assert sum(v.numel() for v in osd.values()) == sum(v.numel() for v in dsd.values())
    ocfg = original_config(cfg)
    write_json(odir / "config.json", ocfg)
    opath = odir / "mp_rank_00_model_states.pt"
    torch.save({"module": osd}, str(opath))
    back = torch.load(str(opath), map_location="cpu", weights_only=True)
    assert list(back) == ["module"]
    check_same_sd(back["module"], osd, "torch.save round trip")
    conv = convert(back["module"])
    check_same_sd({k: v.contiguous() for k, v in conv.items()}, dsd, "original -> diffusers conversion")
    load_into(cfg, conv)  # strict
    roundtrip = {"original_to_diffusers_bit_exact": True, "strict_load": True,
                 "num_tensors_diffusers": len(dsd), "num_tensors_original": len(osd),
                 "num_parameters": sum(v.numel() for v in dsd.values())}

    extra_models = {}
    if spec["ema"]:
        ema_model = build_model(cfg, seed, seed + 2)
        esd = diffusers_to_original({k: v.contiguous() for k, v in ema_model.state_dict().items()}, cfg)
        assert all(not torch.equal(esd[k], osd[k]) for k in osd)
        epath = odir / "ema_module.pt"
        torch.save({"ema": esd, "module": osd}, str(epath))
        back = torch.load(str(epath), map_location="cpu", weights_only=True)
        assert list(back) == ["ema", "module"]
        check_same_sd(back["module"], osd, "ema_module.pt module")
        check_same_sd(back["ema"], esd, "ema_module.pt ema")
        econv = {k: v.contiguous() for k, v in convert(back["ema"]).items()}
        check_same_sd(econv, {k: v.contiguous() for k, v in ema_model.state_dict().items()}, "ema conversion")
        extra_models["ema"] = (load_into(cfg, econv), esd)
        roundtrip["ema_module_pt"] = "keys [ema, module]; module == mp_rank_00_model_states.pt module"
    if spec["fp8"]:
        names = fp8_module_names(cfg)
        q_sd, scales, deq = {}, {}, {}
        for k, v in osd.items():
            mod_name = k.rsplit(".", 1)[0]
            if k.endswith(".weight") and mod_name in names:
                w8, s = quantise_fp8(v)
                q_sd[k], scales[mod_name] = w8, s
                deq[k] = w8.to(torch.float32) * s  # fp8_activation_dequant(w_fp8, scale, dtype)
            else:
                q_sd[k], deq[k] = v.clone(), v
        assert sorted(scales) == sorted(names)
        torch.save({"module": q_sd}, str(odir / "mp_rank_00_model_states_fp8.pt"))
        torch.save({n: scales[n] for n in names}, str(odir / "mp_rank_00_model_states_fp8_map.pt"))
        back = torch.load(str(odir / "mp_rank_00_model_states_fp8.pt"), map_location="cpu", weights_only=True)
        bmap = torch.load(str(odir / "mp_rank_00_model_states_fp8_map.pt"), map_location="cpu", weights_only=True)
        check_same_sd(back["module"], q_sd, "fp8 file")
        back_deq = {k: (v.to(torch.float32) * bmap[k.rsplit(".", 1)[0]] if v.dtype == torch.float8_e4m3fn else v)
                    for k, v in back["module"].items()}
        check_same_sd(back_deq, deq, "fp8 dequantisation")
        rel = max(float(((deq[k] - osd[k]).abs().max() / osd[k].abs().max())) for k in deq if k.rsplit(".", 1)[0] in names)
        extra_models["fp8"] = (load_into(cfg, convert(deq)), deq)
        roundtrip["fp8"] = {"quantised_tensors": len(names), "max_rel_weight_error": rel}

    reloaded = HunyuanVideoTransformer3DModel.from_pretrained(str(ddir)).eval()

    inputs_meta, checks, made = {}, {}, {}
    for i, (sfx, ispec) in enumerate(spec["inputs"].items()):
        row0 = made[ispec["row0_from"]] if "row0_from" in ispec else None
        inp = make_inputs(cfg, ispec, seed + 100 + i, row0)
        made[sfx] = inp
        want = spec["intermediates"].get(sfx)
        sample, inter = run_reference(model, inp, capture=want is not None)
        if isinstance(want, list):
            inter = {k: inter[k] for k in want}
        assert torch.isfinite(sample).all()
        sample2, _ = run_reference(reloaded, inp, False)
        save_file({k: v.contiguous() for k, v in inp.items()}, str(fdir / f"inputs{sfx}.safetensors"))
        save_file({"sample": sample}, str(fdir / f"outputs{sfx}.safetensors"), metadata=st_meta(name, CALL))
        if want is not None:
            save_file(inter, str(fdir / f"intermediates{sfx}.safetensors"), metadata=st_meta(name, CALL))
        scale = float(sample.abs().max())
        tol = 1e-4 * max(1.0, scale)
        c = {"sample_abs_max": scale, "sample_std": float(sample.std()),
             "max_abs_diff_from_pretrained_reload": max_abs(sample, sample2)}
        with torch.no_grad():
            # original semantics (varlen segments) on the ORIGINAL-layout weights
            o = original_forward(osd, ocfg, inp["hidden_states"], inp["timestep"], inp["encoder_hidden_states"],
                                 inp["encoder_attention_mask"], inp["pooled_projections"], inp["guidance"])
            c["max_abs_diff_original_semantics_vs_diffusers"] = max_abs(o, sample)
            # the padded text rows do not matter: per row, keep only the valid text and no padding
            trunc = []
            for b, v in enumerate(ispec["valid"]):
                one = {k: inp[k][b:b + 1] for k in inp}
                one["encoder_hidden_states"] = one["encoder_hidden_states"][:, :v]
                one["encoder_attention_mask"] = one["encoder_attention_mask"][:, :v]
                trunc.append(run_reference(model, one, False)[0])
            c["max_abs_diff_text_truncated_to_valid_per_row_vs_padded"] = max_abs(torch.cat(trunc), sample)
            # an int64 mask gives the same result
            s64, _ = run_reference(model, {**inp, "encoder_attention_mask": inp["encoder_attention_mask"].long()}, False)
            c["max_abs_diff_int64_mask_vs_float_mask"] = max_abs(s64, sample)
            if row0 is not None:
                c["max_abs_diff_batch_row0_vs_batch1_output"] = max_abs(
                    sample[:1], load_file(str(fdir / f"outputs{ispec['row0_from']}.safetensors"))["sample"])
            for tag, (m2, sd2) in extra_models.items():
                s2, _ = run_reference(m2, inp, False)
                save_file({"sample": s2}, str(fdir / f"outputs_{tag}{sfx}.safetensors"),
                          metadata=st_meta(name, CALL + f"; weights: original/{'ema_module.pt[ema]' if tag == 'ema' else 'fp8 dequantised'}"))
                o2 = original_forward(sd2, ocfg, inp["hidden_states"], inp["timestep"], inp["encoder_hidden_states"],
                                      inp["encoder_attention_mask"], inp["pooled_projections"], inp["guidance"])
                c[f"{tag}.sample_abs_max"] = float(s2.abs().max())
                c[f"{tag}.max_abs_diff_vs_module_output"] = max_abs(s2, sample)
                c[f"{tag}.max_abs_diff_original_semantics_vs_diffusers"] = max_abs(o2, s2)
                assert c[f"{tag}.max_abs_diff_original_semantics_vs_diffusers"] < tol, c
        for k in ("max_abs_diff_from_pretrained_reload", "max_abs_diff_original_semantics_vs_diffusers",
                  "max_abs_diff_text_truncated_to_valid_per_row_vs_padded", "max_abs_diff_int64_mask_vs_float_mask",
                  "max_abs_diff_batch_row0_vs_batch1_output"):
            if k in c:
                assert c[k] < tol, (k, c)
        checks[f"inputs{sfx}"] = c
        S = 1
        for dd, pp in zip(ispec["shape"][2:], (cfg["patch_size_t"], cfg["patch_size"], cfg["patch_size"])):
            S *= dd // pp
        inputs_meta[f"inputs{sfx}"] = {
            "hidden_states": list(ispec["shape"]),
            "timestep": ispec["timestep"],
            "guidance": ispec["guidance"],
            "encoder_hidden_states": [ispec["shape"][0], ispec["text_len"], cfg["text_embed_dim"]],
            "encoder_attention_mask": "float32 [B, L], 1.0 for the first `valid` rows, 0.0 after (right padding)",
            "valid_text_len": ispec["valid"],
            "pooled_projections": [ispec["shape"][0], cfg["pooled_projection_dim"]],
            "video_tokens": S,
            "grid": [ispec["shape"][2] // cfg["patch_size_t"], ispec["shape"][3] // cfg["patch_size"],
                     ispec["shape"][4] // cfg["patch_size"]],
            "row0_equals": f"inputs{ispec['row0_from']}" if row0 is not None else None,
            "intermediate_keys": sorted(inter) if want is not None else [],
            "input_seed": seed + 100 + i,
        }

    files = {}
    for p in sorted(fdir.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(fdir))] = {"bytes": p.stat().st_size, "sha256": sha256(p)}
    meta = {
        "fixture": name,
        "versions": versions,
        "seed": seed,
        "weight_init": "torch.manual_seed(seed) -> HunyuanVideoTransformer3DModel(**config); then every parameter "
        "re-drawn from torch.Generator().manual_seed(seed+1) (ema weights: seed+2) in named_parameters() order: "
        "weights with ndim>=2 N(0,1/fan_in), biases N(0,0.01), 1-D weights (norm gains) 1+N(0,0.0625)",
        "diffusers_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "original_config": ocfg,
        "hidden_size": h,
        "head_dim": cfg["attention_head_dim"],
        "mlp_dim": int(h * cfg["mlp_ratio"]),
        "refiner_mlp_dim": int(h * 4.0),
        "inputs": inputs_meta,
        "verification": {"roundtrip": roundtrip, "forward": checks},
        "intermediates_doc": {k: v for k, v in INTERMEDIATE_DOCS.items()},
        "notes": [
            "encoder_attention_mask is stored as float32 (what HunyuanVideoPipeline passes: "
            "prompt_attention_mask.to(transformer_dtype)); an int64 mask gives the same output "
            "(verification.forward.*.max_abs_diff_int64_mask_vs_float_mask).",
            "The masks are right-padded. diffusers' joint-attention mask only uses the COUNT of ones per row "
            "(keys at index >= S + sum(mask) are masked), the refiner uses the mask element-wise; both agree only "
            "for right padding.",
            "Rows of the text stream beyond the valid length (refiner.out, double0.out_text, single0.out_text) are "
            "implementation-specific: diffusers lets padded queries attend to all valid keys, the release's varlen "
            "attention lets them attend only to each other. They never reach the video tokens: the video output "
            "equals running each row with its text truncated to the valid length "
            "(max_abs_diff_text_truncated_to_valid_per_row_vs_padded).",
            "timestep and guidance are float32 (not rounded); guidance is the embedded guidance scale * 1000. "
            "In a bf16 pipeline (both the release and diffusers compute 6.0*1000 in bf16) it becomes 6016.0.",
            "original/config.json is not part of the release (which has none); its keys are the original argument "
            "names. token_refiner_depth is an addition (the release hard-codes depth=2); a loader can also count "
            "txt_in.individual_token_refiner.blocks.N.",
        ],
        "files": files,
    }
    write_json(fdir / "meta.json", meta)
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default tests/data/hunyuan)")
    ap.add_argument("--only", choices=sorted(FIXTURES), action="append", help="generate only these fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    versions = {
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(FIXTURES):
        meta = make_fixture(name, FIXTURES[name], args.out, versions)
        total = sum(f["bytes"] for f in meta["files"].values())
        print(f"[{name}] {len(meta['files']) + 1} files, {total / 1024:.1f} KiB, "
              f"{meta['verification']['roundtrip']['num_parameters']} parameters")
        for k, c in meta["verification"]["forward"].items():
            print(f"  {k}: " + ", ".join(f"{kk}={vv:.3g}" for kk, vv in c.items()))
        if "fp8" in meta["verification"]["roundtrip"]:
            print(f"  fp8: {meta['verification']['roundtrip']['fp8']}")
    print(f"versions: {json.dumps(versions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
