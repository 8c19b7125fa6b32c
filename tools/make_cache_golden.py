#!/usr/bin/env python3
"""Writes tests/data/cache/golden.json: the skip patterns the reference step caches decide on
50-step runs, replayed from their published decision logic, for the C++ StepCache to equal.

  magcache   Zehong-Ma/MagCache's loop (MagCache4Wan2.1/magcache_generate.py: per-branch state at
             cnt % 2, skip while err < E and steps <= K after int(calls * R) calls;
             MagCache4HunyuanVideo/magcache_sample_video.py: one state, err <= E) on the
             published magnitude ratios, also interpolated to 20 steps (nearest_interp). The
             ratios are read from src/cache/reference_schedules.cpp, which holds them as published.
  teacache   ali-vilab/TeaCache's Wan loop (TeaCache4Wan2.1/teacache_generate.py: per-branch
             accumulated np.poly1d(coeffs)(mean|e - e_prev| / mean|e_prev|), forced first/last
             steps) on the tiny Wan fixture's timestep embedding (tests/data/wan_t2v/diffusers,
             diffusers' WanTransformer3DModel condition embedder) at the folder's 50 timesteps.
             Wan's indicator depends on the timestep only, so no sampling is needed.
  fbcache    diffusers' own First-Block Cache (transformer.enable_cache(FirstBlockCacheConfig))
             in stock WanPipeline on the tiny fixture, 50 steps, guidance 5: the decisions it takes
             per branch, recorded from the hook, with the distances (for the margin).
  teacache_hunyuan  ali-vilab/TeaCache's HunyuanVideo forward (TeaCache4HunyuanVideo/
             teacache_sample_video.py: indicator = double block 0's img_norm1 output modulated by
             the shift/scale of its img_mod(vec), accumulated np.poly1d(coeffs)(mean|Δ| / mean|prev|),
             step 0 and the last step computed, the residual over all blocks on the image tokens)
             replayed inside stock HunyuanVideoPipeline on the tiny fixture (tests/data/hv_t2v/
             diffusers), 50 steps, true CFG 3 with a negative prompt: one state per branch (the
             reference has none: it is guidance-distilled), as the engine and LightX2V keep them.
  fbcache_hunyuan  diffusers' First-Block Cache in the same HunyuanVideoPipeline run.
             Both HunyuanVideo kinds also keep the distance compared at each step per branch
             (cond_distance / uncond_distance, null where none is), for the test to measure how
             near the engine's indicator is to the reference's.

Each pattern is a string per branch, one character per step: C computed, R reused.
Regenerate: .venv-tools/bin/python tools/make_cache_golden.py   (see tools/README.md)
"""

from __future__ import annotations

import json
import platform
import re
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "cache"
WAN_DIFFUSERS = ROOT / "tests" / "data" / "wan_t2v" / "diffusers"
STEPS = 50
REQUEST = dict(prompt="A cat walks on the grass, realistic style. 一只猫在草地上散步", height=48, width=64,
               num_frames=5, seed=42, guidance_scale=5.0, max_sequence_length=16)

HV_DIFFUSERS = ROOT / "tests" / "data" / "hv_t2v" / "diffusers"
# tests/data/hv_t2v's request and its stock "cfg" case (tools/make_hv_t2v_fixtures.py), at 50 steps.
HV_REQUEST = dict(prompt="  A cat walks on the grass, realistic style.\n", negative_prompt="low quality, blurry",
                  height=48, width=32, num_frames=17, seed=2027, guidance_scale=6.0, true_cfg_scale=3.0)
# TeaCache4HunyuanVideo/teacache_sample_video.py (one set for every resolution)
TEACACHE_HUNYUAN = [7.33226126e+02, -4.01131952e+02, 6.75869174e+01, -3.14987800e+00, 9.61237896e-02]

