#!/usr/bin/env python3
"""Writes the whole-pipeline HunyuanVideo text-to-video fixture in tests/data/hv_t2v/.

A tiny HunyuanVideo made of the parts the per-part fixture scripts build — the tiny DiT of
make_hunyuan_fixtures.py (text_embed_dim / pooled_projection_dim set to the tiny encoders'
widths), the tiny VAE of make_hv_vae_fixtures.py — plus a tiny Llama (GQA: 2 query heads, 1 KV
head, 4 layers, the real vocabulary size 128320) and a tiny CLIP text tower (vocab 49408, legacy
eos_token_id 2) with seeded random weights, and the REAL tokenizers (tests/data/tokenizers/llama3
tokenizer.json, tests/data/tokenizers/clip vocab.json + merges.txt, referenced by relative
symlinks to keep the fixture small). Saved in both layouts:

  original/    hunyuan-video-t2v-720p/transformers/mp_rank_00_model_states.pt (+ config.json),
               hunyuan-video-t2v-720p/vae/ (config.json with sample_size 32 / sample_tsize 16:
               the release's tiling at a tiny scale, + pytorch_model.pt with `vae.` keys),
               text_encoder/ (LlamaForCausalLM's `model.` names, no lm_head: never read; +
               tokenizer.json), text_encoder_2/ (CLIPTextModel, `text_model.` names; + vocab,merges)
  diffusers/   transformer/, vae/ (diffusers config: the release's 256 px / 64 frame tiles, so a
               tiny video decodes untiled), text_encoder/ (LlamaModel names), text_encoder_2/,
               tokenizer/, tokenizer_2/, scheduler/

Text encoder weights are stored in fp16 and the reference runs them upcast to fp32 (the same
numbers; half the bytes).

reference.safetensors: a 2-step run of the ORIGINAL algorithm (Tencent-Hunyuan/HunyuanVideo
hyvideo/inference.py + pipelines/pipeline_hunyuan_video.py, transcribed below) in fp32 on CPU,
driving diffusers' HunyuanVideoTransformer3DModel / AutoencoderKLHunyuanVideo and transformers'
LlamaModel / CLIPTextModel:

  llama_ids, llama_mask [1, 351]      template(prompt.strip()), fast tokenizer, right padding
  text_states [1, 256, 4]             hidden_states[-3][:, 95:]
  text_mask [1, 256]                  attention_mask[:, 95:]
  clip_ids, clip_mask [1, 77]; pooled [1, 4]   CLIP pooler_output of the raw prompt
  sigmas [3], timesteps [2]           linspace(1, 0, N+1), shift 7, flow_reverse
  noise [1, 4, 5, 5, 5]               torch.randn(shape, generator=torch.Generator().manual_seed(SEED))
                                      (the engine's CPU draw; the release draws fp16 on CUDA)
  latents_1, latents_2                after each Euler step (fp32)
  video_original [3, 17, 40, 40]      the release's tiled decode (2 temporal tiles, 2x2 spatial)
  video_diffusers [3, 17, 40, 40]     one decoder call (the diffusers config's tiles are larger)
                                      both (x / 2 + 0.5).clamp(0, 1), before the uint8 truncation
  neg_text_states, neg_text_mask, neg_pooled, latents_cfg_2   --cfg-scale 3 with NEG_PROMPT:
                                      batch cat([neg, pos]), u + 3 (c - u)

reference_diffusers.safetensors: STOCK diffusers — HunyuanVideoPipeline.from_pretrained on the
diffusers/ folder (and diffusers_shift3/, the same parts with shift 3.0 set only in its
scheduler/scheduler_config.json), everything fp32, unpatched: its own tokenization (no strip),
FlowMatchEulerDiscreteScheduler from the folder, true CFG only with a negative prompt, the
framewise 16-frame VAE tiles. One part is passed in: the Llama tokenizer, as AutoTokenizer builds
it from tokenizer.json (transformers 5's LlamaTokenizerFast mis-tokenizes Llama 3; see below). Per case "<case>.latents" (output_type="latent") and
"<case>.video" (plain and cfg) [3, F, H, W] in [0, 1] (output_type="pt") at 48x32 (H x W; the pipeline wants
multiples of 16); "plain.frames_u8" [F, H, W, 3] is the
default PIL output (rounded). Cases: plain (guidance 6 embedded, no CFG), cfg (true_cfg_scale 3
with NEG_PROMPT), cfg_empty_negative (true_cfg_scale 3, negative_prompt ""), shift3.

Regenerate: .venv-tools/bin/python tools/make_hv_t2v_fixtures.py   (see tools/README.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_hunyuan_fixtures as dit_fx  # noqa: E402
import make_hv_vae_fixtures as vae_fx  # noqa: E402

import diffusers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, LlamaConfig, LlamaModel  # noqa: E402

ROOT = HERE.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "hv_t2v"
LLAMA_TOKENIZER = ROOT / "tests" / "data" / "tokenizers" / "llama3"
CLIP_TOKENIZER = ROOT / "tests" / "data" / "tokenizers" / "clip"
SEED = 2027

PROMPT = "  A cat walks on the grass, realistic style.\n"  # strip()ped as the release does
NEG_PROMPT = "low quality, blurry"
HEIGHT, WIDTH, FRAMES, STEPS = 40, 40, 17, 2
SHIFT, EMBEDDED_CFG, CFG = 7.0, 6.0, 3.0

# hyvideo/constants.py PROMPT_TEMPLATE["dit-llm-encode-video"]
TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video."
    "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
    "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
    "4. background environment, light, style and atmosphere."
    "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
)
CROP_START, TEXT_LEN = 95, 256
MAX_LENGTH = TEXT_LEN + CROP_START  # 351
CLIP_LEN = 77

LLAMA = dict(vocab_size=128320, hidden_size=4, intermediate_size=8, num_hidden_layers=4, num_attention_heads=2,
             num_key_value_heads=1, head_dim=2, rms_norm_eps=1e-5, rope_theta=500000.0,
             max_position_embeddings=512, hidden_act="silu", bos_token_id=128000, eos_token_id=128001,
             tie_word_embeddings=False)
CLIP = dict(vocab_size=49408, hidden_size=4, intermediate_size=8, num_hidden_layers=2, num_attention_heads=2,
            max_position_embeddings=77, layer_norm_eps=1e-5, hidden_act="quick_gelu", bos_token_id=0,
            eos_token_id=2, pad_token_id=1)


def dit_config() -> dict:
    meta = json.loads((ROOT / "tests" / "data" / "hunyuan" / "tiny" / "meta.json").read_text())
    cfg = dict(meta["diffusers_config"])
    cfg["text_embed_dim"] = LLAMA["hidden_size"]
    cfg["pooled_projection_dim"] = CLIP["hidden_size"]
    return cfg


def randomise_fp16_(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Every parameter re-drawn (matrices N(0, 1/fan_in), embeddings N(0, 1), vectors: norm gains
    1 + N(0, 0.25^2), biases N(0, 0.1^2)), then rounded to fp16 (the stored precision)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=gen) * 0.1
            elif p.ndim == 1:
                v = 1.0 + torch.randn(p.shape, generator=gen) * 0.25
            elif "embed" in name:
                v = torch.randn(p.shape, generator=gen)
            else:
                v = torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5
            p.copy_(v.half().float())


def half_state(model: torch.nn.Module, prefix: str, strip: str = "") -> dict:
    out = {}
    for k, v in model.state_dict().items():
        if "position_ids" in k:
            continue
        k = k[len(strip):] if strip and k.startswith(strip) else k
        out[prefix + k] = v.detach().half().contiguous()
    return out


def link(target: Path, at: Path) -> None:
    if at.is_symlink() or at.exists():
        at.unlink()
    at.symlink_to(os.path.relpath(target, at.parent))


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


# ---- the original pipeline, transcribed ----


def llama_tokenizer() -> tokenizers.Tokenizer:
    # AutoTokenizer of the release = the fast tokenizer built from tokenizer.json (transformers 5's
    # LlamaTokenizer would install a Metaspace pre-tokenizer: see hunyuanvideo_pipeline.md).
    tok = tokenizers.Tokenizer.from_file(str(LLAMA_TOKENIZER / "tokenizer.json"))
    pad = tok.token_to_id("<pad>")
    tok.enable_truncation(max_length=MAX_LENGTH)
    tok.enable_padding(direction="right", pad_id=pad, pad_token="<pad>", length=MAX_LENGTH)
    return tok


def encode_prompt(prompt: str, tok, clip_tok, llama, clip) -> dict:
    enc = tok.encode(TEMPLATE.format(prompt.strip()))
    ids = torch.tensor([enc.ids])
    mask = torch.tensor([enc.attention_mask])
    first = tok.decode(enc.ids[CROP_START:CROP_START + 3])
    assert prompt.strip().startswith(first.strip()), f"crop 95 does not start at the prompt: {first!r}"
    with torch.no_grad():
        hidden = llama(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-3]
    c = clip_tok(prompt.strip(), padding="max_length", max_length=CLIP_LEN, truncation=True, return_tensors="pt")
    with torch.no_grad():
        pooled = clip(input_ids=c["input_ids"], attention_mask=c["attention_mask"]).pooler_output
    return {"llama_ids": ids, "llama_mask": mask, "text_states": hidden[:, CROP_START:].contiguous(),
            "text_mask": mask[:, CROP_START:].contiguous(), "clip_ids": c["input_ids"],
            "clip_mask": c["attention_mask"], "pooled": pooled}


def flow_schedule(steps: int, shift: float):
    # FlowMatchDiscreteScheduler.set_timesteps with flow_reverse=True (sigmas 1 -> 0)
    s = torch.linspace(1, 0, steps + 1, dtype=torch.float32)
    sigmas = shift * s / (1 + (shift - 1) * s)
    return sigmas, (sigmas[:-1] * 1000).to(torch.float32)


def denoise(dit, noise, sigmas, timesteps, text: list, cfg_scale: float) -> list:
    """text: [cond] or [neg, cond] (the release's batch order). Returns the latents after each step."""
    states = torch.cat([t["text_states"] for t in text]).float()
    mask = torch.cat([t["text_mask"] for t in text])
    pooled = torch.cat([t["pooled"] for t in text]).float()
    b = len(text)
    # torch.tensor([g] * B, dtype=fp32).to(dit dtype = fp32) * 1000.0
    guidance = torch.tensor([EMBEDDED_CFG] * b, dtype=torch.float32) * 1000.0
    x, out = noise, []
    for i, t in enumerate(timesteps):
        xin = torch.cat([x] * b)
        with torch.no_grad():
            v = dit(hidden_states=xin, timestep=t.repeat(b), encoder_hidden_states=states,
                    encoder_attention_mask=mask, pooled_projections=pooled, guidance=guidance,
                    return_dict=False)[0]
        if b == 2:
            u, c = v.chunk(2)
            v = u + cfg_scale * (c - u)
        x = x.float() + v.float() * (sigmas[i + 1] - sigmas[i])
        out.append(x)
    return out


# ---- stock diffusers on the diffusers folder ----

STOCK_HEIGHT, STOCK_WIDTH = 48, 32  # HunyuanVideoPipeline refuses sizes that are not multiples of 16
STOCK_CASES = {  # name: (folder, pipeline kwargs)
    "plain": ("diffusers", {}),
    "cfg": ("diffusers", {"true_cfg_scale": CFG, "negative_prompt": NEG_PROMPT}),
    "cfg_empty_negative": ("diffusers", {"true_cfg_scale": CFG, "negative_prompt": ""}),
    "shift3": ("diffusers_shift3", {}),
}


def stock_diffusers_references(out: Path) -> dict:
    """Runs unpatched HunyuanVideoPipeline on the saved folders; asserts the defaults relied on."""
    from diffusers import HunyuanVideoPipeline
    from transformers import AutoTokenizer

    shifted = out / "diffusers_shift3"
    shifted.mkdir()
    for part in ("transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2",
                 "model_index.json"):
        link(out / "diffusers" / part, shifted / part)
    write_json(shifted / "scheduler" / "scheduler_config.json",
               {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, "num_train_timesteps": 1000})
    refs, pipes = {}, {}
    for name, (folder, kwargs) in STOCK_CASES.items():
        if folder not in pipes:
            # The one part not loaded as the folder names it: transformers 5's LlamaTokenizerFast puts a
            # Metaspace pre-tokenizer on Llama 3's byte-level tokenizer.json and tokenizes the template
            # wrongly (hunyuanvideo_pipeline.md, trap 8); AutoTokenizer builds it from tokenizer.json as
            # transformers 4.x's LlamaTokenizerFast, which HunyuanVideo's users run, does.
            tokenizer = AutoTokenizer.from_pretrained(str(out / folder / "tokenizer"))
            pipe = HunyuanVideoPipeline.from_pretrained(str(out / folder), tokenizer=tokenizer,
                                                        dtype=torch.float32)
            pipe.set_progress_bar_config(disable=True)
            # The defaults these references rely on: a diffusers release that changes one must say so.
            assert pipe.vae.tile_sample_min_num_frames == 16 and pipe.vae.tile_sample_stride_num_frames == 12
            assert pipe.vae.use_framewise_decoding and not pipe.vae.use_tiling
            # Its fast tokenizer must tokenize as tokenizer.json does (the engine's), or the text differs.
            ids = pipe.tokenizer(TEMPLATE.format(PROMPT), max_length=MAX_LENGTH, padding="max_length",
                                 truncation=True).input_ids
            assert ids == llama_tokenizer().encode(TEMPLATE.format(PROMPT)).ids, "tokenizers disagree"
            pipes[folder] = pipe
        pipe = pipes[folder]

        def run(output_type):
            with torch.no_grad():
                return pipe(prompt=PROMPT, height=STOCK_HEIGHT, width=STOCK_WIDTH, num_frames=FRAMES, num_inference_steps=STEPS,
                            guidance_scale=EMBEDDED_CFG, generator=torch.Generator().manual_seed(SEED),
                            output_type=output_type, return_dict=False, **kwargs)[0]

        refs[f"{name}.latents"] = run("latent")
        if name in ("plain", "cfg"):  # the decode is the same for every case: two keep the fixture small
            refs[f"{name}.video"] = run("pt")[0].permute(1, 0, 2, 3)  # [F, 3, H, W] -> [3, F, H, W]
        if name == "plain":
            refs["plain.frames_u8"] = torch.from_numpy(
                np.stack([np.array(frame) for frame in run("pil")[0]]))  # [F, H, W, 3] uint8
    return {k: v.contiguous() for k, v in refs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    orig, diff = out / "original", out / "diffusers"
    ckpt = orig / "hunyuan-video-t2v-720p"

    # ---- the parts ----
    cfg = dit_config()
    dit = dit_fx.build_model(cfg, SEED, SEED + 1)
    dit.save_pretrained(str(diff / "transformer"), safe_serialization=True)
    (ckpt / "transformers").mkdir(parents=True)
    osd = dit_fx.diffusers_to_original({k: v.detach() for k, v in dit.state_dict().items()}, cfg)
    torch.save({"module": osd}, str(ckpt / "transformers" / "mp_rank_00_model_states.pt"))
    write_json(ckpt / "transformers" / "config.json", dit_fx.original_config(cfg))

    vae = vae_fx.build_tiny_vae(SEED + 2)
    vae.save_pretrained(str(diff / "vae"), safe_serialization=True)
    (ckpt / "vae").mkdir(parents=True)
    torch.save({"vae." + k: v.detach().clone().contiguous() for k, v in vae.state_dict().items()},
               str(ckpt / "vae" / "pytorch_model.pt"))
    write_json(ckpt / "vae" / "config.json", vae_fx.ORIGINAL_CONFIG)

    torch.manual_seed(SEED + 3)
    llama = LlamaModel(LlamaConfig(**LLAMA)).eval()
    randomise_fp16_(llama, torch.Generator().manual_seed(SEED + 4))
    clip = CLIPTextModel(CLIPTextConfig(**CLIP)).eval()
    randomise_fp16_(clip, torch.Generator().manual_seed(SEED + 5))
    meta_st = {"format": "pt"}
    for root, prefix, arch in [(orig / "text_encoder", "model.", "LlamaForCausalLM"),
                               (diff / "text_encoder", "", "LlamaModel")]:
        root.mkdir(parents=True)
        save_file(half_state(llama, prefix), str(root / "model.safetensors"), metadata=meta_st)
        c = llama.config.to_dict()
        c["architectures"], c["torch_dtype"] = [arch], "float16"
        write_json(root / "config.json", c)
    clip_sd = half_state(clip, "text_model.", strip="text_model.")
    for root in (orig / "text_encoder_2", diff / "text_encoder_2"):
        root.mkdir(parents=True)
        save_file(clip_sd, str(root / "model.safetensors"), metadata=meta_st)
        c = clip.config.to_dict()
        c["architectures"], c["torch_dtype"] = ["CLIPTextModel"], "float16"
        write_json(root / "config.json", c)
    for d in (orig / "text_encoder", diff / "tokenizer"):
        d.mkdir(parents=True, exist_ok=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            link(LLAMA_TOKENIZER / name, d / name)
    for d in (orig / "text_encoder_2", diff / "tokenizer_2"):
        d.mkdir(parents=True, exist_ok=True)
        for name in ("vocab.json", "merges.txt"):
            link(CLIP_TOKENIZER / name, d / name)
    write_json(diff / "scheduler" / "scheduler_config.json",
               {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": SHIFT, "num_train_timesteps": 1000})
    write_json(diff / "model_index.json", {
        "_class_name": "HunyuanVideoPipeline", "transformer": ["diffusers", "HunyuanVideoTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLHunyuanVideo"], "text_encoder": ["transformers", "LlamaModel"],
        "tokenizer": ["transformers", "LlamaTokenizerFast"], "text_encoder_2": ["transformers", "CLIPTextModel"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]})

    # ---- the original algorithm ----
    tok, clip_tok = llama_tokenizer(), CLIPTokenizer.from_pretrained(str(CLIP_TOKENIZER))
    cond = encode_prompt(PROMPT, tok, clip_tok, llama, clip)
    neg = encode_prompt(NEG_PROMPT, tok, clip_tok, llama, clip)
    sigmas, timesteps = flow_schedule(STEPS, SHIFT)
    shape = (1, cfg["in_channels"], (FRAMES - 1) // 4 + 1, HEIGHT // 8, WIDTH // 8)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(SEED), dtype=torch.float32)
    latents = denoise(dit, noise, sigmas, timesteps, [cond], 1.0)
    latents_cfg = denoise(dit, noise, sigmas, timesteps, [neg, cond], CFG)
    tiling = vae_fx.OriginalTiling(vae_fx.ORIGINAL_CONFIG["sample_size"], vae_fx.ORIGINAL_CONFIG["sample_tsize"],
                                   len(vae_fx.ORIGINAL_CONFIG["block_out_channels"]),
                                   vae_fx.ORIGINAL_CONFIG["time_compression_ratio"])
    z = latents[-1]
    video_original = vae_fx.original_tiled_decode(vae, z, tiling)
    video_diffusers = vae_fx.decode_untiled(vae, z)
    assert video_original.shape == (1, 3, FRAMES, HEIGHT, WIDTH), video_original.shape

    def frames01(v):
        return (v / 2 + 0.5).clamp(0, 1)[0].contiguous()

    ref = {k: v.contiguous() for k, v in cond.items()}
    ref.update({"neg_" + k: v.contiguous() for k, v in neg.items() if k in ("text_states", "text_mask", "pooled")})
    ref.update({"sigmas": sigmas, "timesteps": timesteps, "noise": noise, "latents_1": latents[0],
                "latents_2": latents[1], "latents_cfg_2": latents_cfg[1],
                "video_original": frames01(video_original), "video_diffusers": frames01(video_diffusers)})
    ref = {k: (v.float() if v.is_floating_point() else v.long()).clone().contiguous() for k, v in ref.items()}
    save_file(ref, str(out / "reference.safetensors"))

    meta = {
        "generator": "tools/make_hv_t2v_fixtures.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "diffusers": diffusers.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "seed": SEED,
        "request": {"prompt": PROMPT, "neg_prompt": NEG_PROMPT, "height": HEIGHT, "width": WIDTH,
                    "video_length": FRAMES, "infer_steps": STEPS, "flow_shift": SHIFT, "flow_reverse": True,
                    "embedded_cfg_scale": EMBEDDED_CFG, "cfg_scale_of_latents_cfg_2": CFG, "seed": SEED},
        "dit_config": cfg, "llama_config": LLAMA, "clip_config": CLIP,
        "vae_original_config": vae_fx.ORIGINAL_CONFIG,
        "checks": {"crop_95_starts_at_prompt": True,
                   "video_original_vs_diffusers_max_abs": float((video_original - video_diffusers).abs().max()),
                   "llama_valid_tokens": int(cond["llama_mask"].sum()),
                   "clip_valid_tokens": int(cond["clip_mask"].sum())},
        "notes": [
            "Tokenized with the tokenizers library from tokenizer.json (the fast tokenizer the release's "
            "AutoTokenizer builds) and transformers' CLIPTokenizer from vocab.json + merges.txt; the prompts "
            "are plain ASCII, where transformers 5's CLIP normalisation equals 4.46.3's slow one.",
            "Text encoders run in fp32 on the fp16-stored weights; the release runs them in fp16.",
            "The noise is a CPU fp32 draw (the engine's); the release draws fp16 on CUDA.",
        ],
    }
    stock = stock_diffusers_references(out)
    save_file(stock, str(out / "reference_diffusers.safetensors"))
    meta["stock_diffusers"] = {
        "cases": {name: {"folder": folder, **{k: v for k, v in kwargs.items()}} for name, (folder, kwargs)
                  in STOCK_CASES.items()},
        "height": STOCK_HEIGHT, "width": STOCK_WIDTH,
    }
    write_json(out / "meta.json", meta)
    print(json.dumps(meta["checks"]))


if __name__ == "__main__":
    main()
