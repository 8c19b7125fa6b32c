#!/usr/bin/env python3
"""Trains the project's demo video model (issue 15) from scratch on CPU and saves it in Wan 2.1's
original release layout, so `uspdit generate --ckpt_dir` loads it as it loads Wan-AI's files.

Data: tools/demo_data.py — one coloured shape moving over a dark background, 64x64, 17 frames,
captions such as "a red circle moving right", generated on the fly from a seed.

Model: the Wan 2.1 architecture at tiny widths, all from diffusers/transformers:
  VAE   AutoencoderKLWan (z_dim 16, as Wan's latent statistics need; base_dim --vae-base-dim),
        trained on reconstruction (L1 + MSE, the shape's pixels weighted FG_WEIGHT times; optional:
        a ring around them weighted as much, --shape-margin, and an L1 term on the image
        differences, --edge-weight) with a small KL term, on single frames, then 9-frame clips, then 17-frame clips; afterwards its latent
        statistics are folded into quant_conv / post_quant_conv so that its latents follow Wan
        2.1's latents_mean / latents_std — the normalisation every Wan loader applies — and the
        DiT sees unit-scale latents.
  text  a UMT5 encoder at tiny width (make_umt5_fixtures.py's config and sentencepiece tokenizer),
        random and FROZEN: the captions come from a small vocabulary, and a fixed random encoder
        keeps them apart; only the DiT's cross-attention learns to read it.
  DiT   WanTransformer3DModel (patch 1x2x2, --dit-dim wide, --dit-layers), flow matching as Wan
        trains it: x_t = (1 - σ) x_0 + σ ε, target ε − x_0, t = 1000 σ, σ uniform then shifted
        (--shift, the same shift sampling uses). 10 % of the captions are dropped for CFG: to ""
        or to Wan's default negative prompt (what generate.py puts in the negative branch), so
        guidance works with either.

Stages (each can be run alone with --stage; the state lives in --work):
  vae      train the VAE: single frames, then 9-frame clips -> work/vae.pt
  vae17    then whole 17-frame clips                        -> work/vae17.pt
  latents  fold the statistics, encode a pool of clips     -> work/pool.pt
  dit      train the DiT on the pool                       -> work/dit.pt, work/loss.json
  export   Wan's original layout, model card, defaults     -> --out, and pictures -> --docs

    .venv-tools/bin/python tools/train_demo.py --out models/demo-shapes-t2v        # the whole run
    .venv-tools/bin/python tools/train_demo.py --smoke --work /tmp/demo            # seconds, checks the wiring
Seeded and deterministic on one machine (torch's CPU kernels, --threads fixed).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import demo_data  # noqa: E402
import make_umt5_fixtures as umt5_fx  # noqa: E402
import make_wan_fixtures as dit_fx  # noqa: E402
import make_wan_vae_fixtures as vae_fx  # noqa: E402

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import AutoencoderKLWan, WanTransformer3DModel  # noqa: E402

ROOT = HERE.parent
# Sampling the model was trained for; export writes it as the folder's generate_defaults.json.
GENERATE_DEFAULTS = {"name": "demo-shapes-t2v", "size": "64*64", "frame_num": 17, "sample_steps": 20,
                     "sample_shift": 3.0, "sample_guide_scale": 5.0, "sample_solver": "unipc", "dtype": "fp32",
                     "trained_sizes": ["64*64"]}
FG_WEIGHT = 20.0  # the shape's pixels against the background's in the VAE loss
TEXT_LEN = 32  # tokens per caption (the tiny tokenizer splits words into several pieces)
TOKENIZER = ROOT / "tests" / "data" / "wan_t2v" / "original" / "google" / "umt5-xxl"


def log(msg: str) -> None:
    print(f"[train_demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- parts ----


def build_vae(base_dim: int, seed: int) -> AutoencoderKLWan:
    torch.manual_seed(seed)
    return AutoencoderKLWan(base_dim=base_dim, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                            temperal_downsample=[False, True, True])


def dit_config(dim: int, layers: int) -> dict:
    heads = max(1, dim // 16)
    return dict(patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=dim // heads, in_channels=16,
                out_channels=16, text_dim=umt5_fx.TINY_CONFIG["d_model"], freq_dim=256, ffn_dim=4 * dim,
                num_layers=layers, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
                rope_max_seq_len=1024)


class TextEncoder:
    """The frozen tiny UMT5 as Wan runs it: ids of the cleaned caption, output zero beyond its tokens."""

    def __init__(self, seed: int):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER))
        self.model = umt5_fx.build_tiny_umt5(len(self.tokenizer.get_vocab()), seed=seed)
        self.cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def __call__(self, captions: list[str]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(captions) if c not in self.cache]
        if missing:
            ids, mask = umt5_fx.wan_tokenize(self.tokenizer, [umt5_fx.wan_clean(c) for c in missing], TEXT_LEN)
            out = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            for c, o, m in zip(missing, out, mask):
                self.cache[c] = o * m[:, None]  # Wan trims to the tokens and pads with zeros
        return torch.stack([self.cache[c] for c in captions])


# ---- stage 1: the VAE ----


def shape_weight(x: torch.Tensor, margin: int) -> torch.Tensor:
    """Per-pixel loss weight [B, 1, T, H, W]: the shape and a `margin`-pixel ring around it weigh
    FG_WEIGHT, the rest 1. The shape covers ~4 % of the pixels: unweighted, the VAE learns to draw
    the background alone and stays there (tried: 900 steps of 17-frame clips, no shape decoded).
    With the shape's pixels alone weighted (margin 0) overpainting is cheap and the decoded shapes
    come out as blobs; the ring (margin 2, the default) makes it as costly as missing pixels."""
    shape = (x.amax(dim=1, keepdim=True) > -0.5).float()  # every shape colour has a channel > 0.85
    if margin > 0:
        k = 2 * margin + 1
        shape = F.max_pool3d(shape, kernel_size=(1, k, k), stride=1, padding=(0, margin, margin))
    return 1.0 + (FG_WEIGHT - 1.0) * shape


def train_vae(vae: AutoencoderKLWan, phases: list[tuple[int, int, int, float]], seed: int,
              kl_weight: float, margin: int = 0, edge_weight: float = 0.0) -> list[float]:
    """phases: (steps, batch, frames, lr). Images first (frames 1: the spatial code, 17x cheaper a
    sample than a clip), then short clips (9 = 1 + 4 + 4 frames: the first chunk and two temporally
    compressed ones, so the causal cache from one compressed chunk to the next is trained; with 5
    frames only, latent frames 2.. of a 17-frame clip decoded to noise)."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    vae.train()
    for steps, batch, frames, lr in phases:
        opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
        for step in range(steps):
            x = torch.from_numpy(demo_data.batch(rng, batch, frames)[0])
            post = vae.encode(x).latent_dist
            z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
            rec = vae.decode(z).sample
            kl = 0.5 * (post.mean.pow(2) + post.var - 1.0 - post.logvar).mean()
            weight = shape_weight(x, margin)
            err = rec - x
            loss = (weight * (err.abs() + err.pow(2))).mean() / weight.mean() + kl_weight * kl
            # Edges: L1 + MSE alone lets a small decoder round a square's corners into a blob (the
            # detector then reads a circle); matching the image's horizontal and vertical
            # differences as well keeps the outline sharp. Off in the shipped recipe: with margin 2
            # and weight 1 the VAE's shapes came out sharp (detector fill 0.84 / 0.91 / 0.63 for
            # circle / square / triangle against 0.79 / 0.81 / 0.78) but it lost yellow and
            # magenta (decoded red): each term slows the colours, which the shipped loss learns
            # by 1200 image steps; the ring alone has them right again by 3000, so the edge term
            # is the suspect (docs/demo_model/README.md, "Tried").
            if edge_weight > 0:
                for dim in (3, 4):
                    d_err = err.diff(dim=dim)
                    n = err.shape[dim] - 1
                    d_w = torch.maximum(weight.narrow(dim, 0, n), weight.narrow(dim, 1, n))
                    loss = loss + edge_weight * (d_w * d_err.abs()).mean() / d_w.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 100 == 0 or step == steps - 1:
                log(f"vae ({frames} frame(s), batch {batch}) step {step}/{steps}: loss {np.mean(losses[-100:]):.4f}")
    return losses