TEACACHE_WAN = {  # (is_14b, use_ret_steps) -> coefficients, TeaCache4Wan2.1/teacache_generate.py
    (False, False): [2.39676752e+03, -1.31110545e+03, 2.01331979e+02, -8.29855975e+00, 1.37887774e-01],
    (False, True): [-5.21862437e+04, 9.23041404e+03, -5.28275948e+02, 1.36987616e+01, -4.99875664e-02],
}


def published_ratios() -> dict[str, np.ndarray]:
    src = (ROOT / "src" / "cache" / "reference_schedules.cpp").read_text()
    out = {}
    for name in ("wan_14b", "wan_1_3b", "hunyuan_720p", "hunyuan_544p"):
        body = re.search(r"static const std::vector<double> " + name + r" = \{([^}]*)\}", src).group(1)
        out[name] = np.array([float(v) for v in body.replace("\n", " ").split(",") if v.strip()])
    return out


def nearest_interp(src: np.ndarray, n: int) -> np.ndarray:
    if n == 1:
        return np.array([src[-1]])
    scale = (len(src) - 1) / (n - 1)
    return src[np.round(np.arange(n) * scale).astype(int)]


def magcache_wan(ratios: np.ndarray, steps: int, E: float, K: int, R: float) -> dict:
    if len(ratios) != 2 * steps:
        ratios = np.stack([nearest_interp(ratios[0::2], steps), nearest_interp(ratios[1::2], steps)], 1).reshape(-1)
    calls = 2 * steps
    acc_ratio, acc_err, acc_steps = [1.0, 1.0], [0.0, 0.0], [0, 0]
    pattern = ["", ""]
    for cnt in range(calls):
        b = cnt % 2
        skip = False
        if cnt >= int(calls * R):
            acc_ratio[b] *= ratios[cnt]
            acc_steps[b] += 1
            acc_err[b] += abs(1 - acc_ratio[b])
            if acc_err[b] < E and acc_steps[b] <= K:
                skip = True
            else:
                acc_ratio[b], acc_err[b], acc_steps[b] = 1.0, 0.0, 0
        pattern[b] += "R" if skip else "C"
    return {"steps": steps, "E": E, "K": K, "R": R, "cond": pattern[0], "uncond": pattern[1]}


def magcache_hunyuan(ratios: np.ndarray, steps: int, E: float, K: int, R: float) -> dict:
    if len(ratios) != steps:
        ratios = nearest_interp(ratios, steps)
    acc_ratio, acc_err, acc_steps = 1.0, 0.0, 0
    pattern = ""
    for cnt in range(steps):
        skip = False
        if cnt >= int(R * steps):
            acc_ratio *= ratios[cnt]
            acc_err += abs(1 - acc_ratio)
            acc_steps += 1
            if acc_err <= E and acc_steps <= K:
                skip = True
            else:
                acc_ratio, acc_steps, acc_err = 1.0, 0, 0.0
        pattern += "R" if skip else "C"
    return {"steps": steps, "E": E, "K": K, "R": R, "cond": pattern}


def wan_time_embeddings():
    """e [N, dim] and e0 [N, 6*dim] at the diffusers folder's 50 timesteps."""
    from diffusers import UniPCMultistepScheduler, WanTransformer3DModel
    model = WanTransformer3DModel.from_pretrained(str(WAN_DIFFUSERS / "transformer")).float().eval()
    sched = UniPCMultistepScheduler.from_pretrained(str(WAN_DIFFUSERS / "scheduler"))
    sched.set_timesteps(STEPS)
    ce = model.condition_embedder
    es, e0s = [], []
    with torch.no_grad():
        for t in sched.timesteps:
            proj = ce.timesteps_proj(t.reshape(1).float())
            e = ce.time_embedder(proj.to(torch.float32))
            es.append(e[0])
            e0s.append(ce.time_proj(ce.act_fn(e))[0])
    return torch.stack(es), torch.stack(e0s), [float(t) for t in sched.timesteps]


