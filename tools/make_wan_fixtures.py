#!/usr/bin/env python3
"""Reference fixtures for the C++ Wan 2.1 DiT.

Builds diffusers' ``WanTransformer3DModel`` at small configurations with seeded random weights
(every parameter re-randomised, so no norm weight stays at 1 and no bias at 0), and writes for
each fixture into ``tests/data/wan/<name>/``:

  diffusers/            config.json + diffusion_pytorch_model.safetensors, as save_pretrained writes them
  original/             the same weights in the original Wan 2.1 release layout (WanModel keys + config)
  original_sharded/     (tiny only) the original layout split into 2 shards + .index.json
  inputs<sfx>.safetensors         hidden_states [B,C,F,H,W], timestep [B] (f32), encoder_hidden_states [B,L,text_dim]
  outputs<sfx>.safetensors        sample = model(hidden_states, timestep, encoder_hidden_states, return_dict=False)[0]
  intermediates<sfx>.safetensors  named tensors captured with hooks (see tools/README.md)
  meta.json                       versions, configs, inputs, verification results, notes

The original layout is obtained by inverting diffusers' published Wan conversion
(scripts/convert_wan_to_diffusers.py); the script re-applies that forward conversion to the
inverted state dict and requires a bit-exact round trip. It also evaluates an independent
re-implementation of the ORIGINAL WanModel forward (wan/modules/model.py semantics: fp64
sinusoid, complex fp64 RoPE, context zero-padded to text_len) on the original-layout weights and
records how far it is from the diffusers output.

Usage (from the repository root):
    tools/setup_tools_venv.sh && .venv-tools/bin/python tools/make_wan_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import safetensors
import torch
import torch.nn.functional as F

import diffusers
from diffusers import WanTransformer3DModel
from diffusers.models.transformers import transformer_wan
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "wan"

# --------------------------------------------------------------------------------------------
# Fixture definitions
# --------------------------------------------------------------------------------------------

FIXTURES = {
    # diffusers' own unit-test config for WanTransformer3DModel.
    "tiny": {
        "seed": 1234,
        "config": {
            "patch_size": (1, 2, 2),
            "num_attention_heads": 2,
            "attention_head_dim": 12,
            "in_channels": 4,
            "out_channels": 4,
            "text_dim": 16,
            "freq_dim": 256,
            "ffn_dim": 32,
            "num_layers": 2,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 32,
        },
        # suffix -> (hidden_states shape, timesteps, text length)
        "inputs": {"": ((1, 4, 2, 16, 16), [500.0], 12)},
        "sharded": True,
        "intermediates": "all",
    },
    # head_dim 128 like the real model (RoPE split t/h/w = 44/42/42). One head and one layer keep
    # the fp32 weights at ~1.3 MB per layout (the 6*dim^2 time projection dominates).
    # 3x10x18 latents -> 3x5x9 = 135 tokens: odd, so it divides by no power of two.
    "rope128": {
        "seed": 4321,
        "config": {
            "patch_size": (1, 2, 2),
            "num_attention_heads": 1,
            "attention_head_dim": 128,
            "in_channels": 16,
            "out_channels": 16,
            "text_dim": 32,
            "freq_dim": 256,
            "ffn_dim": 64,
            "num_layers": 1,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 1024,
        },
        "inputs": {
            "": ((1, 16, 3, 10, 18), [731.0], 20),
            "_b2": ((2, 16, 3, 10, 18), [999.0, 17.0], 20),
        },
        "sharded": False,
        # intermediates for the batch-1 input only, and only these (size budget)
        "intermediates": "first",
        "intermediate_keys": [
            "timestep_sinusoid", "temb", "timestep_proj", "text_embed", "rope_cos", "rope_sin",
            "block0.attn1_q_normed", "block0.attn1_q_rope", "block0.out",
        ],
    },
}

ORIGINAL_TEXT_LEN = 512  # what the release's config.json says; see notes

# --------------------------------------------------------------------------------------------
# Key-name maps
# --------------------------------------------------------------------------------------------

# diffusers -> original, one row per parameter kind; "N" is the block index. This is the inverse
# of diffusers' TRANSFORMER_KEYS_RENAME_DICT restricted to the T2V model.
NAME_MAP = [
    ("patch_embedding.weight", "patch_embedding.weight"),
    ("patch_embedding.bias", "patch_embedding.bias"),
    ("condition_embedder.time_embedder.linear_1.{weight,bias}", "time_embedding.0.{weight,bias}"),
    ("condition_embedder.time_embedder.linear_2.{weight,bias}", "time_embedding.2.{weight,bias}"),
    ("condition_embedder.time_proj.{weight,bias}", "time_projection.1.{weight,bias}"),
    ("condition_embedder.text_embedder.linear_1.{weight,bias}", "text_embedding.0.{weight,bias}"),
    ("condition_embedder.text_embedder.linear_2.{weight,bias}", "text_embedding.2.{weight,bias}"),
    ("blocks.N.scale_shift_table", "blocks.N.modulation"),
    ("blocks.N.attn1.to_q.{weight,bias}", "blocks.N.self_attn.q.{weight,bias}"),
    ("blocks.N.attn1.to_k.{weight,bias}", "blocks.N.self_attn.k.{weight,bias}"),
    ("blocks.N.attn1.to_v.{weight,bias}", "blocks.N.self_attn.v.{weight,bias}"),
    ("blocks.N.attn1.to_out.0.{weight,bias}", "blocks.N.self_attn.o.{weight,bias}"),
    ("blocks.N.attn1.norm_q.weight", "blocks.N.self_attn.norm_q.weight"),
    ("blocks.N.attn1.norm_k.weight", "blocks.N.self_attn.norm_k.weight"),
    ("blocks.N.norm2.{weight,bias}", "blocks.N.norm3.{weight,bias}"),
    ("blocks.N.attn2.to_q.{weight,bias}", "blocks.N.cross_attn.q.{weight,bias}"),
    ("blocks.N.attn2.to_k.{weight,bias}", "blocks.N.cross_attn.k.{weight,bias}"),
    ("blocks.N.attn2.to_v.{weight,bias}", "blocks.N.cross_attn.v.{weight,bias}"),
    ("blocks.N.attn2.to_out.0.{weight,bias}", "blocks.N.cross_attn.o.{weight,bias}"),
    ("blocks.N.attn2.norm_q.weight", "blocks.N.cross_attn.norm_q.weight"),
    ("blocks.N.attn2.norm_k.weight", "blocks.N.cross_attn.norm_k.weight"),
    ("blocks.N.ffn.net.0.proj.{weight,bias}", "blocks.N.ffn.0.{weight,bias}"),
    ("blocks.N.ffn.net.2.{weight,bias}", "blocks.N.ffn.2.{weight,bias}"),
    ("scale_shift_table", "head.modulation"),
    ("proj_out.{weight,bias}", "head.head.{weight,bias}"),
]


def _pattern_to_regex(p: str) -> str:
    p = re.escape(p)
    p = p.replace(r"\{weight,bias\}", r"(?P<wb>weight|bias)")
    p = p.replace(r"blocks\.N\.", r"blocks\.(?P<n>[0-9]+)\.")
    return "^" + p + "$"


_INVERSE_RULES = [(re.compile(_pattern_to_regex(d)), o) for d, o in NAME_MAP]


def diffusers_key_to_original(key: str) -> str:
    for rx, tmpl in _INVERSE_RULES:
        m = rx.match(key)
        if m:
            out = tmpl
            if "n" in m.groupdict() and m.group("n") is not None:
                out = out.replace("blocks.N.", f"blocks.{m.group('n')}.")
            if "wb" in m.groupdict() and m.group("wb") is not None:
                out = out.replace("{weight,bias}", m.group("wb"))
            return out
    raise KeyError(f"no original name for diffusers key {key!r}")


# The forward conversion exactly as diffusers' scripts/convert_wan_to_diffusers.py performs it for
# T2V checkpoints: every (old, new) pair is applied with str.replace, in this order, to each key.
DIFFUSERS_T2V_RENAME = [
    ("time_embedding.0", "condition_embedder.time_embedder.linear_1"),
    ("time_embedding.2", "condition_embedder.time_embedder.linear_2"),
    ("text_embedding.0", "condition_embedder.text_embedder.linear_1"),
    ("text_embedding.2", "condition_embedder.text_embedder.linear_2"),
    ("time_projection.1", "condition_embedder.time_proj"),
    ("head.modulation", "scale_shift_table"),
    ("head.head", "proj_out"),
    ("modulation", "scale_shift_table"),
    ("ffn.0", "ffn.net.0.proj"),
    ("ffn.2", "ffn.net.2"),
    ("norm2", "norm__placeholder"),
    ("norm3", "norm2"),
    ("norm__placeholder", "norm3"),
    ("self_attn.q", "attn1.to_q"),
    ("self_attn.k", "attn1.to_k"),
    ("self_attn.v", "attn1.to_v"),
    ("self_attn.o", "attn1.to_out.0"),
    ("self_attn.norm_q", "attn1.norm_q"),
    ("self_attn.norm_k", "attn1.norm_k"),
    ("cross_attn.q", "attn2.to_q"),
    ("cross_attn.k", "attn2.to_k"),
    ("cross_attn.v", "attn2.to_v"),
    ("cross_attn.o", "attn2.to_out.0"),
    ("cross_attn.norm_q", "attn2.norm_q"),
    ("cross_attn.norm_k", "attn2.norm_k"),
]


def original_key_to_diffusers(key: str) -> str:
    for old, new in DIFFUSERS_T2V_RENAME:
        key = key.replace(old, new)
    return key


# --------------------------------------------------------------------------------------------
# Model construction
# --------------------------------------------------------------------------------------------


def randomise_(model: torch.nn.Module, gen: torch.Generator) -> dict:
    """Re-draw every parameter so that none stays at a trivial initial value.

    weights (Linear, Conv3d): N(0, 1/fan_in)       -> activations stay O(1)
    biases:                   N(0, 0.1^2)
    RMSNorm / LayerNorm gain: 1 + N(0, 0.25^2)
    LayerNorm bias:           N(0, 0.1^2)
    scale_shift_table:        N(0, 0.3^2)
    """
    stds = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if "scale_shift_table" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
                stds[name] = "N(0,0.3^2)"
            elif ".norm" in name and leaf == "weight":
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.25)
                stds[name] = "1+N(0,0.25^2)"
            elif leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
                stds[name] = "N(0,0.1^2)"
            elif leaf == "weight" and p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
                stds[name] = f"N(0,1/{fan_in})"
            else:
                raise RuntimeError(f"unhandled parameter {name} {tuple(p.shape)}")
    for name, p in model.named_parameters():
        if torch.all(p == 0) or torch.all(p == 1):
            raise RuntimeError(f"{name} is still trivial after randomisation")
    return stds


def build_model(cfg: dict, seed: int) -> WanTransformer3DModel:
    torch.manual_seed(seed)
    model = WanTransformer3DModel(**cfg)
    gen = torch.Generator().manual_seed(seed + 1)
    randomise_(model, gen)
    return model.eval()


def make_inputs(shape, timesteps, text_len, text_dim, seed) -> dict:
    gen = torch.Generator().manual_seed(seed)
    b = shape[0]
    assert len(timesteps) == b
    return {
        "hidden_states": torch.randn(shape, generator=gen, dtype=torch.float32),
        "timestep": torch.tensor(timesteps, dtype=torch.float32),
        "encoder_hidden_states": torch.randn((b, text_len, text_dim), generator=gen, dtype=torch.float32),
    }


# --------------------------------------------------------------------------------------------
# Reference forward with intermediates
# --------------------------------------------------------------------------------------------

INTERMEDIATE_DOCS = {
    "rope_cos": "[S, head_dim] model.rope(hidden_states)[0] squeezed: cos(pos_axis * freq) for the t|h|w "
    "segments of head_dim, each value repeated for both members of a pair (fp32)",
    "rope_sin": "[S, head_dim] model.rope(hidden_states)[1] squeezed, likewise with sin",
    "timestep_sinusoid": "[B, freq_dim] condition_embedder.timesteps_proj(timestep): [cos(t*f_i), sin(t*f_i)], "
    "f_i = exp(-ln(10000)*i/(freq_dim/2)) in fp32",
    "temb": "[B, dim] condition_embedder output 0 = time_embedder(timestep_sinusoid) "
    "(linear_1, SiLU, linear_2) = original `e`",
    "timestep_proj": "[B, 6*dim] condition_embedder output 1 = time_proj(SiLU(temb)) before unflatten(1,(6,dim)) "
    "= original `e0` flattened",
    "text_embed": "[B, L, dim] condition_embedder output 2 = linear_2(GELU_tanh(linear_1(encoder_hidden_states)))",
    "patch_embed": "[B, S, dim] patch_embedding(hidden_states).flatten(2).transpose(1,2), token = (f*H'+h)*W'+w",
    "block0.attn1_in": "[B, S, dim] input of blocks.0.attn1 = norm1(x)*(1+scale_msa)+shift_msa",
    "block0.attn1_q_normed": "[B, S, dim] blocks.0.attn1.norm_q(to_q(attn1_in)) (RMSNorm over all heads, before RoPE)",
    "block0.attn1_k_normed": "[B, S, dim] blocks.0.attn1.norm_k(to_k(attn1_in))",
    "block0.attn1_q_rope": "[B, S, heads, head_dim] query handed to the attention kernel (after RoPE)",
    "block0.attn1_k_rope": "[B, S, heads, head_dim] key handed to the attention kernel (after RoPE)",
    "block0.attn1_out": "[B, S, dim] blocks.0.attn1 output (after to_out.0, before * gate_msa)",
    "block0.attn2_in": "[B, S, dim] input of blocks.0.attn2 = norm2(x) (affine LayerNorm; original norm3)",
    "block0.attn2_out": "[B, S, dim] blocks.0.attn2 output (added to x without gate)",
    "block0.ffn_in": "[B, S, dim] input of blocks.0.ffn = norm3(x)*(1+c_scale_msa)+c_shift_msa",
    "block0.ffn_out": "[B, S, dim] blocks.0.ffn output (before * c_gate_msa)",
    "blockN.out": "[B, S, dim] hidden states after block N (one entry per block)",
    "proj_out": "[B, S, prod(patch)*out_channels] proj_out output before unpatchify",
}


def run_reference(model: WanTransformer3DModel, inputs: dict, capture: bool):
    """fp32 CPU forward; returns (sample, intermediates dict)."""
    inter: dict[str, torch.Tensor] = {}
    handles = []
    orig_dispatch = transformer_wan.dispatch_attention_fn

    def keep(name, t):
        inter[name] = t.detach().to(torch.float32).contiguous().clone()

    if capture:

        def rope_hook(_m, _a, out):
            cos, sin = out
            keep("rope_cos", cos[0, :, 0, :])
            keep("rope_sin", sin[0, :, 0, :])

        def patch_hook(_m, _a, out):
            keep("patch_embed", out.flatten(2).transpose(1, 2))

        def tproj_hook(_m, _a, out):
            keep("timestep_sinusoid", out)

        def cond_hook(_m, _a, out):
            keep("temb", out[0])
            keep("timestep_proj", out[1])
            keep("text_embed", out[2])

        def in_hook(name):
            def h(_m, args, kwargs):
                x = args[0] if args else kwargs["hidden_states"]
                keep(name, x)

            return h

        def out_hook(name):
            def h(_m, _a, out):
                keep(name, out)

            return h

        b0 = model.blocks[0]
        handles += [
            model.rope.register_forward_hook(rope_hook),
            model.patch_embedding.register_forward_hook(patch_hook),
            model.condition_embedder.timesteps_proj.register_forward_hook(tproj_hook),
            model.condition_embedder.register_forward_hook(cond_hook),
            b0.attn1.register_forward_pre_hook(in_hook("block0.attn1_in"), with_kwargs=True),
            b0.attn1.norm_q.register_forward_hook(out_hook("block0.attn1_q_normed")),
            b0.attn1.norm_k.register_forward_hook(out_hook("block0.attn1_k_normed")),
            b0.attn1.register_forward_hook(out_hook("block0.attn1_out")),
            b0.attn2.register_forward_pre_hook(in_hook("block0.attn2_in"), with_kwargs=True),
            b0.attn2.register_forward_hook(out_hook("block0.attn2_out")),
            b0.ffn.register_forward_pre_hook(in_hook("block0.ffn_in"), with_kwargs=True),
            b0.ffn.register_forward_hook(out_hook("block0.ffn_out")),
            model.proj_out.register_forward_hook(out_hook("proj_out")),
        ]
        for i, blk in enumerate(model.blocks):
            handles.append(blk.register_forward_hook(out_hook(f"block{i}.out")))

        calls = {"n": 0}

        def dispatch_spy(query, key, value, *a, **kw):
            # the first call of the forward is blocks.0.attn1 (self-attention, after RoPE)
            if calls["n"] == 0:
                keep("block0.attn1_q_rope", query)
                keep("block0.attn1_k_rope", key)
            calls["n"] += 1
            return orig_dispatch(query, key, value, *a, **kw)

        transformer_wan.dispatch_attention_fn = dispatch_spy
    try:
        with torch.no_grad():
            sample = model(
                hidden_states=inputs["hidden_states"],
                timestep=inputs["timestep"],
                encoder_hidden_states=inputs["encoder_hidden_states"],
                return_dict=False,
            )[0]
    finally:
        transformer_wan.dispatch_attention_fn = orig_dispatch
        for h in handles:
            h.remove()
    return sample.detach().to(torch.float32).contiguous(), inter


# --------------------------------------------------------------------------------------------
# Independent re-implementation of the ORIGINAL WanModel forward (wan/modules/model.py), used
# only to check the name map and to quantify the original-vs-diffusers numeric differences.
# --------------------------------------------------------------------------------------------


def _lin(x, sd, prefix):
    return F.linear(x, sd[prefix + ".weight"], sd[prefix + ".bias"])


def _rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * w


def _rope_params(max_seq_len, dim, theta=10000.0):
    freqs = torch.outer(
        torch.arange(max_seq_len, dtype=torch.float64),
        1.0 / torch.pow(theta, torch.arange(0, dim, 2, dtype=torch.float64) / dim),
    )
    return torch.polar(torch.ones_like(freqs), freqs)  # complex128 [max_seq_len, dim/2]


def original_forward(sd: dict, ocfg: dict, patch, x, t, context, text_len=None):
    dim, nh, eps = ocfg["dim"], ocfg["num_heads"], ocfg["eps"]
    d = dim // nh
    b = x.shape[0]
    # patch embedding
    x = F.conv3d(x, sd["patch_embedding.weight"], sd["patch_embedding.bias"], stride=tuple(patch))
    fp, hp, wp = x.shape[2:]
    x = x.flatten(2).transpose(1, 2)
    s = x.shape[1]
    # time: fp64 sinusoid of the timestep, [cos, sin]
    half = ocfg["freq_dim"] // 2
    pos = t.to(torch.float64)
    sinus = torch.outer(pos, torch.pow(10000.0, -torch.arange(half, dtype=torch.float64) / half))
    emb = torch.cat([torch.cos(sinus), torch.sin(sinus)], dim=1).float()
    e = _lin(F.silu(_lin(emb, sd, "time_embedding.0")), sd, "time_embedding.2")
    e0 = _lin(F.silu(e), sd, "time_projection.1").unflatten(1, (6, dim))
    # text: zero-pad each context to text_len rows, then the MLP
    if text_len is not None:
        context = torch.cat([context, context.new_zeros(b, text_len - context.shape[1], context.shape[2])], dim=1)
    ctx = _lin(F.gelu(_lin(context, sd, "text_embedding.0"), approximate="tanh"), sd, "text_embedding.2")
    # rope: complex fp64, split c - 2(c//3), c//3, c//3 of c = d/2 complex pairs
    c = d // 2
    freqs = torch.cat(
        [_rope_params(1024, d - 4 * (d // 6)), _rope_params(1024, 2 * (d // 6)), _rope_params(1024, 2 * (d // 6))],
        dim=1,
    )
    fr = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
    freqs_i = torch.cat(
        [
            fr[0][:fp].view(fp, 1, 1, -1).expand(fp, hp, wp, -1),
            fr[1][:hp].view(1, hp, 1, -1).expand(fp, hp, wp, -1),
            fr[2][:wp].view(1, 1, wp, -1).expand(fp, hp, wp, -1),
        ],
        dim=-1,
    ).reshape(s, 1, -1)

    def rope(q):  # q [B, S, nh, d]
        qc = torch.view_as_complex(q.to(torch.float64).reshape(b, s, nh, -1, 2))
        return torch.view_as_real(qc * freqs_i).flatten(3).float()

    def attn(q, k, v):  # [B, L, nh, d]
        q, k, v = (u.transpose(1, 2) for u in (q, k, v))
        w = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(d), dim=-1)
        return (w @ v).transpose(1, 2).flatten(2)

    def ln(u, w=None, bias=None):
        return F.layer_norm(u.float(), (dim,), w, bias, eps)

    for i in range(ocfg["num_layers"]):
        p = f"blocks.{i}."
        m = (sd[p + "modulation"] + e0).chunk(6, dim=1)
        y = ln(x) * (1 + m[1]) + m[0]
        q = _rms(_lin(y, sd, p + "self_attn.q"), sd[p + "self_attn.norm_q.weight"], eps).view(b, s, nh, d)
        k = _rms(_lin(y, sd, p + "self_attn.k"), sd[p + "self_attn.norm_k.weight"], eps).view(b, s, nh, d)
        v = _lin(y, sd, p + "self_attn.v").view(b, s, nh, d)
        y = _lin(attn(rope(q), rope(k), v), sd, p + "self_attn.o")
        x = x + y * m[2]
        y = ln(x, sd[p + "norm3.weight"], sd[p + "norm3.bias"])
        q = _rms(_lin(y, sd, p + "cross_attn.q"), sd[p + "cross_attn.norm_q.weight"], eps).view(b, s, nh, d)
        k = _rms(_lin(ctx, sd, p + "cross_attn.k"), sd[p + "cross_attn.norm_k.weight"], eps).view(b, -1, nh, d)
        v = _lin(ctx, sd, p + "cross_attn.v").view(b, -1, nh, d)
        x = x + _lin(attn(q, k, v), sd, p + "cross_attn.o")
        y = ln(x) * (1 + m[4]) + m[3]
        y = _lin(F.gelu(_lin(y, sd, p + "ffn.0"), approximate="tanh"), sd, p + "ffn.2")
        x = x + y * m[5]
    m = (sd["head.modulation"] + e.unsqueeze(1)).chunk(2, dim=1)
    x = _lin(ln(x) * (1 + m[1]) + m[0], sd, "head.head")
    # unpatchify: view(f,h,w,pt,ph,pw,c) -> einsum('fhwpqrc->cfphqwr')
    co = ocfg["out_dim"]
    x = x.view(b, fp, hp, wp, *patch, co)
    x = torch.einsum("bfhwpqrc->bcfphqwr", x)
    return x.reshape(b, co, fp * patch[0], hp * patch[1], wp * patch[2])


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def original_config(cfg: dict) -> dict:
    """config.json as the Wan 2.1 release has it (diffusers ConfigMixin, sorted keys), plus text_dim.

    The release's WanModel lists patch_size, cross_attn_norm, qk_norm, text_dim and window_size in
    ignore_for_config, so they are absent from real config.json files (defaults (1,2,2), True,
    True, 4096, (-1,-1)). Our fixtures use text_dim != 4096, so text_dim is added.
    """
    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    assert tuple(cfg["patch_size"]) == (1, 2, 2) and cfg["cross_attn_norm"] and cfg["qk_norm"]
    out = {
        "_class_name": "WanModel",
        "_diffusers_version": "0.30.0",
        "dim": dim,
        "eps": cfg["eps"],
        "ffn_dim": cfg["ffn_dim"],
        "freq_dim": cfg["freq_dim"],
        "in_dim": cfg["in_channels"],
        "model_type": "t2v",
        "num_heads": cfg["num_attention_heads"],
        "num_layers": cfg["num_layers"],
        "out_dim": cfg["out_channels"],
        "text_dim": cfg["text_dim"],
        "text_len": ORIGINAL_TEXT_LEN,
    }
    return dict(sorted(out.items()))


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_sharded(sd: dict, out_dir: Path, n_shards: int = 2) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = sorted(sd)
    per = math.ceil(len(keys) / n_shards)
    weight_map = {}
    total = 0
    for i in range(n_shards):
        fname = f"diffusion_pytorch_model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {k: sd[k] for k in keys[i * per : (i + 1) * per]}
        save_file(part, str(out_dir / fname), metadata={"format": "pt"})
        for k, v in part.items():
            weight_map[k] = fname
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_json(out_dir / "diffusion_pytorch_model.safetensors.index.json", index)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def max_abs(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


def make_fixture(name: str, spec: dict, out_root: Path, versions: dict) -> dict:
    cfg = spec["config"]
    seed = spec["seed"]
    fdir = out_root / name
    if fdir.exists():
        shutil.rmtree(fdir)
    fdir.mkdir(parents=True)
    model = build_model(cfg, seed)
    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]

    # (a) diffusers layout, exactly as save_pretrained writes it
    ddir = fdir / "diffusers"
    model.save_pretrained(str(ddir), safe_serialization=True)
    dsd = load_file(str(ddir / "diffusion_pytorch_model.safetensors"))
    msd = model.state_dict()
    assert set(dsd) == set(msd) and all(torch.equal(dsd[k], msd[k]) for k in msd)

    # (b) original layout by inverting the published conversion
    osd = {diffusers_key_to_original(k): v.clone().contiguous() for k, v in dsd.items()}
    assert len(osd) == len(dsd), "name map is not injective"
    odir = fdir / "original"
    odir.mkdir()
    save_file(osd, str(odir / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    ocfg = original_config(cfg)
    write_json(odir / "config.json", ocfg)

    # round trip: original file -> diffusers' forward conversion -> must equal the diffusers file
    back = load_file(str(odir / "diffusion_pytorch_model.safetensors"))
    conv = {original_key_to_diffusers(k): v for k, v in back.items()}
    assert set(conv) == set(dsd), sorted(set(conv) ^ set(dsd))
    for k in dsd:
        assert conv[k].dtype == dsd[k].dtype and conv[k].shape == dsd[k].shape and torch.equal(conv[k], dsd[k]), k
    # ... and loads strictly into a fresh diffusers model
    fresh = WanTransformer3DModel(**cfg)
    fresh.load_state_dict(conv, strict=True)
    roundtrip = {"original_to_diffusers_bit_exact": True, "num_tensors": len(dsd)}

    if spec["sharded"]:
        sdir = fdir / "original_sharded"
        write_sharded(osd, sdir)
        shutil.copy(odir / "config.json", sdir / "config.json")
        idx = json.loads((sdir / "diffusion_pytorch_model.safetensors.index.json").read_text())
        merged = {}
        for f in sorted(set(idx["weight_map"].values())):
            merged.update(load_file(str(sdir / f)))
        assert set(merged) == set(osd) and all(torch.equal(merged[k], osd[k]) for k in osd)
        roundtrip["sharded_bit_exact"] = True

    # reload the diffusers directory through from_pretrained and make sure it gives the same output
    reloaded = WanTransformer3DModel.from_pretrained(str(ddir)).eval()

    inputs_meta = {}
    checks = {}
    patch = tuple(cfg["patch_size"])
    for i, (sfx, (shape, timesteps, text_len)) in enumerate(spec["inputs"].items()):
        inp = make_inputs(shape, timesteps, text_len, cfg["text_dim"], seed + 100 + i)
        capture = spec["intermediates"] == "all" or (spec["intermediates"] == "first" and i == 0)
        sample, inter = run_reference(model, inp, capture)
        sample2, _ = run_reference(reloaded, inp, False)
        # same weights bit for bit; BLAS may still round differently for differently placed buffers
        reload_diff = max_abs(sample, sample2)
        assert reload_diff < 1e-5 * max(1.0, float(sample.abs().max())), reload_diff
        assert torch.isfinite(sample).all()
        save_file({k: v.contiguous() for k, v in inp.items()}, str(fdir / f"inputs{sfx}.safetensors"))
        # one metadata key: safetensors writes a multi-key metadata map in hash order, which would
        # make regenerated files differ byte-wise
        meta_st = {"fixture": json.dumps({
            "name": name,
            "diffusers_version": diffusers.__version__,
            "torch_version": torch.__version__,
            "call": "model(hidden_states, timestep, encoder_hidden_states, return_dict=False)[0], fp32, CPU",
        }, sort_keys=True)}
        save_file({"sample": sample}, str(fdir / f"outputs{sfx}.safetensors"), metadata=meta_st)
        if capture:
            if spec.get("intermediate_keys"):
                inter = {k: inter[k] for k in spec["intermediate_keys"]}
            save_file(inter, str(fdir / f"intermediates{sfx}.safetensors"), metadata=meta_st)

        # original-semantics forward on the ORIGINAL-layout weights
        with torch.no_grad():
            o_unpadded = original_forward(osd, ocfg, patch, inp["hidden_states"], inp["timestep"],
                                          inp["encoder_hidden_states"], text_len=None)
            o_padded = original_forward(osd, ocfg, patch, inp["hidden_states"], inp["timestep"],
                                        inp["encoder_hidden_states"], text_len=ORIGINAL_TEXT_LEN)
            ctx_pad = torch.cat([inp["encoder_hidden_states"],
                                 inp["encoder_hidden_states"].new_zeros(shape[0], ORIGINAL_TEXT_LEN - text_len,
                                                                        cfg["text_dim"])], dim=1)
            d_padded, _ = run_reference(model, {**inp, "encoder_hidden_states": ctx_pad}, False)
        # diffusers' fp32 sinusoid vs the original's fp64 one
        half = cfg["freq_dim"] // 2
        pos = inp["timestep"].double()
        sin64 = torch.outer(pos, torch.pow(10000.0, -torch.arange(half, dtype=torch.float64) / half))
        sin64 = torch.cat([torch.cos(sin64), torch.sin(sin64)], 1)
        with torch.no_grad():
            sin32 = model.condition_embedder.timesteps_proj(inp["timestep"])
        scale = float(sample.abs().max())
        c = {
            "sample_abs_max": scale,
            "sample_std": float(sample.std()),
            "max_abs_diff_original_semantics_unpadded_vs_diffusers": max_abs(o_unpadded, sample),
            f"max_abs_diff_original_semantics_text_len{ORIGINAL_TEXT_LEN}_vs_diffusers_zero_padded_context":
                max_abs(o_padded, d_padded),
            f"max_abs_diff_diffusers_unpadded_vs_zero_padded_to_{ORIGINAL_TEXT_LEN}": max_abs(sample, d_padded),
            "max_abs_diff_timestep_sinusoid_fp32_vs_fp64": max_abs(sin32, sin64),
            "max_abs_diff_from_pretrained_reload": reload_diff,
        }
        tol = 1e-4 * max(1.0, scale)
        assert c["max_abs_diff_original_semantics_unpadded_vs_diffusers"] < tol, c
        assert c[f"max_abs_diff_original_semantics_text_len{ORIGINAL_TEXT_LEN}_vs_diffusers_zero_padded_context"] < tol, c
        checks[f"inputs{sfx}"] = c
        inputs_meta[f"inputs{sfx}"] = {
            "hidden_states": list(shape),
            "timestep": timesteps,
            "encoder_hidden_states": [shape[0], text_len, cfg["text_dim"]],
            "tokens": (shape[2] // patch[0]) * (shape[3] // patch[1]) * (shape[4] // patch[2]),
            "grid": [shape[2] // patch[0], shape[3] // patch[1], shape[4] // patch[2]],
            "outputs": f"outputs{sfx}.safetensors",
            "intermediates": f"intermediates{sfx}.safetensors" if capture else None,
            "intermediate_keys": sorted(inter) if capture else [],
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
        "weight_init": "torch.manual_seed(seed) -> WanTransformer3DModel(**config); then every parameter "
        "re-drawn from torch.Generator().manual_seed(seed+1) in named_parameters() order: Linear/Conv "
        "weights N(0,1/fan_in), biases N(0,0.01), norm gains 1+N(0,0.0625), scale_shift_table N(0,0.09)",
        "diffusers_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "original_config": ocfg,
        "dim": dim,
        "head_dim": cfg["attention_head_dim"],
        "rope_split_t_h_w": [
            cfg["attention_head_dim"] - 4 * (cfg["attention_head_dim"] // 6),
            2 * (cfg["attention_head_dim"] // 6),
            2 * (cfg["attention_head_dim"] // 6),
        ],
        "inputs": inputs_meta,
        "verification": {"roundtrip": roundtrip, "forward": checks},
        "intermediates_doc": INTERMEDIATE_DOCS,
        "notes": [
            "Reference outputs use diffusers' input convention: encoder_hidden_states is used as given "
            "(L rows, unpadded); the transformer never pads it. The original WanModel zero-pads every "
            f"context to text_len={ORIGINAL_TEXT_LEN} rows before text_embedding and cross-attends to all "
            "of them (no mask), which changes the result (see verification.forward); diffusers' WanPipeline "
            "does the same zero padding before calling the transformer, so padding is the caller's job.",
            "outputs*.safetensors == original WanModel semantics with text_len equal to the number of context "
            "rows (checked with an independent re-implementation on the original-layout weights, see "
            "max_abs_diff_original_semantics_unpadded_vs_diffusers; residual differences come from the original's "
            "fp64 sinusoid/RoPE vs diffusers' fp32).",
            "original/config.json mimics the release (keys as written by diffusers ConfigMixin for WanModel, "
            "_diffusers_version 0.30.0) plus text_dim, which the release omits (WanModel ignore_for_config; "
            "default 4096). patch_size (1,2,2), qk_norm, cross_attn_norm and window_size (-1,-1) are omitted "
            "as in the release; text_dim can also be read from text_embedding.0.weight.shape[1].",
            "timestep is stored as float32 holding integers; diffusers casts it with .float() (no rounding).",
        ],
        "files": files,
    }
    write_json(fdir / "meta.json", meta)
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default tests/data/wan)")
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
        print(f"[{name}] {len(meta['files']) + 1} files, {total / 1024:.1f} KiB")
        for k, c in meta["verification"]["forward"].items():
            print(f"  {k}: " + ", ".join(f"{kk}={vv:.3g}" for kk, vv in c.items()))
    print(f"versions: {json.dumps(versions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
