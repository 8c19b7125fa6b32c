#!/usr/bin/env python3
"""Reference fixtures for the C++ Wan-VAE decoder (src/models/wan_vae/).

Builds a tiny diffusers ``AutoencoderKLWan`` (Wan 2.1 architecture: base_dim 8, z_dim 16,
dim_mult [1,1,1,1], num_res_blocks 1, temperal_downsample [False,True,True]) with seeded random
weights (every parameter redrawn) and writes into ``tests/data/wan_vae/tiny/``:

  diffusers/                 config.json + diffusion_pytorch_model.safetensors (save_pretrained)
  original/Wan2.1_VAE.pth    the same state dict (encoder included) under the original Wan 2.1 names
                             (WanVAE_ in wan/modules/vae.py), torch.save as the release does
  inputs.safetensors         z<sfx>: DiT-space latents [B,16,T,h,w] (NOT un-normalised)
  outputs.safetensors        sample<sfx> = vae.decode(z / (1/std) + mean).sample, as WanPipeline does
  meta.json                  versions, config, shapes, checks

Importable: ``build_tiny_vae(seed)``, ``save_vae_diffusers(vae, dir)``, ``save_vae_original(vae, path)``,
``diffusers_to_original_vae_key(key, num_res_blocks)``, ``decode_like_pipeline(vae, z)``.

With ``--wan-vae-py PATH`` (Wan2.1's wan/modules/vae.py, e.g. from ``git show HEAD:wan/modules/vae.py``)
the original-layout file is also loaded into Wan's own ``WanVAE_`` (strict) and decoded with its
``decode(z, scale)``; the difference to diffusers is recorded in meta.json. This checks the name map.

Usage (from the repository root):
    .venv-tools/bin/python tools/make_wan_vae_fixtures.py [--out DIR] [--wan-vae-py vae.py]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import platform
import re
import sys
import types
from pathlib import Path

import numpy as np
import safetensors
import torch

import diffusers
from diffusers import AutoencoderKLWan
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "wan_vae"

TINY_CONFIG = {
    "base_dim": 8,
    "z_dim": 16,
    "dim_mult": [1, 1, 1, 1],
    "num_res_blocks": 1,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
}
SEED = 2025

# suffix -> latent shape [B, 16, T, h, w]
INPUTS = {
    "": (1, 16, 3, 4, 6),
    "_b2": (2, 16, 3, 4, 6),
    "_t1": (1, 16, 1, 5, 7),
}
# Tiled decode (diffusers' enable_tiling, blended overlapping tiles): latent shape and the tile
# size / stride in pixels, small so that the 72×88 frame has 3×4 tiles with partial edge tiles.
TILED_INPUT = (1, 16, 2, 9, 11)
TILING = dict(tile_sample_min_height=32, tile_sample_min_width=32, tile_sample_stride_height=24,
              tile_sample_stride_width=24)

# --------------------------------------------------------------------------------------------
# Name map: diffusers AutoencoderKLWan -> original WanVAE_ (Wan 2.1). R = num_res_blocks.
#   decoder.up_blocks.i.resnets.j.*         -> decoder.upsamples.{i*(R+2)+j}.*
#   decoder.up_blocks.i.upsamplers.0.*      -> decoder.upsamples.{i*(R+2)+R+1}.*
#   encoder.down_blocks.k.*                 -> encoder.downsamples.k.*   (same flat index)
#   {en,de}coder.mid_block.resnets.0 / attentions.0 / resnets.1 -> {en,de}coder.middle.0 / 1 / 2
#   resnet: norm1.gamma, conv1, norm2.gamma, conv2, conv_shortcut
#        -> residual.0.gamma, residual.2, residual.3.gamma, residual.6, shortcut
#   {en,de}coder.conv_in -> conv1; norm_out.gamma -> head.0.gamma; conv_out -> head.2
#   quant_conv -> conv1; post_quant_conv -> conv2
# --------------------------------------------------------------------------------------------

RESNET_PARTS = [
    ("norm1.gamma", "residual.0.gamma"),
    ("conv1.", "residual.2."),
    ("norm2.gamma", "residual.3.gamma"),
    ("conv2.", "residual.6."),
    ("conv_shortcut.", "shortcut."),
]


def _resnet_tail(tail: str) -> str:
    for d, o in RESNET_PARTS:
        if tail.startswith(d):
            return o + tail[len(d):]
    raise KeyError(tail)


def diffusers_to_original_vae_key(key: str, num_res_blocks: int) -> str:
    for d, o in [("quant_conv.", "conv1."), ("post_quant_conv.", "conv2.")]:
        if key.startswith(d):
            return o + key[len(d):]
    part, rest = key.split(".", 1)  # encoder / decoder
    assert part in ("encoder", "decoder"), key
    for d, o in [("conv_in.", "conv1."), ("norm_out.gamma", "head.0.gamma"), ("conv_out.", "head.2.")]:
        if rest.startswith(d):
            return f"{part}.{o}{rest[len(d):]}"
    m = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)$", rest)
    if m:
        kind, i, tail = m.group(1), int(m.group(2)), m.group(3)
        if kind == "attentions":
            return f"{part}.middle.1.{tail}"
        return f"{part}.middle.{0 if i == 0 else 2}.{_resnet_tail(tail)}"
    m = re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$", rest)
    if m:
        i, j, tail = int(m.group(1)), int(m.group(2)), m.group(3)
        return f"{part}.upsamples.{i * (num_res_blocks + 2) + j}.{_resnet_tail(tail)}"
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.*)$", rest)
    if m:
        i, tail = int(m.group(1)), m.group(2)
        return f"{part}.upsamples.{i * (num_res_blocks + 2) + num_res_blocks + 1}.{tail}"
    m = re.match(r"down_blocks\.(\d+)\.(.*)$", rest)
    if m:
        k, tail = int(m.group(1)), m.group(2)
        if tail.startswith(("resample.", "time_conv.")):
            return f"{part}.downsamples.{k}.{tail}"
        return f"{part}.downsamples.{k}.{_resnet_tail(tail)}"
    raise KeyError(f"no original name for diffusers key {key!r}")


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def randomise_(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Conv weights N(0, 1/fan_in), biases N(0, 0.1^2), RMS_norm gammas 1 + N(0, 0.25^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "gamma":
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.25)
            elif leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif leaf == "weight" and p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                raise RuntimeError(f"unhandled parameter {name} {tuple(p.shape)}")


def build_tiny_vae(seed: int = SEED, **overrides) -> AutoencoderKLWan:
    """The tiny Wan 2.1 VAE with every parameter drawn from torch.Generator().manual_seed(seed)."""
    cfg = dict(TINY_CONFIG, **overrides)
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(**cfg)
    randomise_(vae, torch.Generator().manual_seed(seed + 1))
    return vae.eval()


def save_vae_diffusers(vae: AutoencoderKLWan, out_dir) -> None:
    """config.json + diffusion_pytorch_model.safetensors, as save_pretrained writes them."""
    vae.save_pretrained(str(out_dir), safe_serialization=True)


def original_state_dict(vae: AutoencoderKLWan) -> dict:
    r = vae.config.num_res_blocks
    sd = {}
    for k, v in vae.state_dict().items():
        sd[diffusers_to_original_vae_key(k, r)] = v.detach().clone().contiguous()
    assert len(sd) == len(vae.state_dict()), "name map is not injective"
    return sd


def save_vae_original(vae: AutoencoderKLWan, path) -> None:
    """The whole VAE (encoder too) under Wan 2.1's names, torch.save'd like Wan2.1_VAE.pth."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(original_state_dict(vae), str(path))


