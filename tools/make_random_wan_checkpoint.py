#!/usr/bin/env python3
"""Writes a Wan 2.1 T2V checkpoint directory in the ORIGINAL release layout with random weights
at the published 1.3B or 14B shapes (optionally fewer layers), for memory and load-time
measurements of `uspdit forward` when the real weights are not at hand.

    .venv-tools/bin/python tools/make_random_wan_checkpoint.py --size 1.3b --layers 10 --out /tmp/wan13b

--pipeline also writes the other parts of the release directory, so that `uspdit generate` runs
on it (bench/wan_t2v.sh): models_t5_umt5-xxl-enc-bf16.pth (umt5-xxl encoder shapes, bf16, 11.4
GB; --t5-layers N keeps N of its 24 blocks), Wan2.1_VAE.pth (Wan 2.1 VAE shapes, fp32) and google/umt5-xxl/ (the tiny fixture's
sentencepiece model: ids stay below its 1000 pieces, which every embedding row covers).

--tiny-parts instead links the tiny fixture's text encoder, VAE and tokenizer
(tests/data/wan_t2v/original) and sizes the DiT's text input to them (text_dim 32, text_len 16):
a real-width DiT that `uspdit generate` runs in seconds on the CPU (bench/caching.sh).
"""
import shutil
import sys
from pathlib import Path
import argparse
import json
import os

import torch
from safetensors.torch import save_file

SIZES = {"1.3b": dict(dim=1536, ffn_dim=8960, num_heads=12, num_layers=30),
         "14b": dict(dim=5120, ffn_dim=13824, num_heads=40, num_layers=40)}


def tensors(dim, ffn, layers, text_dim=4096, freq_dim=256, in_dim=16, out_dim=16):
    t = {"patch_embedding.weight": (dim, in_dim, 1, 2, 2), "patch_embedding.bias": (dim,)}
    for name, o, i in [("text_embedding.0", dim, text_dim), ("text_embedding.2", dim, dim),
                       ("time_embedding.0", dim, freq_dim), ("time_embedding.2", dim, dim),
                       ("time_projection.1", 6 * dim, dim)]:
        t[name + ".weight"], t[name + ".bias"] = (o, i), (o,)
    for n in range(layers):
        b = f"blocks.{n}."
        t[b + "modulation"] = (1, 6, dim)
        for attn in ("self_attn", "cross_attn"):
            for p in "qkvo":
                t[f"{b}{attn}.{p}.weight"], t[f"{b}{attn}.{p}.bias"] = (dim, dim), (dim,)
            t[f"{b}{attn}.norm_q.weight"] = t[f"{b}{attn}.norm_k.weight"] = (dim,)
        t[b + "norm3.weight"] = t[b + "norm3.bias"] = (dim,)
        t[b + "ffn.0.weight"], t[b + "ffn.0.bias"] = (ffn, dim), (ffn,)
        t[b + "ffn.2.weight"], t[b + "ffn.2.bias"] = (dim, ffn), (dim,)
    t["head.modulation"] = (1, 2, dim)
    t["head.head.weight"], t["head.head.bias"] = (4 * out_dim, dim), (4 * out_dim,)
    return t


def umt5_xxl_tensors(vocab=256384, dim=4096, ffn=10240, heads=64, head_dim=64, layers=24, buckets=32):
    t = {"token_embedding.weight": (vocab, dim), "norm.weight": (dim,)}
    for n in range(layers):
        b = f"blocks.{n}."
        t[b + "norm1.weight"] = t[b + "norm2.weight"] = (dim,)
        for p in "qkv":
            t[f"{b}attn.{p}.weight"] = (heads * head_dim, dim)
        t[b + "attn.o.weight"] = (dim, heads * head_dim)
        t[b + "pos_embedding.embedding.weight"] = (buckets, heads)
        t[b + "ffn.gate.0.weight"] = t[b + "ffn.fc1.weight"] = (ffn, dim)
        t[b + "ffn.fc2.weight"] = (dim, ffn)
    return t


def write_pipeline_parts(out: str, t5_layers: int = 24) -> None:
    here = Path(__file__).resolve().parent
    gen = torch.Generator().manual_seed(1)
    sd = {}
    for k, shape in umt5_xxl_tensors(layers=t5_layers).items():
        if len(shape) == 1:
            sd[k] = torch.ones(shape, dtype=torch.bfloat16)
        elif k.endswith("pos_embedding.embedding.weight") or k == "token_embedding.weight":
            sd[k] = torch.randn(shape, generator=gen).to(torch.bfloat16)
        else:  # Linear [out, in], scaled so activations stay O(1)
            sd[k] = (torch.randn(shape, generator=gen) / shape[1] ** 0.5).to(torch.bfloat16)
    torch.save(sd, os.path.join(out, "models_t5_umt5-xxl-enc-bf16.pth"))
    del sd
    sys.path.insert(0, str(here))
    import make_wan_vae_fixtures as vae_fx
    from diffusers import AutoencoderKLWan

    torch.manual_seed(2)
    vae = AutoencoderKLWan()  # Wan 2.1's own configuration
    vae_fx.randomise_(vae, torch.Generator().manual_seed(3))
    vae_fx.save_vae_original(vae, os.path.join(out, "Wan2.1_VAE.pth"))
    tok = here.parent / "tests" / "data" / "wan_t2v" / "original" / "google" / "umt5-xxl"
    shutil.copytree(tok, os.path.join(out, "google", "umt5-xxl"), dirs_exist_ok=True)
    print(f"wrote {out}: random umt5-xxl encoder (bf16), Wan 2.1 VAE, tiny tokenizer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="1.3b")
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pipeline", action="store_true", help="also the text encoder, VAE and tokenizer")
    ap.add_argument("--t5-layers", type=int, default=24,
                    help="umt5-xxl encoder blocks with --pipeline (the release: 24; fewer for quick memory runs)")
    ap.add_argument("--tiny-parts", action="store_true",
                    help="link the tiny fixture's text encoder, VAE and tokenizer (text_dim 32, text_len 16)")
    args = ap.parse_args()
    cfg = dict(SIZES[args.size])
    if args.layers is not None:
        cfg["num_layers"] = args.layers
    os.makedirs(args.out, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(s, generator=gen) * 0.02 for k, s in
          tensors(cfg["dim"], cfg["ffn_dim"], cfg["num_layers"], text_dim=32 if args.tiny_parts else 4096).items()}
    save_file(sd, os.path.join(args.out, "diffusion_pytorch_model.safetensors"))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump({"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": cfg["dim"], "eps": 1e-06,
                   "ffn_dim": cfg["ffn_dim"], "freq_dim": 256, "in_dim": 16, "model_type": "t2v",
                   "num_heads": cfg["num_heads"], "num_layers": cfg["num_layers"], "out_dim": 16,
                   "text_dim": 32 if args.tiny_parts else 4096, "text_len": 16 if args.tiny_parts else 512}, f,
                  indent=2)
    total = sum(v.numel() * 4 for v in sd.values())
    print(f"wrote {args.out}: {cfg['num_layers']} layers, {total / 2**30:.2f} GiB fp32")
    if args.pipeline:
        del sd
        write_pipeline_parts(args.out, args.t5_layers)
    elif args.tiny_parts:
        tiny = Path(__file__).resolve().parent.parent / "tests" / "data" / "wan_t2v" / "original"
        for part in ("models_t5_umt5-xxl-enc-bf16.pth", "Wan2.1_VAE.pth", "google"):
            link = Path(args.out) / part
            if not link.exists():
                link.symlink_to(tiny / part)


if __name__ == "__main__":
    main()
