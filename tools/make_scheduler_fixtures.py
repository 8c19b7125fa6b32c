#!/usr/bin/env python3
"""Reference fixtures for the C++ flow-matching samplers (src/sampling/).

The reference is the ORIGINAL Wan 2.1 sampling (wan/text2video.py):

  unipc  FlowUniPCMultistepScheduler(shift=1).set_timesteps(N, shift=s): sigmas
         linspace(sigma_max, 0, N+1)[:-1] with sigma_max = float32(1 - 1/1000) = 0.99900001..,
         shifted s*σ/(1+(s-1)*σ) in float64, then 0 appended and cast to float32; model timesteps
         int64(σ_f64 * 1000) (truncation). UniPC bh2, order 2, predict x0, lower_order_final.
  dpm++  FlowDPMSolverMultistepScheduler(shift=1) with sigmas=get_sampling_sigmas(N, s):
         linspace(1, 0, N+1)[:N] (starts at exactly 1), shifted; the same int64 timesteps and
         float32 sigmas + final 0. DPM-Solver++ 2M midpoint, lower_order_final.
  euler  not in Wan: the UniPC schedule above with x += (σ_{i+1} - σ_i)·v.

diffusers cannot produce these schedules from a step count (its flow sigmas are
linspace(1, 1/1000, N+1)[:-1] shifted: different points), so `reference_scheduler()` returns
diffusers scheduler objects whose `set_timesteps(N)` installs Wan's schedule, computed here by
`wan_schedule()` (a numpy re-derivation of the two formulas above):
  unipc  UniPCMultistepScheduler(use_flow_sigmas, flow_prediction, flow_shift=s) fed Wan's
         unshifted sigmas through set_timesteps(sigmas=...): it applies the same shift formula in
         float64 and the same int64 / float32 casts.
  dpm++  DPMSolverMultistepScheduler(use_flow_sigmas, flow_prediction, dpmsolver++, midpoint):
         its set_timesteps takes no sigmas, so Wan's sigmas/timesteps are assigned after it.
  euler  FlowMatchEulerDiscreteScheduler(shift=1) with set_timesteps(sigmas=Wan's shifted sigmas,
         timesteps=Wan's int64 timesteps as float, since its step() refuses integer timesteps).
The steps themselves are diffusers' step() on these objects. With --wan-repo (a checkout of
Wan-Video/Wan2.1), the script also runs Wan's own scheduler classes, driven as text2video.py
drives them, and requires identical schedules and trajectories (recorded in meta.json).

Writes tests/data/sampling/{unipc,euler,dpmpp}.safetensors, per case "shift<s>_steps<N>.":
  sigmas [N+1] f64 (the float32 values the solver uses, last 0), timesteps [N] f64 (what the
  model receives), x [1,4,2,4,4] f32 (initial noise), model_outputs [N,1,4,2,4,4] f32,
  samples [N,1,4,2,4,4] f32 (the sample after each step);
schedules.safetensors: "<unipc|dpmpp>.shift<s>_steps<N>.{sigmas,timesteps}" for more shifts and
step counts (wan_schedule() only); diffusers_schedules.safetensors: the same keys plus "euler." for
what STOCK diffusers' set_timesteps(N) lays out for a -Diffusers folder's scheduler
(UniPCMultistepScheduler / DPMSolverMultistepScheduler with use_flow_sigmas, flow_shift s;
FlowMatchEulerDiscreteScheduler(shift=s)), no patching; and meta.json (versions, seeds, cases,
verification).

Usage (from the repository root):
    .venv-tools/bin/python tools/make_scheduler_fixtures.py [--out DIR] [--wan-repo DIR]
Importable: wan_schedule(solver, steps, shift), reference_scheduler(solver, steps, shift).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "sampling"

NUM_TRAIN_TIMESTEPS = 1000
SOLVERS = ("unipc", "euler", "dpmpp")
SHIFTS = (5.0, 3.0, 8.0)  # Wan's default; diffusers' WanPipeline 480p default; README's 1.3B advice
STEPS = (1, 2, 5, 50)
# Schedules only (no trajectory): more step counts, where int64 truncation and linspace rounding
# could go wrong.
SCHEDULE_STEPS = (1, 3, 4, 7, 10, 20, 25, 30, 40, 49, 100, 250, 1000)
SHAPE = (1, 4, 2, 4, 4)
SEED = 20250


def _canonical(solver: str) -> str:
    name = {"dpm++": "dpmpp"}.get(solver, solver)
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected unipc, euler, dpm++")
    return name


def _shift(sigmas: np.ndarray, shift: float) -> np.ndarray:
    return shift * sigmas / (1 + (shift - 1) * sigmas)


def wan_unshifted_sigmas(solver: str, steps: int, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> np.ndarray:
    """The N float64 sigmas Wan shifts: text2video.py's two code paths."""
    if _canonical(solver) == "dpmpp":
        return np.linspace(1, 0, steps + 1)[:steps]  # fm_solvers.get_sampling_sigmas
    # FlowUniPCMultistepScheduler: sigma_max is the first training sigma, held in float32.
    sigma_max = float(np.float32(1.0 - 1.0 / num_train_timesteps))
    return np.linspace(sigma_max, 0.0, steps + 1)[:-1]


