#!/usr/bin/env python3
"""Times one diffusers DiT forward step on the CPU, as `uspdit bench dit` does.

--model wan2.1-t2v-1.3b (default): WanTransformer3DModel with the 1.3B shapes (dim 1536 = 12
heads x 128, ffn 8960, text_dim 4096, freq_dim 256, patch 1x2x2, in/out 16, qk RMSNorm across
heads, cross_attn_norm), `--layers` blocks.
--model hunyuanvideo: HunyuanVideoTransformer3DModel with HYVideo-T/2-cfgdistill's shapes (3072 =
24 heads x 128, 2 refiner blocks, text 4096, pooled 768, guidance embedding, patch 1x2x2, RoPE
16/56/56), `--layers` double-stream and `--single-layers` single-stream blocks.
Random weights (timing only), batch 1, the same inputs as `uspdit bench dit`:

  hidden_states         [1, 16, (T-1)/4+1, H/8, W/8]   (T = --num-frames, H/W = --height/--width)
  timestep              [1] = 500
  encoder_hidden_states [1, --text-len, 4096]
  (hunyuanvideo) encoder_attention_mask [1, --text-len], the last --text-padding entries 0;
                 pooled_projections [1, 768]; guidance [1] = 6000

bf16 = build in fp32, then `model.to(torch.bfloat16)` and bf16 inputs (how diffusers users run
bf16 on the CPU; everything, norms and scale_shift_tables included, is then bf16; diffusers
itself upcasts norms/modulation/residuals to fp32 inside the forward). Prints, like uspdit:

  step time: X ms (Y ms per layer)

Run with the tools venv (tools/README.md), e.g.
  .venv-tools/bin/python tools/bench_dit_diffusers.py --layers 2 --height 128 --width 224 \
      --num-frames 17 --text-len 512 --dtype bf16 --threads 2 --iters 3 --warmup 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Flag names follow `uspdit bench dit` (underscored spellings accepted too).
    p.add_argument("--model", choices=["wan2.1-t2v-1.3b", "hunyuanvideo"], default="wan2.1-t2v-1.3b")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--single-layers", "--single_layers", type=int, default=None, dest="single_layers",
                   help="hunyuanvideo: single-stream blocks (default: --layers)")
    p.add_argument("--text-padding", "--text_padding", type=int, default=0, dest="text_padding",
                   help="hunyuanvideo: masked text tokens at the end")
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--height", type=int, default=128)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--num-frames", "--num_frames", "--frame-num", type=int, default=9, dest="num_frames")
    p.add_argument("--text-len", "--text_len", type=int, default=512, dest="text_len")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = torch's default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda (scripts/gpu_check.sh: the same GPU as uspdit)")
    a = p.parse_args(argv)
    if a.single_layers is None:
        a.single_layers = a.layers if a.model == "hunyuanvideo" else 0
    if a.model != "hunyuanvideo" and a.single_layers:
        p.error("--single-layers is for --model hunyuanvideo")
    if a.layers < 0 or a.single_layers < 0 or a.layers + a.single_layers < 1:
        p.error("--layers plus --single-layers must be >= 1")
    if a.iters < 1 or a.warmup < 0 or a.batch < 1 or a.text_len < 1:
        p.error("--iters, --batch and --text-len must be >= 1")
    if not 0 <= a.text_padding < a.text_len:
        p.error("--text-padding must be below --text-len")
    if a.height % 16 or a.width % 16:
        p.error("--height and --width must be multiples of 16 (VAE 8x then patch 2x)")
    if a.num_frames % 4 != 1:
        p.error("--num-frames must be 4n+1 (the VAE compresses time 4x)")
    return a


def wan_1_3b_config(layers: int) -> dict:
    # Wan 2.1 T2V 1.3B (diffusers' Wan-AI/Wan2.1-T2V-1.3B-Diffusers transformer/config.json).
    return dict(
        patch_size=(1, 2, 2),
        num_attention_heads=12,
        attention_head_dim=128,
        in_channels=16,
        out_channels=16,
        text_dim=4096,
        freq_dim=256,
        ffn_dim=8960,
        num_layers=layers,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        eps=1e-6,
        image_dim=None,
        added_kv_proj_dim=None,
        rope_max_seq_len=1024,
    )


def hunyuanvideo_config(layers: int, single_layers: int) -> dict:
    # HYVideo-T/2-cfgdistill (diffusers' hunyuanvideo-community/HunyuanVideo transformer/config.json).
    return dict(
        in_channels=16,
        out_channels=16,
        num_attention_heads=24,
        attention_head_dim=128,
        num_layers=layers,
        num_single_layers=single_layers,
        num_refiner_layers=2,
        mlp_ratio=4.0,
        patch_size=2,
        patch_size_t=1,
        qk_norm="rms_norm",
        guidance_embeds=True,
        text_embed_dim=4096,
        pooled_projection_dim=768,
        rope_theta=256.0,
        rope_axes_dim=(16, 56, 56),
    )


def main(argv=None) -> int:
    a = parse_args(argv)
    import torch
    import diffusers
    from diffusers import HunyuanVideoTransformer3DModel, WanTransformer3DModel

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[a.dtype]

    hunyuan = a.model == "hunyuanvideo"
    torch.manual_seed(a.seed)
    # default init (random; timing only)
    if hunyuan:
        model = HunyuanVideoTransformer3DModel(**hunyuanvideo_config(a.layers, a.single_layers))
    else:
        model = WanTransformer3DModel(**wan_1_3b_config(a.layers))
    device = torch.device(a.device)
    model = model.eval().to(device=device, dtype=dtype)

    gen = torch.Generator().manual_seed(a.seed + 1)
    latent = (a.batch, 16, (a.num_frames - 1) // 4 + 1, a.height // 8, a.width // 8)
    hidden_states = torch.randn(latent, generator=gen).to(dtype)
    timestep = torch.full((a.batch,), 500.0)
    encoder_hidden_states = torch.randn((a.batch, a.text_len, 4096), generator=gen).to(dtype)
    tokens = latent[2] * (latent[3] // 2) * (latent[4] // 2)
    kwargs = {}
    if hunyuan:
        mask = torch.ones((a.batch, a.text_len), dtype=torch.bool)
        mask[:, a.text_len - a.text_padding :] = False
        kwargs = dict(
            encoder_attention_mask=mask,
            pooled_projections=torch.randn((a.batch, 768), generator=gen).to(dtype),
            guidance=torch.full((a.batch,), 6000.0),
        )

    hidden_states, timestep, encoder_hidden_states = (
        t.to(device) for t in (hidden_states, timestep, encoder_hidden_states))
    kwargs = {k: v.to(device) for k, v in kwargs.items()}

    def sync():  # GPU kernels run asynchronously: time them to completion
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def step():
        return model(hidden_states, timestep, encoder_hidden_states, return_dict=False, **kwargs)[0]

    with torch.inference_mode():
        for _ in range(a.warmup):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(a.iters):
            out = step()
        sync()
        seconds = (time.perf_counter() - t0) / a.iters
    assert tuple(out.shape) == latent and torch.isfinite(out.float()).all(), "bad output"

    print(
        f"bench dit (diffusers {diffusers.__version__}, torch {torch.__version__}): {a.model}, "
        f"{a.layers}+{a.single_layers} layers, {a.width}x{a.height}, {a.num_frames} frames -> {tokens} video tokens, "
        f"text {a.text_len}, batch {a.batch}, {a.dtype}, {a.device}, threads {torch.get_num_threads()} "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
        f"attention backend {os.environ.get('DIFFUSERS_ATTN_BACKEND', 'native')}"
    )
    per_layer = seconds * 1e3 / (a.layers + a.single_layers)
    print(f"step time: {seconds * 1e3:.3f} ms ({per_layer:.3f} ms per layer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