def teacache_wan(indicators: torch.Tensor, coeffs, thresh: float, use_ret_steps: bool) -> dict:
    """Both branches see the same t, so both decide alike; the reference's call counter is
    cnt = 2 * step + branch with ret_steps / cutoff_steps over it."""
    steps = indicators.shape[0]
    ret_steps = 5 * 2 if use_ret_steps else 1 * 2
    cutoff = steps * 2 if use_ret_steps else steps * 2 - 2
    poly = np.poly1d(coeffs)
    pattern, margins = ["", ""], []
    acc, prev = [0.0, 0.0], [None, None]
    for cnt in range(2 * steps):
        b, i = cnt % 2, cnt // 2
        inp = indicators[i]
        if cnt < ret_steps or cnt >= cutoff:
            calc = True
            acc[b] = 0.0
        else:
            acc[b] += poly(((inp - prev[b]).abs().mean() / prev[b].abs().mean()).item())
            margins.append(abs(acc[b] - thresh))
            if acc[b] < thresh:
                calc = False
            else:
                calc = True
                acc[b] = 0.0
        prev[b] = inp.clone()
        pattern[b] += "C" if calc else "R"
    return {"threshold": thresh, "use_ret_steps": use_ret_steps, "cond": pattern[0], "uncond": pattern[1],
            "min_margin": float(min(margins)) if margins else None}


def record_fbcache(run) -> dict:
    """Runs `run` with diffusers' First-Block Cache hook recording each decision per cache context
    (cond / uncond) and the distance it compared; the pattern per branch and the smallest margin."""
    from diffusers.hooks import first_block_cache as fbc
    log: list[tuple[str, bool, float | None, float]] = []
    original = fbc.FBCHeadBlockHook._should_compute_remaining_blocks

    def recording(self, residual):
        state = self.state_manager.get_state()
        context = self.state_manager.context.name
        prev = state.head_block_residual
        diff = None if prev is None else ((residual - prev).abs().mean() / prev.abs().mean()).item()
        decision = original(self, residual)
        log.append((context, decision, diff, self.threshold))
        return decision

    fbc.FBCHeadBlockHook._should_compute_remaining_blocks = recording
    try:
        run()
    finally:
        fbc.FBCHeadBlockHook._should_compute_remaining_blocks = original
    pattern = {"cond": "", "uncond": ""}
    distance: dict[str, list[float | None]] = {"cond": [], "uncond": []}
    margins = []
    for context, decision, diff, thresh in log:
        pattern[context] += "C" if decision else "R"
        distance[context].append(diff)
        if diff is not None:
            margins.append(abs(diff - thresh))
    return {"cond": pattern["cond"], "uncond": pattern["uncond"], "min_margin": min(margins),
            "cond_distance": distance["cond"], "uncond_distance": distance["uncond"]}


def fbcache_wan(thresh: float) -> dict:
    from diffusers import FirstBlockCacheConfig, WanPipeline
    pipe = WanPipeline.from_pretrained(str(WAN_DIFFUSERS), torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=thresh))
    r = REQUEST

    def run():
        pipe(prompt=r["prompt"], height=r["height"], width=r["width"], num_frames=r["num_frames"],
             num_inference_steps=STEPS, guidance_scale=r["guidance_scale"], max_sequence_length=r["max_sequence_length"],
             generator=torch.Generator().manual_seed(r["seed"]), output_type="latent")

    record = record_fbcache(run)
    return {"threshold": thresh, **{k: v for k, v in record.items() if not k.endswith("_distance")}}


_HV_PIPE = None


