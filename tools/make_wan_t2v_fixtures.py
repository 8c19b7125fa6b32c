#!/usr/bin/env python3
"""Writes the whole-pipeline Wan 2.1 text-to-video fixture in tests/data/wan_t2v/.

A tiny WanPipeline (diffusers) made of the parts the per-part fixture scripts build — the tiny
UMT5 encoder and trained sentencepiece tokenizer (make_umt5_fixtures.py), a tiny DiT with 16
latent channels and text_dim = the encoder's width (make_wan_fixtures.py), the tiny Wan-VAE
(make_wan_vae_fixtures.py) and a scheduler configured to reproduce Wan's sampling
(make_scheduler_fixtures.py) — saved in both published layouts:

  diffusers/   model_index.json, transformer/, text_encoder/, tokenizer/, vae/, scheduler/
  original/    config.json + diffusion_pytorch_model.safetensors, models_t5_umt5-xxl-enc-bf16.pth
               (fp32 data under the release's name), Wan2.1_VAE.pth, google/umt5-xxl/

and reference outputs of a 2-step run (reference.safetensors):

  prompt_embeds, negative_prompt_embeds  [1, text_len, 32]   what encode_prompt gives the DiT
  noise                                  [1, 16, T, h, w]    torch.randn with the seed (CPU)
  latents                                [1, 16, T, h, w]    after the last step
  video                                  [1, 3, F, H, W]     vae.decode, in [-1, 1]
(the pipeline's output_type="np" frames are video / 2 + 0.5 clamped to [0, 1]: asserted here, not stored)

for each case in CASES (solver, guidance); meta.json records the request, versions and hashes.
Regenerate: .venv-tools/bin/python tools/make_wan_t2v_fixtures.py   (see tools/README.md)
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_scheduler_fixtures as sched_fx  # noqa: E402
import make_umt5_fixtures as umt5_fx  # noqa: E402
import make_wan_fixtures as dit_fx  # noqa: E402
import make_wan_vae_fixtures as vae_fx  # noqa: E402

ROOT = HERE.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "wan_t2v"

TEXT_DIM = umt5_fx.TINY_CONFIG["d_model"]
# tokens per prompt (Wan: 512): the original layout's config.json says text_len 16; diffusers'
# transformer config has no such field (WanPipeline's max_sequence_length): pass --text-len 16
TEXT_LEN = 16
DIT_CONFIG = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=2,
    attention_head_dim=12,
    in_channels=16,
    out_channels=16,
    text_dim=TEXT_DIM,
    freq_dim=256,
    ffn_dim=32,
    num_layers=2,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
    rope_max_seq_len=32,
)
REQUEST = dict(
    prompt="A cat walks on the grass, realistic style. 一只猫在草地上散步",
    width=64,
    height=48,
    num_frames=5,  # -> 2 latent frames of 6x8: 24 video tokens
    steps=2,
    shift=5.0,
    seed=42,
)
# (name, solver, guidance_scale)
CASES = [("unipc", "unipc", 5.0), ("euler_noguide", "euler", 1.0), ("dpmpp", "dpmpp", 4.0)]


def build_pipeline(tok_dir: Path, solver: str, shift: float):
    from diffusers import WanPipeline

    tokenizer = umt5_fx.build_tokenizer(tok_dir)
    text_encoder = umt5_fx.build_tiny_umt5(len(tokenizer.get_vocab()) if hasattr(tokenizer, "get_vocab") else 1000)
    transformer = dit_fx.build_model(DIT_CONFIG, seed=2024)
    vae = vae_fx.build_tiny_vae()
    scheduler = sched_fx.reference_scheduler(solver, REQUEST["steps"], shift)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae,
                       scheduler=scheduler)


def run_case(pipe, guidance: float) -> dict:
    from diffusers.utils.torch_utils import randn_tensor

    neg = umt5_fx.WAN_NEG_PROMPT if guidance != 1.0 else None
    r = REQUEST
    with torch.no_grad():
        pe, ne = pipe.encode_prompt(r["prompt"], neg, do_classifier_free_guidance=guidance != 1.0,
                                    max_sequence_length=TEXT_LEN)
        latent_shape = (1, 16, (r["num_frames"] - 1) // 4 + 1, r["height"] // 8, r["width"] // 8)
        noise = randn_tensor(latent_shape, generator=torch.Generator().manual_seed(r["seed"]), dtype=torch.float32)
        common = dict(prompt=r["prompt"], negative_prompt=neg, height=r["height"], width=r["width"],
                      num_frames=r["num_frames"], num_inference_steps=r["steps"], guidance_scale=guidance,
                      max_sequence_length=TEXT_LEN)
        latents = pipe(**common, generator=torch.Generator().manual_seed(r["seed"]), output_type="latent").frames
        frames = pipe(**common, generator=torch.Generator().manual_seed(r["seed"]), output_type="np").frames[0]
        vae = pipe.vae
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
        std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
        video = vae.decode(latents * std + mean, return_dict=False)[0]
    out = {"prompt_embeds": pe, "noise": noise, "latents": latents, "video": video}
    if ne is not None:
        out["negative_prompt_embeds"] = ne
    # The pipeline's own decode path equals ours: frames = video / 2 + 0.5 clamped.
    d = float(((video[0].permute(1, 2, 3, 0) / 2 + 0.5).clamp(0, 1) - torch.from_numpy(frames)).abs().max())
    assert d < 1e-5, d  # the pipeline divides by 1/std where Wan multiplies by std
    return {k: v.contiguous().float() for k, v in out.items()}


def save_original_layout(pipe, tok_dir: Path, out: Path) -> None:
    out.mkdir(parents=True)
    sd = {dit_fx.diffusers_key_to_original(k): v.clone().contiguous() for k, v in pipe.transformer.state_dict().items()}
    save_file(sd, str(out / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    cfg = dit_fx.original_config(DIT_CONFIG)
    cfg["text_len"] = TEXT_LEN
    dit_fx.write_json(out / "config.json", cfg)
    umt5_fx.save_umt5_original(pipe.text_encoder, out / "models_t5_umt5-xxl-enc-bf16.pth")
    vae_fx.save_vae_original(pipe.vae, out / "Wan2.1_VAE.pth")
    shutil.copytree(tok_dir, out / "google" / "umt5-xxl")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True)
    tok_dir = a.out / "_tokenizer_build"
    meta = {"request": dict(REQUEST, text_len=TEXT_LEN, negative_prompt="Wan's default (sample_neg_prompt)"),
            "dit_config": {k: list(v) if isinstance(v, tuple) else v for k, v in DIT_CONFIG.items()},
            "cases": {}, "versions": {}}
    refs = {}
    pipe = None
    for name, solver, guidance in CASES:
        pipe = build_pipeline(tok_dir, solver, REQUEST["shift"])
        out = run_case(pipe, guidance)
        refs.update({f"{name}.{k}": v for k, v in out.items()})
        meta["cases"][name] = {"solver": solver, "guidance_scale": guidance,
                               "video_unclamped_fraction": float((out["video"].abs() < 0.999).float().mean())}
    pipe.save_pretrained(str(a.out / "diffusers"), safe_serialization=True)
    # The published diffusers tokenizer/ folders ship spiece.model beside tokenizer.json.
    shutil.copy(tok_dir / "spiece.model", a.out / "diffusers" / "tokenizer" / "spiece.model")
    save_original_layout(pipe, tok_dir, a.out / "original")
    shutil.rmtree(tok_dir)
    save_file(refs, str(a.out / "reference.safetensors"), metadata={"fixture": "wan_t2v tiny 2-step"})
    import diffusers
    import transformers

    meta["versions"] = {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                        "torch": torch.__version__, "python": platform.python_version()}
    dit_fx.write_json(a.out / "meta.json", meta)
    print(json.dumps(meta["cases"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
