#!/usr/bin/env python3
"""Writes the whole-pipeline Wan 2.1 text-to-video fixture in tests/data/wan_t2v/.

A tiny WanPipeline (diffusers) made of the parts the per-part fixture scripts build — the tiny
UMT5 encoder and trained sentencepiece tokenizer (make_umt5_fixtures.py), a tiny DiT with 16
latent channels and text_dim = the encoder's width (make_wan_fixtures.py), the tiny Wan-VAE
(make_wan_vae_fixtures.py) — saved in both published layouts:

  diffusers/   model_index.json, transformer/, text_encoder/, tokenizer/, vae/, scheduler/ with
               STOCK diffusers' UniPCMultistepScheduler as Wan-AI's -Diffusers folders carry it
               (flow sigmas, flow_shift 3.0 set only in scheduler_config.json)
  diffusers_shift7/, diffusers_dpm/, diffusers_euler/, diffusers_sigma_min/   the same parts (symlinks to diffusers/)
               with another scheduler_config.json: UniPC flow_shift 7.0,
               DPMSolverMultistepScheduler (flow) shift 4.0, FlowMatchEulerDiscreteScheduler shift 3.0,
               UniPC flow_shift 3.0 with final_sigmas_type "sigma_min"
  original/    config.json + diffusion_pytorch_model.safetensors, models_t5_umt5-xxl-enc-bf16.pth
               (fp32 data under the release's name), Wan2.1_VAE.pth, google/umt5-xxl/

Two references, one per layout:
  DIFFUSERS_CASES   WanPipeline.from_pretrained(<folder>) exactly as stock diffusers samples it
                    (its scheduler, its negative-prompt default ""), 3 steps: what a diffusers
                    folder must reproduce.
  ORIGINAL_CASES    Wan's generate.py sampling transcribed (run_original_case) on the same modules:
                    Wan's schedule (make_scheduler_fixtures.reference_scheduler: Wan's sigmas in
                    diffusers' solver objects, verified step for step against Wan's own
                    fm_solvers by make_scheduler_fixtures.py --wan-repo), both CFG branches on every
                    step, Wan's Chinese default negative prompt, 2 steps: what an original folder
                    must reproduce.

Per case (reference.safetensors):

  prompt_embeds, negative_prompt_embeds  [1, text_len, 32]   what encode_prompt gives the DiT
  noise                                  [1, 16, T, h, w]    torch.randn with the seed (CPU)
  latents                                [1, 16, T, h, w]    after the last step
  video                                  [1, 3, F, H, W]     vae.decode, in [-1, 1]
  sigmas [N+1], timesteps [N] (float64)  the schedule the reference sampled with
(the pipeline's output_type="np" frames are video / 2 + 0.5 clamped to [0, 1]: asserted here, not stored)

meta.json records the requests and versions. The diffusers defaults the references rely on are
asserted (check_diffusers_defaults): a pinned diffusers that changes one stops this script.
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
# The original layout: Wan's generate.py schedule. (name, solver, guidance_scale); 2 steps,
# shift 5 (generate.py's default), Wan's default negative prompt.
ORIGINAL_CASES = [("unipc", "unipc", 5.0), ("euler_noguide", "euler", 1.0), ("dpmpp", "dpmpp", 4.0)]

# The diffusers folders: (folder, scheduler class, config fields beyond the class defaults).
# The shifts are set only here, in scheduler_config.json.
UNIPC_FLOW = dict(prediction_type="flow_prediction", use_flow_sigmas=True)
FOLDERS = {
    "diffusers": ("UniPCMultistepScheduler", dict(UNIPC_FLOW, flow_shift=3.0)),
    "diffusers_shift7": ("UniPCMultistepScheduler", dict(UNIPC_FLOW, flow_shift=7.0)),
    "diffusers_dpm": ("DPMSolverMultistepScheduler", dict(UNIPC_FLOW, flow_shift=4.0)),
    "diffusers_euler": ("FlowMatchEulerDiscreteScheduler", dict(shift=3.0)),
    # UniPC ending at sigma_min instead of 0: its last step lands on σ = 1/1000 shifted, not on 0.
    "diffusers_sigma_min": ("UniPCMultistepScheduler", dict(UNIPC_FLOW, flow_shift=3.0, final_sigmas_type="sigma_min")),
}
DIFFUSERS_STEPS = 3  # the third step is where UniPC's second-order predictor first runs
NEGATIVE = "blurry, static, low quality"
# (name, folder, guidance_scale, negative_prompt or None = the pipeline's default "")
DIFFUSERS_CASES = [
    ("d3_neg", "diffusers", 5.0, NEGATIVE),
    ("d3_noneg", "diffusers", 5.0, None),
    ("d3_noguide", "diffusers", 1.0, None),
    ("d7_noneg", "diffusers_shift7", 4.0, None),
    ("d7_noguide", "diffusers_shift7", 1.0, None),
    ("ddpm_noneg", "diffusers_dpm", 4.0, None),
    ("deuler_neg", "diffusers_euler", 5.0, NEGATIVE),
    ("dsmin_noguide", "diffusers_sigma_min", 1.0, None),
]


def check_diffusers_defaults() -> None:
    """The class defaults the folders' configs leave to diffusers, and the behaviours the C++
    reproduces (src/sampling/diffusers_schedule.cpp): a pinned diffusers that changes one must
    stop this script rather than silently change the references."""
    import inspect

    import numpy as np
    from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler
    from diffusers.pipelines.wan import pipeline_wan

    u = UniPCMultistepScheduler(**UNIPC_FLOW, flow_shift=3.0).config
    want = dict(num_train_timesteps=1000, solver_order=2, solver_type="bh2", predict_x0=True, lower_order_final=True,
                disable_corrector=[], final_sigmas_type="zero", timestep_spacing="linspace", thresholding=False,
                use_dynamic_shifting=False, shift_terminal=None, use_karras_sigmas=False)
    for k, v in want.items():
        assert u[k] == v, f"diffusers changed UniPCMultistepScheduler's default {k}: {u[k]!r}, was {v!r}"
    d = DPMSolverMultistepScheduler(**UNIPC_FLOW, flow_shift=4.0).config
    want = dict(num_train_timesteps=1000, solver_order=2, algorithm_type="dpmsolver++", solver_type="midpoint",
                lower_order_final=True, euler_at_final=False, final_sigmas_type="zero", thresholding=False,
                use_lu_lambdas=False, variance_type=None)
    for k, v in want.items():
        assert d[k] == v, f"diffusers changed DPMSolverMultistepScheduler's default {k}: {d[k]!r}, was {v!r}"
    e = FlowMatchEulerDiscreteScheduler(shift=3.0).config
    want = dict(num_train_timesteps=1000, use_dynamic_shifting=False, shift_terminal=None, invert_sigmas=False,
                stochastic_sampling=False, use_karras_sigmas=False)
    for k, v in want.items():
        assert e[k] == v, f"diffusers changed FlowMatchEulerDiscreteScheduler's default {k}: {e[k]!r}, was {v!r}"
    # UniPC's flow sigmas: linspace(1, 1/T, N+1)[:-1], shifted, the first nudged 1e-6 below 1.
    s = UniPCMultistepScheduler(**UNIPC_FLOW, flow_shift=3.0)
    s.set_timesteps(DIFFUSERS_STEPS)
    x = np.linspace(1, 1 / 1000, DIFFUSERS_STEPS + 1)[:-1]
    x = 3.0 * x / (1 + 2.0 * x)
    x[0] -= 1e-6
    assert np.array_equal(s.sigmas.numpy(), np.append(x, 0).astype(np.float32)), "UniPC flow sigmas changed"
    assert s.timesteps.tolist() == (x * 1000).astype(np.int64).tolist(), "UniPC flow timesteps changed"
    # WanPipeline: no negative prompt means "", CFG only for guidance_scale > 1.
    src = inspect.getsource(pipeline_wan.WanPipeline)
    assert 'negative_prompt = negative_prompt or ""' in src, "WanPipeline's negative-prompt default changed"
    assert "self._guidance_scale > 1.0" in src, "WanPipeline's CFG condition changed"


def build_pipeline(tok_dir: Path, scheduler):
    from diffusers import WanPipeline

    tokenizer = umt5_fx.build_tokenizer(tok_dir)
    text_encoder = umt5_fx.build_tiny_umt5(len(tokenizer.get_vocab()) if hasattr(tokenizer, "get_vocab") else 1000)
    transformer = dit_fx.build_model(DIT_CONFIG, seed=2024)
    vae = vae_fx.build_tiny_vae()
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae,
                       scheduler=scheduler)


def run_case(pipe, guidance: float, neg, steps: int) -> dict:
    from diffusers.utils.torch_utils import randn_tensor

    r = REQUEST
    cfg = guidance > 1.0  # WanPipeline.do_classifier_free_guidance
    with torch.no_grad():
        pe, ne = pipe.encode_prompt(r["prompt"], neg, do_classifier_free_guidance=cfg, max_sequence_length=TEXT_LEN)
        latent_shape = (1, 16, (r["num_frames"] - 1) // 4 + 1, r["height"] // 8, r["width"] // 8)
        noise = randn_tensor(latent_shape, generator=torch.Generator().manual_seed(r["seed"]), dtype=torch.float32)
        common = dict(prompt=r["prompt"], negative_prompt=neg, height=r["height"], width=r["width"],
                      num_frames=r["num_frames"], num_inference_steps=steps, guidance_scale=guidance,
                      max_sequence_length=TEXT_LEN)
        latents = pipe(**common, generator=torch.Generator().manual_seed(r["seed"]), output_type="latent").frames
        sigmas = pipe.scheduler.sigmas.to(torch.float64)
        timesteps = pipe.scheduler.timesteps.to(torch.float64)
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
    out = {k: v.contiguous().float() for k, v in out.items()}
    out["sigmas"], out["timesteps"] = sigmas.contiguous(), timesteps.contiguous()
    return out


def run_original_case(pipe, solver: str, guidance: float) -> dict:
    """Wan's generate.py sampling (wan/text2video.py WanT2V.generate), transcribed, on the same
    modules: Wan's schedule (reference_scheduler: Wan's sigmas/timesteps in diffusers' solver
    objects, which make_scheduler_fixtures.py --wan-repo verifies step for step against Wan's own
    fm_solvers*.py), both branches on every step whatever the scale (generate.py has no
    guidance-1 shortcut), Wan's default negative prompt, timestep = torch.stack([t])."""
    from diffusers.utils.torch_utils import randn_tensor

    r = REQUEST
    sched = sched_fx.reference_scheduler(solver, r["steps"], r["shift"])
    with torch.no_grad():
        # T5 output trimmed to the prompt and zero-padded to text_len, as Wan's T5EncoderModel +
        # WanModel.text_embedding's padding give it (WanPipeline.encode_prompt does the same).
        context, context_null = pipe.encode_prompt(r["prompt"], umt5_fx.WAN_NEG_PROMPT, do_classifier_free_guidance=True,
                                                   max_sequence_length=TEXT_LEN)
        latent_shape = (1, 16, (r["num_frames"] - 1) // 4 + 1, r["height"] // 8, r["width"] // 8)
        # generate.py draws [16, T, h, w] from its seeded generator: the same numbers.
        noise = randn_tensor(latent_shape, generator=torch.Generator().manual_seed(r["seed"]), dtype=torch.float32)
        latents = noise
        for t in sched.timesteps:
            timestep = torch.stack([t])
            cond = pipe.transformer(hidden_states=latents, timestep=timestep, encoder_hidden_states=context,
                                    return_dict=False)[0]
            uncond = pipe.transformer(hidden_states=latents, timestep=timestep, encoder_hidden_states=context_null,
                                      return_dict=False)[0]
            noise_pred = uncond + guidance * (cond - uncond)
            latents = sched.step(noise_pred, t, latents, return_dict=False)[0]
        vae = pipe.vae
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
        std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
        video = vae.decode(latents * std + mean, return_dict=False)[0]  # clamped to [-1, 1] like Wan's
    out = {"prompt_embeds": context, "noise": noise, "latents": latents, "video": video}
    if guidance != 1.0:  # at scale 1 the negative branch cancels out; uspdit skips it
        out["negative_prompt_embeds"] = context_null
    out = {k: v.contiguous().float() for k, v in out.items()}
    out["sigmas"], out["timesteps"] = sched.sigmas.to(torch.float64).contiguous(), sched.timesteps.to(torch.float64).contiguous()
    return out


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


def make_scheduler(cls_name: str, fields: dict):
    import diffusers

    return getattr(diffusers, cls_name)(**fields)


def save_sibling_folder(out: Path, name: str, cls_name: str, fields: dict) -> None:
    """A diffusers folder sharing diffusers/'s parts (relative symlinks) with its own scheduler."""
    folder = out / name
    folder.mkdir()
    for part in ("transformer", "text_encoder", "tokenizer", "vae"):
        (folder / part).symlink_to(Path("..") / "diffusers" / part, target_is_directory=True)
    index = json.loads((out / "diffusers" / "model_index.json").read_text())
    index["scheduler"] = ["diffusers", cls_name]
    dit_fx.write_json(folder / "model_index.json", index)
    make_scheduler(cls_name, fields).save_pretrained(str(folder / "scheduler"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    torch.set_num_threads(1)
    check_diffusers_defaults()
    if a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True)
    tok_dir = a.out / "_tokenizer_build"
    meta = {"request": dict(REQUEST, text_len=TEXT_LEN),
            "dit_config": {k: list(v) if isinstance(v, tuple) else v for k, v in DIT_CONFIG.items()},
            "original_cases": {}, "diffusers_folders": {}, "diffusers_cases": {}, "versions": {}}
    refs = {}
    pipe = None
    pipe = build_pipeline(tok_dir, make_scheduler(*FOLDERS["diffusers"]))
    for name, solver, guidance in ORIGINAL_CASES:
        out = run_original_case(pipe, solver, guidance)
        refs.update({f"{name}.{k}": v for k, v in out.items()})
        meta["original_cases"][name] = {
            "solver": solver, "guidance_scale": guidance, "steps": REQUEST["steps"], "shift": REQUEST["shift"],
            "negative_prompt": "Wan's default (sample_neg_prompt)",
            "schedule": "Wan generate.py (run_original_case: its loop transcribed, both branches every step)",
            "video_unclamped_fraction": float((out["video"].abs() < 0.999).float().mean())}
    # The diffusers folders: the same parts, stock schedulers.
    pipe.save_pretrained(str(a.out / "diffusers"), safe_serialization=True)
    # The published diffusers tokenizer/ folders ship spiece.model beside tokenizer.json.
    shutil.copy(tok_dir / "spiece.model", a.out / "diffusers" / "tokenizer" / "spiece.model")
    for folder, (cls_name, fields) in FOLDERS.items():
        if folder != "diffusers":
            save_sibling_folder(a.out, folder, cls_name, fields)
        meta["diffusers_folders"][folder] = dict(fields, _class_name=cls_name)
    save_original_layout(pipe, tok_dir, a.out / "original")
    shutil.rmtree(tok_dir)
    from diffusers import WanPipeline

    for name, folder, guidance, neg in DIFFUSERS_CASES:
        # Loaded from the folder, as a user would: the scheduler is whatever the folder says.
        loaded = WanPipeline.from_pretrained(str(a.out / folder))
        cls_name = FOLDERS[folder][0]
        assert type(loaded.scheduler).__name__ == cls_name, type(loaded.scheduler)
        out = run_case(loaded, guidance, neg, DIFFUSERS_STEPS)
        refs.update({f"{name}.{k}": v for k, v in out.items()})
        meta["diffusers_cases"][name] = {
            "folder": folder, "scheduler": cls_name, "guidance_scale": guidance, "steps": DIFFUSERS_STEPS,
            "negative_prompt": neg if neg is not None else "(none: the pipeline's default \"\")",
            "timesteps": out["timesteps"].tolist(), "sigmas": out["sigmas"].tolist(),
            "video_unclamped_fraction": float((out["video"].abs() < 0.999).float().mean())}
    save_file(refs, str(a.out / "reference.safetensors"), metadata={"fixture": "wan_t2v tiny, both references"})
    import diffusers
    import transformers

    meta["negative_prompt_given"] = NEGATIVE
    meta["versions"] = {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                        "torch": torch.__version__, "python": platform.python_version()}
    dit_fx.write_json(a.out / "meta.json", meta)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "sigmas"} for k, v in meta["diffusers_cases"].items()},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