def hv_pipeline():
    """Stock HunyuanVideoPipeline on the fixture folder, loaded as make_hv_t2v_fixtures.py does
    (the Llama tokenizer built by AutoTokenizer from tokenizer.json)."""
    global _HV_PIPE
    if _HV_PIPE is None:
        from diffusers import HunyuanVideoPipeline
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(str(HV_DIFFUSERS / "tokenizer"))
        _HV_PIPE = HunyuanVideoPipeline.from_pretrained(str(HV_DIFFUSERS), tokenizer=tokenizer, dtype=torch.float32)
        _HV_PIPE.set_progress_bar_config(disable=True)
    return _HV_PIPE


def run_hv(pipe) -> None:
    r = HV_REQUEST
    with torch.no_grad():
        pipe(prompt=r["prompt"], negative_prompt=r["negative_prompt"], height=r["height"], width=r["width"],
             num_frames=r["num_frames"], num_inference_steps=STEPS, guidance_scale=r["guidance_scale"],
             true_cfg_scale=r["true_cfg_scale"], generator=torch.Generator().manual_seed(r["seed"]),
             output_type="latent")


class TeaCacheHunyuanStack(torch.nn.Module):
    """Stands in for the transformer's whole block stack (double blocks, then single blocks) and
    decides as TeaCache4HunyuanVideo's forward does between the embeddings and the final layer.
    The pipeline calls cond then uncond each step, so the call's parity is its branch."""

    def __init__(self, double, single, thresh: float, steps: int, branches: int):
        super().__init__()
        self.blocks = list(double) + list(single)
        self.first = double[0]
        self.thresh, self.steps, self.branches = thresh, steps, branches
        self.poly = np.poly1d(TEACACHE_HUNYUAN)
        self.calls = 0
        self.state = [{"acc": 0.0, "prev": None, "residual": None} for _ in range(branches)]
        self.pattern = [""] * branches
        self.distance: list[list[float | None]] = [[] for _ in range(branches)]
        self.margins: list[float] = []

    def forward(self, img, txt, temb, *rest):
        b, cnt = self.calls % self.branches, self.calls // self.branches
        self.calls += 1
        s = self.state[b]
        # modulate(img_norm1(img), shift=img_mod1_shift, scale=img_mod1_scale): diffusers'
        # AdaLayerNormZero norm1 returns exactly that as its first output.
        modulated = self.first.norm1(img, emb=temb)[0]
        distance = None
        if cnt == 0 or cnt == self.steps - 1:
            calc = True
            s["acc"] = 0.0
        else:
            prev = s["prev"]
            distance = ((modulated - prev).abs().mean() / prev.abs().mean()).cpu().item()
            s["acc"] += self.poly(distance)
            self.margins.append(abs(s["acc"] - self.thresh))
            calc = s["acc"] >= self.thresh
            if calc:
                s["acc"] = 0.0
        s["prev"] = modulated
        if calc:
            inp = img.clone()
            for block in self.blocks:
                img, txt = block(img, txt, temb, *rest)
            s["residual"] = img - inp
        else:
            img = img + s["residual"]
        self.pattern[b] += "C" if calc else "R"
        self.distance[b].append(distance)
        return img, txt


def teacache_hunyuan(thresh: float) -> dict:
    pipe = hv_pipeline()
    dit = pipe.transformer
    double, single = dit.transformer_blocks, dit.single_transformer_blocks
    stack = TeaCacheHunyuanStack(double, single, thresh, STEPS, 2)
    dit.transformer_blocks, dit.single_transformer_blocks = torch.nn.ModuleList([stack]), torch.nn.ModuleList()
    try:
        run_hv(pipe)
    finally:
        dit.transformer_blocks, dit.single_transformer_blocks = double, single
    assert stack.calls == 2 * STEPS
    return {"threshold": thresh, "cond": stack.pattern[0], "uncond": stack.pattern[1],
            "min_margin": float(min(stack.margins)), "cond_distance": stack.distance[0],
            "uncond_distance": stack.distance[1]}


def fbcache_hunyuan(thresh: float) -> dict:
    from diffusers import FirstBlockCacheConfig
    pipe = hv_pipeline()
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=thresh))
    try:
        pattern = record_fbcache(lambda: run_hv(pipe))
    finally:
        pipe.transformer.disable_cache()
    return dict({"threshold": thresh}, **pattern)


