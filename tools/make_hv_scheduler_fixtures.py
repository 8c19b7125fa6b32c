#!/usr/bin/env python3
"""Reference fixtures for HunyuanVideo's flow-matching sampler (src/sampling/hv_flow_schedule.*).

Two references, both recorded:

  original   HunyuanVideo's FlowMatchDiscreteScheduler (hyvideo/diffusion/schedulers/
             scheduling_flow_match_discrete.py), transcribed operation by operation in torch:
             s = torch.linspace(1, 0, N+1) (fp32); σ = shift·s / (1 + (shift−1)·s) (sd3 time shift,
             fp32 tensor ops); σ = 1 − σ unless flow_reverse; timesteps = (σ[:-1]·1000).float32.
             Euler step: x.float32 + v.float32·(σ[i+1] − σ[i]), kept fp32.
  diffusers  FlowMatchEulerDiscreteScheduler(shift=s) as HunyuanVideoPipeline drives it:
             set_timesteps(sigmas=np.linspace(1, 0, N+1)[:-1]) — float64 linspace cast to float32,
             the shift in float32 numpy, timesteps = σ·1000, then a final 0 appended. It has no
             flow_reverse: its σ always runs 1 → 0 (the original's flow_reverse=True). Its step()
             is diffusers' own: on fp32 tensors its cast back to the model output's dtype is a
             no-op; on bf16 model outputs (diffusers_shift7_bf16) the latents become bf16 and the
             pipeline feeds the DiT `t.to(latents.dtype)`, recorded as "<case>.fed_timesteps".

Writes tests/data/sampling/hunyuan/:
  schedules.safetensors  "<original|diffusers>.shift<s>_steps<N>_reverse<0|1>.{sigmas,timesteps}"
                         float32 (the exact bits), N in {1, 2, 30, 50}, shift in {1, 7, 17},
                         reverse 0/1 (diffusers: 1 only).
  euler.safetensors      "<case>.{x, model_outputs, samples}" for 3-step trajectories on seeded
                         random tensors: original shift 7 reverse 1 (fp32 inputs), original
                         shift 7 reverse 0, original shift 7 reverse 1 with fp16 noise and bf16
                         model outputs (the reference's dtypes: the result must be fp32), and
                         diffusers shift 7.
  meta.json              versions, cases, where original and diffusers differ (ulps).

Usage (from the repository root):
    .venv-tools/bin/python tools/make_hv_scheduler_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import FlowMatchEulerDiscreteScheduler
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "sampling" / "hunyuan"
STEPS = (1, 2, 30, 50)
SHIFTS = (1.0, 7.0, 17.0)
SHAPE = (1, 4, 2, 4, 4)
NUM_TRAIN_TIMESTEPS = 1000


def original_schedule(steps: int, shift: float, reverse: bool):
    """FlowMatchDiscreteScheduler.set_timesteps, transcribed."""
    sigmas = torch.linspace(1, 0, steps + 1)
    sigmas = (shift * sigmas) / (1 + (shift - 1) * sigmas)
    if not reverse:
        sigmas = 1 - sigmas
    timesteps = (sigmas[:-1] * NUM_TRAIN_TIMESTEPS).to(dtype=torch.float32)
    return sigmas, timesteps


def original_step(sigmas: torch.Tensor, i: int, model_output: torch.Tensor, sample: torch.Tensor):
    """FlowMatchDiscreteScheduler.step with solver euler, transcribed."""
    dt = sigmas[i + 1] - sigmas[i]
    return sample + model_output.to(torch.float32) * dt


def diffusers_scheduler(steps: int, shift: float):
    sched = FlowMatchEulerDiscreteScheduler(shift=shift)
    sched.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps + 1)[:-1])
    return sched


def ulps_apart(a: torch.Tensor, b: torch.Tensor) -> int:
    return int((a.view(torch.int32).to(torch.int64) - b.view(torch.int32).to(torch.int64)).abs().max().item())


def trajectory_inputs(seed: int, x_dtype, v_dtype):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(SHAPE, generator=g)
    clean = 0.5 * torch.randn(SHAPE, generator=g)
    outputs = torch.stack([(x - clean) + 0.1 * torch.randn(SHAPE, generator=g) for _ in range(3)])
    return x.to(x_dtype), outputs.to(v_dtype)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    schedules, differences = {}, {}
    for steps in STEPS:
        for shift in SHIFTS:
            tag = f"shift{shift:g}_steps{steps}"
            for reverse in (0, 1):
                sigmas, timesteps = original_schedule(steps, shift, bool(reverse))
                schedules[f"original.{tag}_reverse{reverse}.sigmas"] = sigmas
                schedules[f"original.{tag}_reverse{reverse}.timesteps"] = timesteps
            sched = diffusers_scheduler(steps, shift)
            assert sched.sigmas.dtype == torch.float32 and sched.timesteps.dtype == torch.float32
            schedules[f"diffusers.{tag}_reverse1.sigmas"] = sched.sigmas.clone()
            schedules[f"diffusers.{tag}_reverse1.timesteps"] = sched.timesteps.clone()
            orig = schedules[f"original.{tag}_reverse1.sigmas"]
            differences[tag] = {"sigma_max_ulps": ulps_apart(orig, sched.sigmas),
                                "sigmas_identical": bool(torch.equal(orig, sched.sigmas))}
    save_file(schedules, str(args.out / "schedules.safetensors"),
              metadata={"fixture": "tools/make_hv_scheduler_fixtures.py"})

    trajectories, cases = {}, {}
    for name, kind, reverse, x_dtype, v_dtype, seed in (
        ("original_shift7_reverse1", "original", True, torch.float32, torch.float32, 1),
        ("original_shift7_reverse0", "original", False, torch.float32, torch.float32, 2),
        ("original_shift7_reverse1_fp16", "original", True, torch.float16, torch.bfloat16, 3),
        ("diffusers_shift7", "diffusers", True, torch.float32, torch.float32, 4),
        ("diffusers_shift7_bf16", "diffusers", True, torch.float32, torch.bfloat16, 5),
    ):
        x, outputs = trajectory_inputs(seed, x_dtype, v_dtype)
        samples, sample = [], x
        if kind == "original":
            sigmas, _ = original_schedule(3, 7.0, reverse)
            for i in range(3):
                sample = original_step(sigmas, i, outputs[i], sample)
                samples.append(sample)
        else:
            sched = diffusers_scheduler(3, 7.0)
            fed = []
            for i, t in enumerate(sched.timesteps):
                fed.append(t.expand(1).to(sample.dtype).float())  # HunyuanVideoPipeline's timestep
                sample = sched.step(outputs[i], t, sample, return_dict=False)[0]
                samples.append(sample)
            trajectories[f"{name}.fed_timesteps"] = torch.cat(fed)
        assert all(s.dtype == v_dtype if kind == "diffusers" else s.dtype == torch.float32 for s in samples), name
        trajectories[f"{name}.x"] = x
        trajectories[f"{name}.model_outputs"] = outputs
        trajectories[f"{name}.samples"] = torch.stack(samples).float()  # bf16 values are exact in fp32
        cases[name] = {"schedule": kind, "shift": 7.0, "reverse": reverse, "steps": 3, "seed": seed,
                       "x_dtype": str(x_dtype), "model_output_dtype": str(v_dtype)}
    save_file(trajectories, str(args.out / "euler.safetensors"),
              metadata={"fixture": "tools/make_hv_scheduler_fixtures.py"})

    meta = {
        "fixture": "tools/make_hv_scheduler_fixtures.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "diffusers": diffusers.__version__},
        "steps": list(STEPS), "shifts": list(SHIFTS), "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
        "trajectories": cases,
        "original_vs_diffusers_reverse1": differences,
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out}: {len(schedules) // 2} schedules, {len(cases)} trajectories")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
