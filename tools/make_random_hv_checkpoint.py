#!/usr/bin/env python3
"""Writes a HunyuanVideo text-to-video ckpts/ directory in the ORIGINAL release layout with random
weights at the real widths (fewer layers), so that `uspdit generate` runs a real-shaped pipeline
for time and memory measurements when the real weights are not at hand (bench/hunyuan_t2v.sh):

  hunyuan-video-t2v-720p/transformers/mp_rank_00_model_states.pt   the DiT (hidden 3072, 24 heads,
        text 4096, pooled 768) with --double / --single blocks, bf16, {"module": ...}, no config.json
        (derived from the shapes, as for the release)
  hunyuan-video-t2v-720p/vae/     the 884-16c-hy VAE (diffusers' default config = the release's),
        fp32 pytorch_model.pt with `vae.` keys + the release's config.json (sample_size 256, sample_tsize 64)
  text_encoder/                   Llama-3-8B widths (4096, 32 heads / 8 KV, FFN 14336, vocab 128320,
        θ 500000) with --llama-layers layers, fp16 safetensors, `model.` names, LlamaForCausalLM config;
        + tests/data/tokenizers/llama3 (the real Llama 3 tokenizer.json)
  text_encoder_2/                 CLIP-L text (768, 12 layers, 12 heads, vocab 49408, eos 2), fp16;
        + tests/data/tokenizers/clip (the real vocab.json, merges.txt)

    .venv-tools/bin/python tools/make_random_hv_checkpoint.py --out /tmp/hv_pipeline

Weights are the modules' default initialisation under torch.manual_seed(0): a video of noise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import make_hunyuan_fixtures as dit_fx  # noqa: E402
from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoTransformer3DModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel  # noqa: E402

VAE_CONFIG = {
    "_class_name": "AutoencoderKLCausal3D", "in_channels": 3, "out_channels": 3, "latent_channels": 16,
    "down_block_types": ["DownEncoderBlockCausal3D"] * 4, "up_block_types": ["UpDecoderBlockCausal3D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu", "norm_num_groups": 32,
    "scaling_factor": 0.476986, "time_compression_ratio": 4, "sample_size": 256, "sample_tsize": 64,
    "mid_block_add_attention": True,
}


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--double", type=int, default=2, help="double-stream blocks (the release: 20)")
    ap.add_argument("--single", type=int, default=2, help="single-stream blocks (the release: 40)")
    ap.add_argument("--llama-layers", type=int, default=4, help="Llama layers (the release: 32; 2 are skipped)")
    args = ap.parse_args()
    torch.manual_seed(0)
    out = args.out
    ckpt = out / "hunyuan-video-t2v-720p"

    cfg = dict(in_channels=16, out_channels=16, num_attention_heads=24, attention_head_dim=128,
               num_layers=args.double, num_single_layers=args.single, num_refiner_layers=2, mlp_ratio=4.0,
               patch_size=2, patch_size_t=1, qk_norm="rms_norm", guidance_embeds=True, text_embed_dim=4096,
               pooled_projection_dim=768, rope_theta=256.0, rope_axes_dim=(16, 56, 56), image_condition_type=None)
    with torch.no_grad():
        dit = HunyuanVideoTransformer3DModel(**cfg)
        osd = dit_fx.diffusers_to_original(dit.state_dict(), cfg)
        del dit
        (ckpt / "transformers").mkdir(parents=True, exist_ok=True)
        torch.save({"module": {k: v.to(torch.bfloat16) for k, v in osd.items()}},
                   str(ckpt / "transformers" / "mp_rank_00_model_states.pt"))
        del osd

        vae = AutoencoderKLHunyuanVideo()
        (ckpt / "vae").mkdir(parents=True, exist_ok=True)
        torch.save({"vae." + k: v.contiguous() for k, v in vae.state_dict().items()}, str(ckpt / "vae" / "pytorch_model.pt"))
        write_json(ckpt / "vae" / "config.json", VAE_CONFIG)
        del vae

        llama_cfg = LlamaConfig(vocab_size=128320, hidden_size=4096, intermediate_size=14336,
                                num_hidden_layers=args.llama_layers, num_attention_heads=32, num_key_value_heads=8,
                                rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=8192,
                                bos_token_id=128000, eos_token_id=128001, tie_word_embeddings=False)
        llama = LlamaModel(llama_cfg)
        te = out / "text_encoder"
        te.mkdir(parents=True, exist_ok=True)
        save_file({"model." + k: v.half().contiguous() for k, v in llama.state_dict().items()},
                  str(te / "model.safetensors"), metadata={"format": "pt"})
        c = llama_cfg.to_dict()
        c["architectures"], c["torch_dtype"] = ["LlamaForCausalLM"], "float16"
        write_json(te / "config.json", c)
        del llama
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(ROOT / "tests" / "data" / "tokenizers" / "llama3" / name, te / name)

        clip_cfg = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                  num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                                  layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2, pad_token_id=1)
        clip = CLIPTextModel(clip_cfg)
        te2 = out / "text_encoder_2"
        te2.mkdir(parents=True, exist_ok=True)
        sd = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in clip.state_dict().items()}
        save_file({"text_model." + k: v.half().contiguous() for k, v in sd.items() if "position_ids" not in k},
                  str(te2 / "model.safetensors"), metadata={"format": "pt"})
        c = clip_cfg.to_dict()
        c["architectures"], c["torch_dtype"] = ["CLIPTextModel"], "float16"
        write_json(te2 / "config.json", c)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(ROOT / "tests" / "data" / "tokenizers" / "clip" / name, te2 / name)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