@torch.no_grad()
def save_reconstructions(vae: AutoencoderKLWan, seed: int, path: Path) -> float:
    """Four held-out clips over their reconstructions (frames 0, 4, 8, 12, 16); returns the mean
    absolute error on the shapes' pixels."""
    from PIL import Image

    vae.eval()
    x, _ = demo_data.batch(np.random.default_rng(seed), 4)
    rec = vae.decode(vae.encode(torch.from_numpy(x)).latent_dist.mean).sample.clamp(-1, 1).numpy()
    fg = np.repeat(x.max(axis=1, keepdims=True) > -0.5, 3, axis=1)
    rows = [np.concatenate([np.concatenate([v[i][:, f] for f in range(0, x.shape[2], 4)], axis=2)
                            for v in (x, rec)], axis=1) for i in range(4)]
    img = np.concatenate(rows, axis=1).transpose(1, 2, 0)
    Image.fromarray(((img + 1) * 127.5).round().clip(0, 255).astype(np.uint8)).save(path)
    vae.train()
    return float(np.abs(rec - x)[fg].mean())


# ---- stage 2: normalisation and the latent pool ----


@torch.no_grad()
def fold_wan_statistics(vae: AutoencoderKLWan, seed: int, clips: int) -> dict:
    """Per-channel mean m and std s of the posterior means, folded into the 1x1x1 convs around the
    latent so that z_new = (z − m) / s · std_w + mean_w: encode gives z_new, decode takes it."""
    rng = np.random.default_rng(seed)
    mus = torch.cat([vae.encode(torch.from_numpy(demo_data.batch(rng, 8)[0])).latent_dist.mean
                     for _ in range(clips // 8)])
    m = mus.mean(dim=(0, 2, 3, 4)).double()
    s = mus.std(dim=(0, 2, 3, 4)).double().clamp_min(1e-3)
    mean_w = torch.tensor(vae.config.latents_mean, dtype=torch.float64)
    std_w = torch.tensor(vae.config.latents_std, dtype=torch.float64)
    a = std_w / s  # z_new = a·z + b
    b = mean_w - m * a
    enc, dec = vae.quant_conv, vae.post_quant_conv
    z = 16
    w, bias = enc.weight.double(), enc.bias.double()  # [2z, 2z, 1, 1, 1]: mu rows, then logvar rows
    w[:z] *= a.view(z, 1, 1, 1, 1)
    bias[:z] = bias[:z] * a + b
    bias[z:] = bias[z:] + 2.0 * torch.log(a)
    enc.weight.copy_(w.float())
    enc.bias.copy_(bias.float())
    # decode: post_quant_conv(z) with z = (z_new − b) / a
    w, bias = dec.weight.double(), dec.bias.double()  # [z, z, 1, 1, 1], input channels on dim 1
    bias = bias - (w[:, :, 0, 0, 0] @ (b / a))
    w = w / a.view(1, z, 1, 1, 1)
    dec.weight.copy_(w.float())
    dec.bias.copy_(bias.float())
    return {"mean": m.tolist(), "std": s.tolist()}


@torch.no_grad()
def encode_pool(vae: AutoencoderKLWan, seed: int, clips: int) -> dict:
    """Normalised latents x0 = (z_new − mean_w) / std_w of `clips` clips and their captions."""
    rng = np.random.default_rng(seed)
    mean_w = torch.tensor(vae.config.latents_mean).view(1, 16, 1, 1, 1)
    std_w = torch.tensor(vae.config.latents_std).view(1, 16, 1, 1, 1)
    latents, captions = [], []
    for i in range(0, clips, 16):
        x, caps = demo_data.batch(rng, min(16, clips - i))
        z = vae.encode(torch.from_numpy(x)).latent_dist.mean
        latents.append((z - mean_w) / std_w)
        captions += caps
        if (i // 16) % 20 == 0:
            log(f"encoded {i + len(caps)}/{clips} clips")
    return {"latents": torch.cat(latents), "captions": captions}


# ---- stage 3: the DiT ----


def shifted(sigma: torch.Tensor, shift: float) -> torch.Tensor:
    return shift * sigma / (1 + (shift - 1) * sigma)


def train_dit(dit: WanTransformer3DModel, text: TextEncoder, pool: dict, steps: int, batch: int, lr: float,
              shift: float, seed: int) -> list[float]:
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all, captions = pool["latents"], pool["captions"]
    nulls = ["", umt5_fx.WAN_NEG_PROMPT]
    opt = torch.optim.AdamW(dit.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.03)
    losses = []
    dit.train()
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(captions), batch))
        x0 = x_all[idx]
        caps = [captions[i] if rng.random() >= 0.1 else nulls[int(rng.integers(0, 2))] for i in idx.tolist()]
        noise = torch.randn(x0.shape, generator=gen)
        sigma = shifted(torch.rand(batch, generator=gen), shift)
        s = sigma.view(-1, 1, 1, 1, 1)
        xt = (1 - s) * x0 + s * noise
        v = dit(hidden_states=xt, timestep=sigma * 1000, encoder_hidden_states=text(caps), return_dict=False)[0]
        loss = F.mse_loss(v, noise - x0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == steps - 1:
            log(f"dit step {step}/{steps}: loss {np.mean(losses[-200:]):.4f}")
    return losses


@torch.no_grad()
def sample(dit, vae, text: TextEncoder, captions: list[str], seed: int, steps: int, guidance: float,
           shift: float) -> torch.Tensor:
    """Euler on the shifted flow schedule with CFG ("" as the negative): videos [B, 3, F, H, W]."""
    dit.eval()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((len(captions), 16, 5, 8, 8), generator=gen)
    sigmas = shifted(torch.linspace(1, 0, steps + 1), shift)
    cond, uncond = text(captions), text([""] * len(captions))
    for i in range(steps):
        t = torch.full((len(captions),), float(sigmas[i]) * 1000)
        c = dit(hidden_states=x, timestep=t, encoder_hidden_states=cond, return_dict=False)[0]
        u = dit(hidden_states=x, timestep=t, encoder_hidden_states=uncond, return_dict=False)[0]
        x = x + (u + guidance * (c - u)) * (sigmas[i + 1] - sigmas[i])
    mean_w = torch.tensor(vae.config.latents_mean).view(1, 16, 1, 1, 1)
    std_w = torch.tensor(vae.config.latents_std).view(1, 16, 1, 1, 1)
    return vae.decode(x * std_w + mean_w).sample.clamp(-1, 1)


def save_grid(videos: torch.Tensor, captions: list[str], path: Path) -> None:
    """One row per video: frames 0, 4, 8, 12, 16 side by side (PNG)."""
    from PIL import Image

    rows = [torch.cat([v[:, f] for f in range(0, v.shape[1], 4)], dim=2) for v in videos]  # [3, H, 5W]
    grid = ((torch.cat(rows, dim=1).permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    Image.fromarray(grid).save(path)
    path.with_suffix(".txt").write_text("\n".join(captions) + "\n")


# ---- stage 4: Wan's original layout ----


def export(vae, dit, text: TextEncoder, cfg: dict, out: Path, card: dict) -> None:
    from safetensors.torch import save_file

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sd = {dit_fx.diffusers_key_to_original(k): v.detach().clone().contiguous() for k, v in dit.state_dict().items()}
    save_file(sd, str(out / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    ocfg = dit_fx.original_config(cfg)
    ocfg["text_len"] = TEXT_LEN
    dit_fx.write_json(out / "config.json", ocfg)
    umt5_fx.save_umt5_original(text.model, out / "models_t5_umt5-xxl-enc-bf16.pth")
    vae_fx.save_vae_original(vae, out / "Wan2.1_VAE.pth")
    shutil.copytree(TOKENIZER, out / "google" / "umt5-xxl")
    dit_fx.write_json(out / "training.json", card)
    # What `uspdit generate` uses where no flag is given (src/pipeline/model_defaults.h).
    dit_fx.write_json(out / "generate_defaults.json", GENERATE_DEFAULTS)


MODEL_CARD = """# demo-shapes-t2v

A tiny text-to-video model trained by this project, so that the first `uspdit generate` draws what
its prompt says on any CPU in seconds. It is Wan 2.1's architecture (Wan-VAE, umt5 text encoder,
Wan DiT) at toy widths, saved in Wan-AI's original release layout: `uspdit generate --ckpt_dir`
loads it exactly as it loads `Wan-AI/Wan2.1-T2V-1.3B`, and it is what `uspdit generate` uses
without `--ckpt_dir`.

## What it draws

One shape — **circle, square or triangle** — in one of six colours — **red, green, blue, yellow,
magenta, cyan** — moving **left, right, up or down** over a dark background: 64×64 pixels, 17
frames (about 1 s at 16 fps). Prompts name the three in plain words: "a red circle moving right",
"one blue square slides up", "the cyan triangle drifting left". Nothing else: other words are
ignored or confuse it, other sizes are outside what it saw.

```sh
build/uspdit generate --prompt "a yellow triangle moving down" --save_strip strip.png
mpirun -np 2 build/uspdit generate --prompt "a magenta square slides left" --ulysses_degree 2
```

`generate_defaults.json` gives what it was trained for: {defaults}.

How well: `tests/unit/test_demo_model.cpp` draws 24 prompt/seed pairs (every colour with every
direction) on 1 rank, 2 ranks and CFG-parallel and reads them back with a detector. What the
shipped weights reach, the sample grid, the losses and the VAE's reconstructions:
[`docs/demo_model/`](../../docs/demo_model/README.md). Known limits of this recipe: the tiny VAE
draws soft edges (a square's corners a little round, a triangle's sides a little concave),
the first frame sometimes starts in another colour than the rest of the clip, and yellow drifts
towards orange by the last frames.

## Training

Data: `tools/demo_data.py` draws each clip from a seed (never stored): shape, colour, direction,
size (radius 6–9 px), start point and travel (22–34 px, inside the frame), caption phrasing.

| part | what | parameters |
|---|---|---|
| VAE | `AutoencoderKLWan`, base_dim {vae_dim}, z_dim 16, no attention; L1 + MSE with the shape's pixels{ring} weighted {fg}×{edge}, KL {kl}; {vae_image_steps} steps on single frames (batch {vae_image_batch}), then {vae_steps} on {vae_frames}-frame clips (batch {vae_batch}), then {vae17_steps} on whole 17-frame clips; its latent mean/std folded into quant_conv/post_quant_conv so the latents follow Wan 2.1's `latents_mean`/`latents_std` | {vae_params} |
| text | umt5 encoder at tiny width (tests' sentencepiece tokenizer), random and frozen, {text_len} tokens | {text_params} |
| DiT | `WanTransformer3DModel`, dim {dit_dim}, {dit_layers} layers, patch 1×2×2; flow matching as Wan trains it (x_t = (1−σ)x₀ + σε, target ε − x₀, σ shifted by {shift}), 10 % of captions dropped to "" or Wan's negative prompt; {dit_steps} steps of batch {dit_batch} over {pool} encoded clips | {dit_params} |

Time on 2 CPU cores ({cpu}): {times}; **{total_min:.1f} min in all**.
Versions: {versions}.

Retrain it from scratch (deterministic on one machine and thread count):

```sh
.venv-tools/bin/python tools/train_demo.py          # writes models/demo-shapes-t2v and docs/demo_model/
```
"""


def write_model_card(out: Path, card: dict, params: dict) -> None:
    a = card["args"]
    times = ", ".join(f"{k} {v / 60:.1f} min" for k, v in card["seconds"].items())
    text = MODEL_CARD.format(
        defaults=json.dumps(GENERATE_DEFAULTS), vae_dim=a["vae_base_dim"], fg=FG_WEIGHT,
        ring=f" and a {a['shape_margin']}-px ring around them" if a.get("shape_margin") else "",
        edge=f", plus {a['edge_weight']}× the L1 of the image's differences" if a.get("edge_weight") else "",
        kl=a["kl_weight"],
        vae_image_steps=a["vae_image_steps"], vae_image_batch=a["vae_image_batch"], vae_steps=a["vae_steps"],
        vae_frames=a["vae_frames"], vae_batch=a["vae_batch"], vae17_steps=a["vae17_steps"], text_len=TEXT_LEN, dit_dim=a["dit_dim"],
        dit_layers=a["dit_layers"], shift=a["shift"], dit_steps=a["dit_steps"], dit_batch=a["dit_batch"],
        pool=a["pool"], cpu=card["cpu"], times=times, total_min=card["total_seconds"] / 60,
        versions=", ".join(f"{k} {v}" for k, v in card["versions"].items()),
        **{k: f"{v / 1e3:.0f} k" for k, v in params.items()})
    (out / "README.md").write_text(text)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def plot_losses(work: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = json.loads((work / "loss.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, key, title in ((axes[0], "vae", "VAE (images, 9-frame clips, 17-frame clips)"), (axes[1], "dit", "DiT (flow matching)")):
        y = np.array(losses[key])
        k = max(1, len(y) // 200)
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        ax.plot(y, color="0.8", linewidth=0.5)
        ax.plot(np.arange(len(smooth)) + k // 2, smooth, color="C0")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "demo-shapes-t2v")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "train_demo")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "demo_model",
                    help="loss curves, sample grid and VAE reconstructions")
    ap.add_argument("--stage", choices=["all", "vae", "vae17", "latents", "dit", "export"], default="all")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vae-base-dim", type=int, default=16,
                    help="VAE width (12 decoded squares with round corners; 16 keeps them)")
    ap.add_argument("--vae-image-steps", type=int, default=3000, help="VAE steps on single frames")
    ap.add_argument("--vae-image-batch", type=int, default=4)
    ap.add_argument("--vae-steps", type=int, default=1000, help="VAE steps on short clips, after the images")
    ap.add_argument("--vae-batch", type=int, default=2)
    ap.add_argument("--vae-frames", type=int, default=9, help="frames of those clips (4n+1; 9: two compressed chunks, so the causal cache from one compressed chunk to the next is trained too)")
    ap.add_argument("--vae-lr", type=float, default=2e-3)
    ap.add_argument("--vae17-steps", type=int, default=400, help="VAE steps on whole 17-frame clips, last")
    ap.add_argument("--kl-weight", type=float, default=1e-4)
    ap.add_argument("--shape-margin", type=int, default=2,
                    help="VAE loss: pixels around the shape weighted like it (0: the shape alone)")
    ap.add_argument("--edge-weight", type=float, default=0.0,
                    help="VAE loss: weight of the L1 of the image's horizontal and vertical differences")
    ap.add_argument("--pool", type=int, default=4096, help="clips encoded once for the DiT")
    ap.add_argument("--dit-dim", type=int, default=128)
    ap.add_argument("--dit-layers", type=int, default=4)
    ap.add_argument("--dit-steps", type=int, default=9000,
                    help="6500 left the base_dim 16 VAE's colours unsure (16 of 24 right against 22)")
    ap.add_argument("--dit-batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--smoke", action="store_true", help="a few steps of each stage: checks the wiring only")
    args = ap.parse_args()
    if args.smoke:
        args.vae_image_steps, args.vae_steps, args.vae17_steps, args.pool, args.dit_steps = 4, 4, 2, 64, 10
        # never over the shipped model or its pictures
        args.docs = args.work / "docs"
        args.out = args.work / "model" if args.out == ap.get_default("out") else args.out
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    run = lambda stage: args.stage in ("all", stage)  # noqa: E731
    timings = json.loads((work / "timings.json").read_text()) if (work / "timings.json").exists() else {}

    vae = build_vae(args.vae_base_dim, args.seed)

    def vae_stage(stage: str, phases: list, seed: int, before: str | None) -> None:
        """Trains `phases` (or loads the stage's result), saving work/<stage>.pt with the losses of
        every VAE stage so far and the reconstructions picture."""
        if run(stage):
            t = time.time()
            losses = train_vae(vae, phases, seed, args.kl_weight, args.shape_margin, args.edge_weight)
            if before is not None:
                losses = torch.load(work / f"{before}.pt")["losses"] + losses
            torch.save({"state": vae.state_dict(), "losses": losses}, work / f"{stage}.pt")
            err = save_reconstructions(vae, args.seed + 7, work / "vae_reconstructions.png")
            log(f"{stage}: mean abs error on the shapes' pixels {err:.3f} (work/vae_reconstructions.png)")
            timings[stage] = time.time() - t
            (work / "timings.json").write_text(json.dumps(timings, indent=1))
        else:
            vae.load_state_dict(torch.load(work / f"{stage}.pt")["state"])
        vae.eval()

    vae_stage("vae", [(args.vae_image_steps, args.vae_image_batch, 1, args.vae_lr),
                      (args.vae_steps, args.vae_batch, args.vae_frames, args.vae_lr / 2)], args.seed + 1, None)
    if args.stage == "vae":
        return 0
    # The whole 17-frame clip last: with 9-frame clips only, the last latent frame (frames 13-16)
    # came out smeared (colours mixed, a triangle a blob) — it is one more cache hop than trained.
    vae_stage("vae17", [(args.vae17_steps, args.vae_batch, demo_data.FRAMES, args.vae_lr / 4)], args.seed + 8,
              "vae")
    if args.stage == "vae17":
        return 0

    if run("latents"):
        t = time.time()
        stats = fold_wan_statistics(vae, args.seed + 2, 256 if not args.smoke else 16)
        pool = encode_pool(vae, args.seed + 3, args.pool)
        torch.save({"vae": vae.state_dict(), "stats": stats, **pool}, work / "pool.pt")
        timings["latents"] = time.time() - t
        (work / "timings.json").write_text(json.dumps(timings, indent=1))
    if args.stage == "latents":
        return 0
    pool = torch.load(work / "pool.pt")
    vae.load_state_dict(pool["vae"])  # the folded VAE
    log(f"pool: {len(pool['captions'])} clips, latent std {float(pool['latents'].std()):.3f}")

    text = TextEncoder(args.seed + 4)
    cfg = dit_config(args.dit_dim, args.dit_layers)
    torch.manual_seed(args.seed + 5)
    dit = WanTransformer3DModel(**cfg)
    if run("dit"):
        t = time.time()
        losses = train_dit(dit, text, pool, args.dit_steps, args.dit_batch, args.lr, args.shift, args.seed + 6)
        torch.save({"state": dit.state_dict()}, work / "dit.pt")
        (work / "loss.json").write_text(json.dumps({"dit": losses, "vae": torch.load(work / "vae17.pt")["losses"]}))
        timings["dit"] = time.time() - t
    else:
        dit.load_state_dict(torch.load(work / "dit.pt")["state"])
    dit.eval()
    (work / "timings.json").write_text(json.dumps(timings, indent=1))

    if run("export"):
        rng = np.random.default_rng(12345)
        caps = [demo_data.caption(demo_data.random_spec(rng, phrasing=0)) for _ in range(8)]
        save_grid(sample(dit, vae, text, caps, seed=1, steps=20, guidance=5.0, shift=args.shift), caps,
                  work / "samples.png")
        card = {"script": "tools/train_demo.py", "args": {k: (str(v) if isinstance(v, Path) else v)
                                                           for k, v in vars(args).items()},
                "seconds": timings, "total_seconds": sum(timings.values()), "dit_config": cfg,
                "text_len": TEXT_LEN, "sampling": {"shift": args.shift, "guidance": 5.0}, "cpu": cpu_model(),
                "versions": {"python": platform.python_version(), "torch": torch.__version__,
                             "diffusers": diffusers.__version__, "transformers": transformers.__version__}}
        export(vae, dit, text, cfg, args.out, card)
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        write_model_card(args.out, card, {"vae_params": count(vae), "text_params": count(text.model),
                                          "dit_params": count(dit)})
        args.docs.mkdir(parents=True, exist_ok=True)
        plot_losses(work, args.docs / "loss.png")
        for name in ("samples.png", "samples.txt", "vae_reconstructions.png"):
            shutil.copy(work / name, args.docs / name)
        log(f"wrote {args.out} and {args.docs}/ ({time.time() - started:.0f} s this run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