def main() -> int:
    import diffusers
    torch.manual_seed(0)
    ratios = published_ratios()
    golden: dict = {"magcache": {}, "teacache_wan": {}, "fbcache_wan": {}, "teacache_hunyuan": {}, "fbcache_hunyuan": {}}
    for name, (r, e, k) in {"wan_1.3B_E0.12_K4": ("wan_1_3b", 0.12, 4), "wan_14B_E0.24_K6": ("wan_14b", 0.24, 6),
                            "wan_1.3B_E0.06_K3": ("wan_1_3b", 0.06, 3), "wan_14B_E0.06_K3": ("wan_14b", 0.06, 3)}.items():
        golden["magcache"][name] = magcache_wan(ratios[r], STEPS, e, k, 0.2)
    golden["magcache"]["wan_1.3B_E0.12_K4_20steps"] = magcache_wan(ratios["wan_1_3b"], 20, 0.12, 4, 0.2)
    for name, (r, e, k) in {"hunyuan_720p_E0.24_K6": ("hunyuan_720p", 0.24, 6), "hunyuan_720p_E0.12_K4": ("hunyuan_720p", 0.12, 4),
                            "hunyuan_544p_E0.24_K6": ("hunyuan_544p", 0.24, 6)}.items():
        golden["magcache"][name] = magcache_hunyuan(ratios[r], STEPS, e, k, 0.2)
    golden["magcache"]["hunyuan_720p_E0.24_K6_30steps"] = magcache_hunyuan(ratios["hunyuan_720p"], 30, 0.24, 6, 0.2)

    e, e0, timesteps = wan_time_embeddings()
    # The tiny random model's embedding moves far more per step than a trained one's, so its
    # rescaled distances are large: 0.2 (the default) computes every step without ret steps and
    # the ret-steps polynomial goes negative (reuses after step 5); 150 and 400 give mixed patterns.
    for thresh in (0.2, 150.0, 400.0):
        golden["teacache_wan"][f"ret_false_{thresh:g}"] = teacache_wan(e, TEACACHE_WAN[(False, False)], thresh, False)
    golden["teacache_wan"]["ret_true_0.2"] = teacache_wan(e0, TEACACHE_WAN[(False, True)], 0.2, True)
    for thresh in (0.05, 0.2, 0.3):
        golden["fbcache_wan"][f"threshold_{thresh}"] = fbcache_wan(thresh)
    # HunyuanVideo's indicators read the image tokens, so these follow the sampled trajectory.
    # TeaCache's default 0.15 already reuses about a quarter of the forwards on the tiny model;
    # 0.4 reuses over half. First-Block Cache's default 0.05 computes every step (the random
    # model's first-block residual moves by more than 5% a step); 0.6 reuses 40 of 100.
    for thresh in (0.15, 0.4):
        golden["teacache_hunyuan"][f"threshold_{thresh}"] = teacache_hunyuan(thresh)
    for thresh in (0.05, 0.6):
        golden["fbcache_hunyuan"][f"threshold_{thresh}"] = fbcache_hunyuan(thresh)

    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"request": dict(REQUEST, steps=STEPS, folder="tests/data/wan_t2v/diffusers"), "timesteps": timesteps,
            "request_hunyuan": dict(HV_REQUEST, steps=STEPS, folder="tests/data/hv_t2v/diffusers"),
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "diffusers": diffusers.__version__, "numpy": np.__version__}}
    (OUT / "golden.json").write_text(json.dumps(dict(golden, meta=meta), indent=1, ensure_ascii=False) + "\n")
    for kind, cases in golden.items():
        for name, case in cases.items():
            print(kind, name, {k: v for k, v in case.items() if k in ("cond", "uncond", "min_margin")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