def wan_schedule(solver: str, steps: int, shift: float, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS):
    """(sigmas float32 [N+1] with final 0, timesteps int64 [N]) exactly as Wan computes them."""
    shifted = _shift(wan_unshifted_sigmas(solver, steps, num_train_timesteps), shift)
    timesteps = (shifted * num_train_timesteps).astype(np.int64)
    sigmas = np.concatenate([shifted, [0.0]]).astype(np.float32)
    return sigmas, timesteps


class WanUniPCScheduler(UniPCMultistepScheduler):
    """diffusers' UniPC whose set_timesteps(N) lays out Wan's sigmas (flow_shift shifts them)."""

    def set_timesteps(self, num_inference_steps=None, device=None, sigmas=None, mu=None):
        if sigmas is None:
            sigmas = wan_unshifted_sigmas("unipc", num_inference_steps, self.config.num_train_timesteps)
        super().set_timesteps(device=device, sigmas=sigmas, mu=mu)


class WanDPMSolverScheduler(DPMSolverMultistepScheduler):
    """diffusers' DPM-Solver++ (flow) with Wan's dpm++ schedule installed by set_timesteps(N)."""

    def set_timesteps(self, num_inference_steps=None, device=None, mu=None, timesteps=None):
        super().set_timesteps(num_inference_steps, device=device)  # resets the multistep state
        sigmas, ts = wan_schedule("dpmpp", num_inference_steps, self.config.flow_shift,
                                  self.config.num_train_timesteps)
        self.sigmas = torch.from_numpy(sigmas)
        self.timesteps = torch.from_numpy(ts).to(device=device)


class WanEulerScheduler(FlowMatchEulerDiscreteScheduler):
    """diffusers' flow Euler on Wan's UniPC schedule; `wan_shift` is the shift (config shift stays 1)."""

    wan_shift = 5.0

    def set_timesteps(self, num_inference_steps=None, device=None, sigmas=None, mu=None, timesteps=None):
        wan_sigmas, ts = wan_schedule("euler", num_inference_steps, self.wan_shift, self.config.num_train_timesteps)
        super().set_timesteps(device=device, sigmas=wan_sigmas[:-1].astype(np.float64),
                              timesteps=ts.astype(np.float64))


def reference_scheduler(solver: str, steps: int, shift: float):
    """A diffusers scheduler that reproduces Wan's sampling (see the module docstring).

    set_timesteps(steps) has been called; a pipeline calling set_timesteps(n) again gets Wan's
    schedule for n steps with the same shift."""
    solver = _canonical(solver)
    if solver == "unipc":
        sched = WanUniPCScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, solver_order=2,
                                  prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift,
                                  predict_x0=True, solver_type="bh2", lower_order_final=True,
                                  disable_corrector=[], final_sigmas_type="zero")
    elif solver == "dpmpp":
        sched = WanDPMSolverScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, solver_order=2,
                                      prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift,
                                      algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=True,
                                      euler_at_final=False, final_sigmas_type="zero")
    else:
        sched = WanEulerScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=1.0)
        sched.wan_shift = shift
    sched.set_timesteps(steps)
    return sched


