#!/usr/bin/env python3
"""Draws the plots of bench/plan_model.md: the planner's predictions against what was measured
(peak RSS on this machine, bench/plan_model_memory.csv, made by bench/plan_model.sh) and against
published H100 timings (HunyuanVideo 720p/129 frames/50 steps, xDiT Ulysses; Wan 2.1 14B
720p/81 frames/50 steps with CFG, Wan's table), the predictions read from `uspdit plan --json`.

    .venv-tools/bin/python tools/plot_plan_model.py [--uspdit build/uspdit] [--out bench/plan_model]

Deterministic: no randomness; the PNGs change only when the predictions or the data change.
"""
import argparse
import csv
import json
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Seconds for 1, 2, 4, 8 H100s. Both published runs decode the whole video on one GPU
# (HunyuanVideo's xDiT path has no parallel VAE, Wan's generate.py decodes on rank 0): predicted
# with --serial-vae, and beside it what uspdit's default (the decode spread over the ranks) would take.
PUBLISHED = {
    "hunyuanvideo": {"flags": [], "seconds": [1904, 925, 514, 338], "label": "HunyuanVideo 720p 129f (xDiT)"},
    "wan2.1-t2v-14b": {"flags": ["--cfg"], "seconds": [1838, 945, 497, 288], "label": "Wan 2.1 14B 720p 81f CFG (Wan)"},
}


def predicted_seconds(uspdit: str, model: str, flags: list[str], gpus: int) -> float:
    out = subprocess.run([uspdit, "plan", "--model", model, "--gpus-per-node", str(gpus), "--gpu", "h100", "--json",
                          *flags], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    # The published runs are Ulysses over every GPU (cfg 1): that row, not the recommendation.
    row = next(c for c in doc["configurations"] if c["ulysses_degree"] == gpus and c["cfg_degree"] == 1)
    return row["total_seconds"]


def plot_time(uspdit: str, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    gpus = [1, 2, 4, 8]
    for (model, pub), colour in zip(PUBLISHED.items(), ["tab:blue", "tab:orange"]):
        pred = [predicted_seconds(uspdit, model, pub["flags"] + ["--serial-vae"], g) for g in gpus]
        ours = [predicted_seconds(uspdit, model, pub["flags"], g) for g in gpus]
        ax.plot(gpus, pub["seconds"], "o-", color=colour, label=pub["label"] + ", published")
        ax.plot(gpus, pred, "s--", color=colour, label=pub["label"] + ", predicted (--serial-vae, as published)")
        ax.plot(gpus, ours, ":", color=colour, alpha=0.6, label=pub["label"] + ", predicted, uspdit's parallel VAE")
        for g, p, m in zip(gpus, pred, pub["seconds"]):
            ax.annotate(f"{100 * (p / m - 1):+.0f}%", (g, p), textcoords="offset points", xytext=(6, -10),
                        fontsize=7, color=colour)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(gpus, [str(g) for g in gpus])
    ax.set_xlabel("H100 GPUs (Ulysses)")
    ax.set_ylabel("seconds per video (50 steps)")
    ax.set_title("uspdit plan --gpu h100 vs published times")
    ax.legend(fontsize=6.5, loc="lower left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "time_h100.png", dpi=110)


def plot_memory(out: Path) -> None:
    rows = list(csv.DictReader(open(ROOT / "bench" / "plan_model_memory.csv")))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    points = []
    for r in rows:
        points.append((float(r["measured_peak_gib"]), float(r["predicted_peak_gib"]), f"{r['run']} {r['ranks']}r"))
        if r["measured_other_gib"]:
            points.append((float(r["measured_other_gib"]), float(r["predicted_other_gib"]),
                           f"{r['run']} {r['ranks']}r other"))
    top = max(max(m, p) for m, p, _ in points) * 1.3
    ax.plot([0.1, top], [0.1, top], "k-", lw=0.8, label="predicted = measured")
    ax.fill_between([0.1, top], [0.085, top * 0.85], [0.115, top * 1.15], color="grey", alpha=0.2, label="±15 %")
    for m, p, label in points:
        ax.plot(m, p, "o", ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured peak RSS per rank, GiB")
    ax.set_ylabel("predicted peak, GiB")
    ax.set_title("generate's memory preflight vs measured (CPU, 1/2/4 ranks)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "memory_cpu.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uspdit", default=str(ROOT / "build" / "uspdit"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "plan_model")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    plot_time(args.uspdit, args.out)
    plot_memory(args.out)
    print(f"wrote {args.out}/time_h100.png, {args.out}/memory_cpu.png")


if __name__ == "__main__":
    main()