def decode_like_pipeline(vae: AutoencoderKLWan, z: torch.Tensor) -> torch.Tensor:
    """WanPipeline's decode: latents / (1/std) + mean, then vae.decode (clamped to [-1, 1])."""
    c = vae.config
    mean = torch.tensor(c.latents_mean).view(1, c.z_dim, 1, 1, 1).to(z.dtype)
    inv_std = 1.0 / torch.tensor(c.latents_std).view(1, c.z_dim, 1, 1, 1).to(z.dtype)
    with torch.no_grad():
        return vae.decode(z / inv_std + mean, return_dict=False)[0].contiguous()


# --------------------------------------------------------------------------------------------
# Optional cross-check against Wan2.1's own module (wan/modules/vae.py)
# --------------------------------------------------------------------------------------------


def _einops_shim() -> types.ModuleType:
    """rearrange for the two patterns wan/modules/vae.py uses (einops is not installed)."""

    def rearrange(x, pattern, **kw):
        p = pattern.replace(" ", "")
        if p == "bcthw->(bt)chw":
            b, c, t, h, w = x.shape
            return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if p == "(bt)chw->bcthw":
            t = kw["t"]
            bt, c, h, w = x.shape
            return x.view(bt // t, t, c, h, w).permute(0, 2, 1, 3, 4)
        raise NotImplementedError(pattern)

    mod = types.ModuleType("einops")
    mod.rearrange = rearrange
    return mod


def decode_with_wan_module(vae_py: Path, sd: dict, cfg: dict, z: torch.Tensor, mean, std) -> torch.Tensor:
    sys.modules.setdefault("einops", _einops_shim())
    spec = importlib.util.spec_from_file_location("wan_vae_reference", str(vae_py))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.WanVAE_(
        dim=cfg["base_dim"], z_dim=cfg["z_dim"], dim_mult=cfg["dim_mult"], num_res_blocks=cfg["num_res_blocks"],
        attn_scales=cfg["attn_scales"], temperal_downsample=cfg["temperal_downsample"], dropout=0.0,
    ).eval()
    model.load_state_dict(sd, strict=True)
    scale = [torch.tensor(mean), 1.0 / torch.tensor(std)]
    with torch.no_grad():
        return model.decode(z, scale).float().clamp_(-1, 1)


# --------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--wan-vae-py", type=Path, default=None, help="Wan2.1 wan/modules/vae.py for a cross-check")
    args = ap.parse_args()
    torch.set_num_threads(1)

    out = args.out / "tiny"
    out.mkdir(parents=True, exist_ok=True)
    vae = build_tiny_vae(SEED)
    save_vae_diffusers(vae, out / "diffusers")
    save_vae_original(vae, out / "original" / "Wan2.1_VAE.pth")

    gen = torch.Generator().manual_seed(SEED + 7)
    inputs, outputs, checks = {}, {}, {}
    for sfx, shape in INPUTS.items():
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        inputs["z" + sfx] = z
        outputs["sample" + sfx] = decode_like_pipeline(vae, z)
        s = outputs["sample" + sfx]
        checks["sample" + sfx] = {
            "shape": list(s.shape), "std": float(s.std()), "fraction_clamped": float((s.abs() >= 1.0).float().mean()),
        }
    z = torch.randn(TILED_INPUT, generator=gen, dtype=torch.float32)
    inputs["z_tiled"] = z
    vae.enable_tiling(**TILING)
    outputs["sample_tiled"] = decode_like_pipeline(vae, z)
    vae.disable_tiling()
    untiled = decode_like_pipeline(vae, z)
    checks["sample_tiled"] = {"shape": list(outputs["sample_tiled"].shape), "tiling": TILING,
                              "max_abs_diff_vs_untiled": float((outputs["sample_tiled"] - untiled).abs().max())}
    if args.wan_vae_py is not None:
        c = vae.config
        sd = torch.load(str(out / "original" / "Wan2.1_VAE.pth"), weights_only=True)
        for sfx in INPUTS:
            ref = decode_with_wan_module(args.wan_vae_py, sd, TINY_CONFIG, inputs["z" + sfx], c.latents_mean,
                                         c.latents_std)
            checks["sample" + sfx]["max_abs_diff_wan_module_vs_diffusers"] = float(
                (ref - outputs["sample" + sfx]).abs().max())

    meta_str = f"diffusers {diffusers.__version__}, torch {torch.__version__}, seed {SEED}"
    save_file(inputs, str(out / "inputs.safetensors"), metadata={"fixture": meta_str})
    save_file(outputs, str(out / "outputs.safetensors"), metadata={"fixture": meta_str})

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "meta.json")
    meta = {
        "generator": "tools/make_wan_vae_fixtures.py",
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__,
        },
        "seed": SEED,
        "config": TINY_CONFIG,
        "inputs": dict({("z" + s): list(v) for s, v in INPUTS.items()}, z_tiled=list(TILED_INPUT)),
        "decode": "sample = AutoencoderKLWan.decode(z / (1/latents_std) + latents_mean).sample (clamped), fp32 CPU",
        "checks": checks,
        "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in files},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(checks, indent=2))


if __name__ == "__main__":
    main()