def stock_diffusers_scheduler(solver: str, shift: float):
    """The scheduler a Wan -Diffusers folder carries, unpatched, as diffusers builds it from the
    folder's scheduler_config.json (flow sigmas, flow prediction, the class defaults otherwise)."""
    solver = _canonical(solver)
    if solver == "unipc":
        return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift)
    if solver == "dpmpp":
        return DPMSolverMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift)
    return FlowMatchEulerDiscreteScheduler(shift=shift)


def make_case(solver: str, steps: int, shift: float, seed: int):
    """Initial noise, per-step model outputs and the trajectory diffusers' step() produces."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(SHAPE, generator=g)
    clean = 0.5 * torch.randn(SHAPE, generator=g)
    # The straight-path velocity noise - clean plus a per-step "model error", so that every
    # step's output differs and multistep history matters.
    model_outputs = torch.stack([(x - clean) + 0.1 * torch.randn(SHAPE, generator=g) for _ in range(steps)])
    sched = reference_scheduler(solver, steps, shift)
    sched.set_begin_index(0)  # as WanPipeline does
    samples = []
    sample = x
    for i, t in enumerate(sched.timesteps):
        sample = sched.step(model_outputs[i], t, sample, return_dict=False)[0]
        samples.append(sample)
    return {
        "sigmas": sched.sigmas.to(torch.float64),
        "timesteps": sched.timesteps.to(torch.float64),
        "x": x,
        "model_outputs": model_outputs,
        "samples": torch.stack(samples),
    }


def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_against_wan(wan_repo: Path, solver: str, steps: int, shift: float, case: dict) -> dict:
    """Wan's own scheduler, driven as wan/text2video.py drives it, on the same model outputs."""
    utils = wan_repo / "wan" / "utils"
    if solver == "unipc":
        mod = _load_module(utils / "fm_solvers_unipc.py", "wan_fm_solvers_unipc")
        sched = mod.FlowUniPCMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=1,
                                                use_dynamic_shifting=False)
        sched.set_timesteps(steps, device="cpu", shift=shift)
        timesteps = sched.timesteps
    else:
        mod = _load_module(utils / "fm_solvers.py", "wan_fm_solvers")
        sched = mod.FlowDPMSolverMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=1,
                                                    use_dynamic_shifting=False)
        timesteps, _ = mod.retrieve_timesteps(sched, device="cpu", sigmas=mod.get_sampling_sigmas(steps, shift))
    sample = case["x"]
    worst = 0.0
    for i, t in enumerate(timesteps):
        sample = sched.step(case["model_outputs"][i], t, sample, return_dict=False)[0]
        worst = max(worst, (sample - case["samples"][i]).abs().max().item())
    return {
        "sigmas_identical": bool(torch.equal(sched.sigmas.to(torch.float64), case["sigmas"])),
        "timesteps_identical": bool(torch.equal(timesteps.to(torch.float64), case["timesteps"])),
        "max_abs_sample_diff": worst,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--wan-repo", type=Path, default=None,
                        help="a Wan-Video/Wan2.1 checkout: also compare against its own schedulers")
    parser.add_argument("--wan-commit", default="", help="the checkout's commit, recorded in meta.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    meta = {
        "generator": "tools/make_scheduler_fixtures.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "diffusers": diffusers.__version__, "numpy": np.__version__},
        "shape": list(SHAPE),
        "cases": {},
        "wan_original_check": ("not run (no --wan-repo)" if args.wan_repo is None
                               else f"Wan-Video/Wan2.1 {args.wan_commit or '(commit not given)'}: "
                                    "wan/utils/fm_solvers_unipc.py, fm_solvers.py driven as wan/text2video.py"),
    }
    failures = []
    for si, solver in enumerate(SOLVERS):
        tensors = {}
        for hi, shift in enumerate(SHIFTS):
            for ni, steps in enumerate(STEPS):
                seed = SEED + 100 * si + 10 * hi + ni
                case = make_case(solver, steps, shift, seed)
                # The schedule diffusers ended up with must be the re-derived Wan one.
                sigmas, ts = wan_schedule(solver, steps, shift)
                assert np.array_equal(case["sigmas"].numpy(), sigmas.astype(np.float64)), (solver, steps, shift)
                assert np.array_equal(case["timesteps"].numpy(), ts.astype(np.float64)), (solver, steps, shift)
                prefix = f"shift{shift:g}_steps{steps}."
                for key, value in case.items():
                    tensors[prefix + key] = value.contiguous()
                info = {"seed": seed, "first_sigmas": case["sigmas"][:3].tolist(),
                        "first_timesteps": case["timesteps"][:3].tolist(),
                        "final_sample_absmax": case["samples"][-1].abs().max().item()}
                if args.wan_repo is not None and solver != "euler":
                    check = check_against_wan(args.wan_repo, solver, steps, shift, case)
                    info["wan_original"] = check
                    if not (check["sigmas_identical"] and check["timesteps_identical"]
                            and check["max_abs_sample_diff"] == 0.0):
                        failures.append((solver, shift, steps, check))
                meta["cases"][f"{solver}/{prefix[:-1]}"] = info
        save_file(tensors, str(args.out / f"{solver}.safetensors"),
                  metadata={"fixture": "tools/make_scheduler_fixtures.py", "solver": solver})
    schedules = {}
    for family in ("unipc", "dpmpp"):
        for shift in SHIFTS + (1.0, 0.5, 12.0):
            for steps in SCHEDULE_STEPS:
                sigmas, ts = wan_schedule(family, steps, shift)
                prefix = f"{family}.shift{shift:g}_steps{steps}."
                schedules[prefix + "sigmas"] = torch.from_numpy(sigmas.astype(np.float64))
                schedules[prefix + "timesteps"] = torch.from_numpy(ts.astype(np.float64))
    save_file(schedules, str(args.out / "schedules.safetensors"),
              metadata={"fixture": "tools/make_scheduler_fixtures.py", "content": "wan_schedule() only"})
    meta["schedules"] = {"families": ["unipc", "dpmpp"], "shifts": list(SHIFTS + (1.0, 0.5, 12.0)),
                         "steps": list(SCHEDULE_STEPS)}
    stock = {}
    for family in SOLVERS:
        for shift in SHIFTS + (1.0, 0.5, 12.0):
            for steps in SCHEDULE_STEPS:
                sched = stock_diffusers_scheduler(family, shift)
                sched.set_timesteps(steps)  # as WanPipeline calls it
                prefix = f"{family}.shift{shift:g}_steps{steps}."
                stock[prefix + "sigmas"] = sched.sigmas.to(torch.float64).contiguous()
                stock[prefix + "timesteps"] = sched.timesteps.to(torch.float64).contiguous()
    save_file(stock, str(args.out / "diffusers_schedules.safetensors"),
              metadata={"fixture": "tools/make_scheduler_fixtures.py", "content": "stock diffusers set_timesteps"})
    meta["diffusers_schedules"] = {"families": list(SOLVERS), "shifts": list(SHIFTS + (1.0, 0.5, 12.0)),
                                   "steps": list(SCHEDULE_STEPS),
                                   "classes": {"unipc": "UniPCMultistepScheduler", "dpmpp": "DPMSolverMultistepScheduler",
                                               "euler": "FlowMatchEulerDiscreteScheduler"}}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    for failure in failures:
        print("differs from Wan's original scheduler:", failure, file=sys.stderr)
    print(f"wrote {args.out} ({len(meta['cases'])} cases)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
