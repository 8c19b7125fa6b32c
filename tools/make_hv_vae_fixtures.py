#!/usr/bin/env python3
"""Reference fixtures for the C++ HunyuanVideo VAE decoder (src/models/hv_vae/).

Builds the tiny VAE of diffusers' tests (``AutoencoderKLHunyuanVideo``: in/out 3, latent 4,
block_out (8,8,8,8), layers_per_block 1, norm groups 4, scaling 0.476986, temporal 4, spatial 8,
mid attention) with seeded random weights (every parameter redrawn, so no GroupNorm weight is 1
and no bias is 0) and writes into ``tests/data/hv_vae/tiny/``:

  diffusers/                  config.json + diffusion_pytorch_model.safetensors (save_pretrained)
  original/                   config.json (AutoencoderKLCausal3D keys, sample_size 32, sample_tsize 16)
                              + pytorch_model.pt: the same state dict with every key prefixed `vae.`
                              (the release's loader strips it), torch.save'd
  original_wrapped/           the same config + {"state_dict": <unprefixed state dict>} (the other
                              form the release's loader accepts)
  inputs.safetensors          z<sfx>: DiT-space latents [B,4,T,h,w]
  outputs.safetensors         sample<sfx>: decode(z / scaling_factor), fp32 CPU, NOT clamped
  meta.json                   versions, config, shapes, checks

Untiled references (``sample``, ``sample_t1``, ``sample_b2``): diffusers' post_quant_conv + decoder
on the whole latent (framewise decoding off).

Tiled references (``sample_tiled``, ``sample_tiled_empty``): the ORIGINAL repository's algorithm
(Tencent-Hunyuan/HunyuanVideo @fa14b00 hyvideo/vae/autoencoder_kl_causal_3d.py,
temporal_tiled_decode / spatial_tiled_decode) transcribed below, driving diffusers'
post_quant_conv + decoder per tile, with the tile sizes the original derives from this config
(sample_size 32 -> 4-latent tiles at stride 3, 8 px blend, 24 px kept; sample_tsize 16 ->
4+1-latent tiles at stride 3, 4-frame blend, 13/12 frames kept). The same decode by diffusers'
own tiled path (enable_tiling(32, 32, 16, 24, 24, 12)) is compared and the difference recorded:
with these settings diffusers' algorithm is the original's (plus exact-size crops that are no-ops).
``sample_tiled_empty`` has T = 7 latents, so the last temporal tile is one latent whose only frame
is dropped (the original decodes it and keeps nothing).

Checks recorded in meta.json: the block-causal mask of diffusers (vectorised) equals the
original's loop version, and the mid-block attention with it equals a per-frame loop.

With ``--hv-vae-dir DIR`` (the original's hyvideo/vae/ directory, e.g. exported with
``git archive``) the original module AutoencoderKLCausal3D itself is built from
original/config.json, loaded (strict) from original/pytorch_model.pt with the release's key rule,
and its enable_tiling() decode is compared with the stored tiled references.

Usage (from the repository root):
    .venv-tools/bin/python tools/make_hv_vae_fixtures.py [--out DIR] [--hv-vae-dir hyvideo/vae]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import platform
import sys
import types
from pathlib import Path

import numpy as np
import safetensors
import torch
import torch.nn.functional as F

import diffusers
from diffusers import AutoencoderKLHunyuanVideo
from diffusers.models.autoencoders.autoencoder_kl_hunyuan_video import prepare_causal_attention_mask
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "hv_vae"
SEED = 2026

DIFFUSERS_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4,
    down_block_types=("HunyuanVideoDownBlock3D",) * 4, up_block_types=("HunyuanVideoUpBlock3D",) * 4,
    block_out_channels=(8, 8, 8, 8), layers_per_block=1, act_fn="silu", norm_num_groups=4,
    scaling_factor=0.476986, spatial_compression_ratio=8, temporal_compression_ratio=4,
    mid_block_add_attention=True,
)
# The original layout's config.json (AutoencoderKLCausal3D's constructor keys). sample_size and
# sample_tsize set the tiles: 32 px -> 4 latents, 16 frames -> 4 latents.
ORIGINAL_CONFIG = {
    "_class_name": "AutoencoderKLCausal3D",
    "in_channels": 3, "out_channels": 3, "latent_channels": 4,
    "down_block_types": ["DownEncoderBlockCausal3D"] * 4, "up_block_types": ["UpDecoderBlockCausal3D"] * 4,
    "block_out_channels": [8, 8, 8, 8], "layers_per_block": 1, "act_fn": "silu", "norm_num_groups": 4,
    "scaling_factor": 0.476986, "time_compression_ratio": 4, "sample_size": 32, "sample_tsize": 16,
    "mid_block_add_attention": True,
}
OVERLAP = 0.25  # the original's tile_overlap_factor

# suffix -> latent shape [B, 4, T, h, w], decoded untiled.
INPUTS = {"": (1, 4, 3, 6, 6), "_t1": (1, 4, 1, 5, 7), "_b2": (2, 4, 2, 3, 4)}
# Decoded with the original's tiling: 3 temporal tiles x 3x3 spatial tiles; and T = 7 where the
# last temporal tile decodes to nothing after its first frame is dropped.
TILED_INPUTS = {"_tiled": (1, 4, 8, 7, 7), "_tiled_empty": (1, 4, 7, 5, 5)}


def randomise_(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Weights N(0, 1/fan_in); biases N(0, 0.1^2); GroupNorm weights 1 + N(0, 0.25^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif leaf == "weight" and p.ndim == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.25)
            elif leaf == "weight":
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                raise RuntimeError(f"unhandled parameter {name} {tuple(p.shape)}")


def build_tiny_vae(seed: int = SEED) -> AutoencoderKLHunyuanVideo:
    torch.manual_seed(seed)
    vae = AutoencoderKLHunyuanVideo(**DIFFUSERS_CONFIG)
    randomise_(vae, torch.Generator().manual_seed(seed + 1))
    vae.use_framewise_decoding = False  # untiled unless asked
    return vae.eval()


def decode_untiled(vae, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return vae.decoder(vae.post_quant_conv(z / vae.config.scaling_factor)).contiguous()


# --------------------------------------------------------------------------------------------
# The original's tiled decode (hyvideo/vae/autoencoder_kl_causal_3d.py @fa14b00), transcribed.
# --------------------------------------------------------------------------------------------


class OriginalTiling:
    """The sizes AutoencoderKLCausal3D.__init__ derives from sample_size / sample_tsize."""

    def __init__(self, sample_size: int, sample_tsize: int, num_blocks: int, time_ratio: int):
        self.tile_sample_min_size = sample_size
        self.tile_latent_min_size = int(sample_size / (2 ** (num_blocks - 1)))
        self.tile_sample_min_tsize = sample_tsize
        self.tile_latent_min_tsize = sample_tsize // time_ratio


def blend_v(a, b, extent):
    extent = min(a.shape[-2], b.shape[-2], extent)
    for y in range(extent):
        b[:, :, :, y, :] = a[:, :, :, -extent + y, :] * (1 - y / extent) + b[:, :, :, y, :] * (y / extent)
    return b


def blend_h(a, b, extent):
    extent = min(a.shape[-1], b.shape[-1], extent)
    for x in range(extent):
        b[:, :, :, :, x] = a[:, :, :, :, -extent + x] * (1 - x / extent) + b[:, :, :, :, x] * (x / extent)
    return b


def blend_t(a, b, extent):
    extent = min(a.shape[-3], b.shape[-3], extent)
    for x in range(extent):
        b[:, :, x, :, :] = a[:, :, -extent + x, :, :] * (1 - x / extent) + b[:, :, x, :, :] * (x / extent)
    return b


def original_spatial_tiled_decode(decode_tile, z, t: OriginalTiling):
    overlap_size = int(t.tile_latent_min_size * (1 - OVERLAP))
    blend_extent = int(t.tile_sample_min_size * OVERLAP)
    row_limit = t.tile_sample_min_size - blend_extent
    rows = []
    for i in range(0, z.shape[-2], overlap_size):
        row = []
        for j in range(0, z.shape[-1], overlap_size):
            row.append(decode_tile(z[:, :, :, i:i + t.tile_latent_min_size, j:j + t.tile_latent_min_size]))
        rows.append(row)
    result_rows = []
    for i, row in enumerate(rows):
        result_row = []
        for j, tile in enumerate(row):
            if i > 0:
                tile = blend_v(rows[i - 1][j], tile, blend_extent)
            if j > 0:
                tile = blend_h(row[j - 1], tile, blend_extent)
            result_row.append(tile[:, :, :, :row_limit, :row_limit])
        result_rows.append(torch.cat(result_row, dim=-1))
    return torch.cat(result_rows, dim=-2)


def original_temporal_tiled_decode(decode_tile, z, t: OriginalTiling):
    overlap_size = int(t.tile_latent_min_tsize * (1 - OVERLAP))
    blend_extent = int(t.tile_sample_min_tsize * OVERLAP)
    t_limit = t.tile_sample_min_tsize - blend_extent
    row = []
    for i in range(0, z.shape[2], overlap_size):
        tile = z[:, :, i:i + t.tile_latent_min_tsize + 1, :, :]
        if tile.shape[-1] > t.tile_latent_min_size or tile.shape[-2] > t.tile_latent_min_size:
            decoded = original_spatial_tiled_decode(decode_tile, tile, t)
        else:
            decoded = decode_tile(tile)
        if i > 0:
            decoded = decoded[:, :, 1:, :, :]
        row.append(decoded)
    result_row = []
    for i, tile in enumerate(row):
        if i > 0:
            tile = blend_t(row[i - 1], tile, blend_extent)
            result_row.append(tile[:, :, :t_limit, :, :])
        else:
            result_row.append(tile[:, :, :t_limit + 1, :, :])
    return torch.cat(result_row, dim=2)


def original_tiled_decode(vae, z, t: OriginalTiling) -> torch.Tensor:
    """AutoencoderKLCausal3D._decode with enable_tiling(), on z / scaling_factor."""
    def decode_tile(tile):
        return vae.decoder(vae.post_quant_conv(tile))

    z = z / vae.config.scaling_factor
    with torch.no_grad():
        if z.shape[2] > t.tile_latent_min_tsize:
            return original_temporal_tiled_decode(decode_tile, z, t).contiguous()
        if z.shape[-1] > t.tile_latent_min_size or z.shape[-2] > t.tile_latent_min_size:
            return original_spatial_tiled_decode(decode_tile, z, t).contiguous()
        return decode_tile(z).contiguous()


def diffusers_tiled_decode(vae, z, t: OriginalTiling) -> torch.Tensor:
    stride = int(t.tile_latent_min_size * (1 - OVERLAP)) * 8
    tstride = int(t.tile_latent_min_tsize * (1 - OVERLAP)) * 4
    vae.enable_tiling(tile_sample_min_height=t.tile_sample_min_size, tile_sample_min_width=t.tile_sample_min_size,
                      tile_sample_min_num_frames=t.tile_sample_min_tsize, tile_sample_stride_height=stride,
                      tile_sample_stride_width=stride, tile_sample_stride_num_frames=tstride)
    vae.use_framewise_decoding = True
    with torch.no_grad():
        out = vae.decode(z / vae.config.scaling_factor, return_dict=False)[0].contiguous()
    vae.disable_tiling()
    vae.use_framewise_decoding = False
    return out


# --------------------------------------------------------------------------------------------
# Causal mask checks
# --------------------------------------------------------------------------------------------


def loop_causal_mask(n_frame: int, n_hw: int) -> torch.Tensor:
    """The original's prepare_causal_attention_mask (a Python loop)."""
    seq = n_frame * n_hw
    mask = torch.full((seq, seq), float("-inf"))
    for i in range(seq):
        mask[i, : (i // n_hw + 1) * n_hw] = 0
    return mask


def mid_attention_checks(vae) -> dict:
    vec = prepare_causal_attention_mask(31, 111, torch.float32, torch.device("cpu"))
    mask_equal = bool(torch.equal(vec, loop_causal_mask(31, 111)))
    # The mid block's attention on a 3-frame input vs per-frame attention over frames <= f.
    attn = vae.decoder.mid_block.attentions[0]
    gen = torch.Generator().manual_seed(SEED + 3)
    x = torch.randn(1, 8, 3, 2, 3, generator=gen)
    b, c, f, h, w = x.shape
    seq = x.permute(0, 2, 3, 4, 1).flatten(1, 3)
    with torch.no_grad():
        full = attn(seq, attention_mask=prepare_causal_attention_mask(f, h * w, x.dtype, x.device, batch_size=b))
        normed = attn.group_norm(seq.transpose(1, 2)).transpose(1, 2)
        q, k, v = attn.to_q(normed), attn.to_k(normed), attn.to_v(normed)
        parts = []
        for i in range(f):
            qi = q[:, i * h * w:(i + 1) * h * w]
            ki, vi = k[:, :(i + 1) * h * w], v[:, :(i + 1) * h * w]
            parts.append(F.scaled_dot_product_attention(qi, ki, vi))
        loop = attn.to_out[0](torch.cat(parts, 1)) + seq
    return {"vectorised_mask_equals_loop_mask": mask_equal,
            "mid_attention_masked_vs_per_frame_loop_max_abs": float((full - loop).abs().max())}


# --------------------------------------------------------------------------------------------
# Optional: the original module itself
# --------------------------------------------------------------------------------------------


def _einops_shim() -> types.ModuleType:
    """rearrange for the two patterns unet_causal_3d_blocks.py uses (einops is not installed)."""

    def rearrange(x, pattern, **kw):
        if pattern == "b c f h w -> b (f h w) c":
            return x.permute(0, 2, 3, 4, 1).flatten(1, 3)
        if pattern == "b (f h w) c -> b c f h w":
            return x.unflatten(1, (kw["f"], kw["h"], kw["w"])).permute(0, 4, 1, 2, 3)
        raise NotImplementedError(pattern)

    mod = types.ModuleType("einops")
    mod.rearrange = rearrange
    return mod


def decode_with_original_module(vae_dir: Path, original_dir: Path, z: torch.Tensor) -> torch.Tensor:
    sys.modules.setdefault("einops", _einops_shim())
    # hyvideo/vae/__init__.py imports ..constants; load the package's modules without it.
    pkg = types.ModuleType("hv_original_vae")
    pkg.__path__ = [str(vae_dir)]
    sys.modules["hv_original_vae"] = pkg
    mod = importlib.import_module("hv_original_vae.autoencoder_kl_causal_3d")
    cfg = json.loads((original_dir / "config.json").read_text())
    vae = mod.AutoencoderKLCausal3D.from_config(cfg).eval()
    ckpt = torch.load(str(original_dir / "pytorch_model.pt"), weights_only=True)
    if "state_dict" in ckpt:
        ckpt = ckpt["state_dict"]
    if any(k.startswith("vae.") for k in ckpt):
        ckpt = {k.replace("vae.", ""): v for k, v in ckpt.items() if k.startswith("vae.")}
    vae.load_state_dict(ckpt, strict=True)
    vae.enable_tiling()
    with torch.no_grad():
        return vae.decode(z / cfg["scaling_factor"], return_dict=False)[0].contiguous()


# --------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--hv-vae-dir", type=Path, default=None, help="the original's hyvideo/vae/ for a cross-check")
    args = ap.parse_args()
    torch.set_num_threads(1)

    out = args.out / "tiny"
    out.mkdir(parents=True, exist_ok=True)
    vae = build_tiny_vae(SEED)
    vae.save_pretrained(str(out / "diffusers"), safe_serialization=True)
    sd = {k: v.detach().clone().contiguous() for k, v in vae.state_dict().items()}
    for name, state in [("original", {"vae." + k: v for k, v in sd.items()}),
                        ("original_wrapped", {"state_dict": sd})]:
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / "config.json").write_text(json.dumps(ORIGINAL_CONFIG, indent=2) + "\n")
        torch.save(state, str(out / name / "pytorch_model.pt"))

    tiling = OriginalTiling(ORIGINAL_CONFIG["sample_size"], ORIGINAL_CONFIG["sample_tsize"],
                            len(ORIGINAL_CONFIG["block_out_channels"]), ORIGINAL_CONFIG["time_compression_ratio"])
    gen = torch.Generator().manual_seed(SEED + 7)
    inputs, outputs, checks = {}, {}, {}
    for sfx, shape in INPUTS.items():
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        inputs["z" + sfx] = z
        s = outputs["sample" + sfx] = decode_untiled(vae, z)
        checks["sample" + sfx] = {"shape": list(s.shape), "std": float(s.std()), "max_abs": float(s.abs().max())}
    for sfx, shape in TILED_INPUTS.items():
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        inputs["z" + sfx] = z
        s = outputs["sample" + sfx] = original_tiled_decode(vae, z, tiling)
        untiled = decode_untiled(vae, z)
        checks["sample" + sfx] = {
            "shape": list(s.shape), "std": float(s.std()),
            "max_abs_diff_vs_untiled": float((s - untiled).abs().max()),
            "max_abs_diff_vs_diffusers_tiled_decode": float((s - diffusers_tiled_decode(vae, z, tiling)).abs().max()),
        }
    checks["causal_mask"] = mid_attention_checks(vae)
    if args.hv_vae_dir is not None:
        for sfx in TILED_INPUTS:
            ref = decode_with_original_module(args.hv_vae_dir, out / "original", inputs["z" + sfx])
            checks["sample" + sfx]["max_abs_diff_original_module"] = float((ref - outputs["sample" + sfx]).abs().max())

    meta_str = f"diffusers {diffusers.__version__}, torch {torch.__version__}, seed {SEED}"
    save_file(inputs, str(out / "inputs.safetensors"), metadata={"fixture": meta_str})
    save_file(outputs, str(out / "outputs.safetensors"), metadata={"fixture": meta_str})

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "meta.json")
    meta = {
        "generator": "tools/make_hv_vae_fixtures.py",
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__,
        },
        "seed": SEED,
        "config": {"diffusers": {k: list(v) if isinstance(v, tuple) else v for k, v in DIFFUSERS_CONFIG.items()},
                   "original": ORIGINAL_CONFIG},
        "tiling": {"tile_latent_min_size": tiling.tile_latent_min_size,
                   "tile_latent_min_tsize": tiling.tile_latent_min_tsize, "overlap_factor": OVERLAP},
        "inputs": {"z" + s: list(v) for s, v in {**INPUTS, **TILED_INPUTS}.items()},
        "decode": "sample = post_quant_conv + decoder on z / scaling_factor (untiled), or the original's "
                  "tiled decode driving them per tile (tiled); fp32 CPU, not clamped",
        "checks": checks,
        "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in files},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(checks, indent=2))


if __name__ == "__main__":
    main()
