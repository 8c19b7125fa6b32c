#!/usr/bin/env python3
"""The demo model's procedural data set (issue 15): short clips of one coloured shape moving over a
dark background, with a caption in plain words. Generated on the fly from a seed, never stored.

A clip is FRAMES x SIZE x SIZE RGB (17 x 64 x 64 by default), values in [-1, 1] as the Wan VAE
takes them. One shape (circle, square, triangle) of one of six colours moves left, right, up or
down in a straight line at a constant speed, from a start point drawn so that it stays inside the
frame for the whole clip. The background is a dark blue-grey with a faint vertical gradient (so an
empty frame is not a single value), the same in every clip.

Captions always name colour, shape and direction; the phrasing varies:
    "a red circle moving right", "a blue square slides up", "a green triangle drifting left", ...
`caption_parts(caption)` reads a caption back into (colour, shape, direction), and the semantic
test in the C++ suite checks generated videos against the same vocabulary.

    python tools/demo_data.py --show 8 --out out/demo_data   # writes a PNG strip per clip
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE, FRAMES = 64, 17
COLOURS = {  # RGB in [0, 1]: saturated, far apart, all bright against the dark background
    "red": (0.92, 0.12, 0.10),
    "green": (0.15, 0.85, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.95, 0.88, 0.12),
    "magenta": (0.90, 0.15, 0.85),
    "cyan": (0.10, 0.88, 0.90),
}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}  # (dx, dy), y grows downwards
VERBS = ("moving {d}", "slides {d}", "sliding {d}", "drifting {d}", "going {d}", "moves {d}")
ARTICLES = ("a {c} {s}", "one {c} {s}", "the {c} {s}")
BACKGROUND_TOP, BACKGROUND_BOTTOM = (0.06, 0.07, 0.10), (0.10, 0.11, 0.16)


@dataclass(frozen=True)
class ClipSpec:
    colour: str
    shape: str
    direction: str
    radius: float  # half the shape's width, pixels
    x0: float  # centre at frame 0, pixels
    y0: float
    travel: float  # pixels moved from the first frame to the last
    phrasing: int  # which caption form


def caption(spec: ClipSpec) -> str:
    """Phrasing 0 is always the canonical "a {colour} {shape} moving {direction}"."""
    if spec.phrasing == 0:
        return f"a {spec.colour} {spec.shape} moving {spec.direction}"
    article = ARTICLES[spec.phrasing % len(ARTICLES)]
    verb = VERBS[spec.phrasing % len(VERBS)]
    return (article + " " + verb).format(c=spec.colour, s=spec.shape, d=spec.direction)


def caption_parts(text: str) -> tuple[str, str, str]:
    """(colour, shape, direction) named in a caption; ValueError if one is missing."""
    words = text.lower().replace(",", " ").split()
    found = [next((w for w in words if w in vocab), None) for vocab in (COLOURS, SHAPES, DIRECTIONS)]
    if None in found:
        raise ValueError(f"caption {text!r} does not name a colour, a shape and a direction")
    return found[0], found[1], found[2]


def random_spec(rng: np.random.Generator, colour=None, shape=None, direction=None, phrasing=None) -> ClipSpec:
    colour = colour or rng.choice(list(COLOURS))
    shape = shape or rng.choice(SHAPES)
    direction = direction or rng.choice(list(DIRECTIONS))
    radius = float(rng.uniform(6.0, 9.0))
    travel = float(rng.uniform(22.0, 34.0))
    dx, dy = DIRECTIONS[direction]
    lo, hi = radius + 1.0, SIZE - radius - 1.0
    # The whole path inside the frame: the start leaves `travel` pixels along the motion.
    x_lo, x_hi = (lo, hi - travel) if dx > 0 else (lo + travel, hi) if dx < 0 else (lo, hi)
    y_lo, y_hi = (lo, hi - travel) if dy > 0 else (lo + travel, hi) if dy < 0 else (lo, hi)
    x0, y0 = float(rng.uniform(x_lo, x_hi)), float(rng.uniform(y_lo, y_hi))
    if phrasing is None:
        phrasing = int(rng.integers(0, 2 * len(VERBS)))
    return ClipSpec(str(colour), str(shape), str(direction), radius, x0, y0, travel, phrasing)


def _coverage(shape: str, cx: float, cy: float, r: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Fraction of each pixel inside the shape, from 4x4 supersampling (anti-aliased edges)."""
    sub = (np.arange(4) + 0.5) / 4.0
    px = xs[None, :, None, None] + sub[None, None, None, :]  # [1, W, 1, 4]
    py = ys[:, None, None, None] + sub[None, None, :, None]  # [H, 1, 4, 1]
    u, v = px - cx, py - cy
    if shape == "circle":
        inside = u * u + v * v <= r * r
    elif shape == "square":
        s = r * math.sqrt(math.pi) / 2.0  # the circle's area: the shapes differ in form, not size
        inside = (np.abs(u) <= s) & (np.abs(v) <= s)
    else:  # an upward equilateral triangle of the circle's area, centred on its centroid
        side = r * math.sqrt(4.0 * math.pi / math.sqrt(3.0))
        h = side * math.sqrt(3.0) / 2.0
        top, base = -2.0 * h / 3.0, h / 3.0
        half = (v - top) / h * side / 2.0
        inside = (v >= top) & (v <= base) & (np.abs(u) <= half)
    return inside.mean(axis=(2, 3))


def render(spec: ClipSpec, frames: int = FRAMES, size: int = SIZE) -> np.ndarray:
    """[frames, size, size, 3] float32 in [-1, 1]."""
    xs = np.arange(size, dtype=np.float64)
    ys = np.arange(size, dtype=np.float64)
    t = np.linspace(0.0, 1.0, size)[:, None, None]
    background = (1 - t) * np.array(BACKGROUND_TOP) + t * np.array(BACKGROUND_BOTTOM)
    background = np.broadcast_to(background, (size, size, 3))
    colour = np.array(COLOURS[spec.colour])
    dx, dy = DIRECTIONS[spec.direction]
    out = np.empty((frames, size, size, 3), dtype=np.float32)
    for f in range(frames):
        a = f / (frames - 1)
        cx, cy = spec.x0 + dx * spec.travel * a, spec.y0 + dy * spec.travel * a
        cover = _coverage(spec.shape, cx, cy, spec.radius, xs, ys)[..., None]
        out[f] = (background * (1 - cover) + colour * cover) * 2.0 - 1.0
    return out


def batch(rng: np.random.Generator, n: int, frames: int = FRAMES) -> tuple[np.ndarray, list[str]]:
    """n clips [n, 3, frames, size, size] (the VAE's layout) and their captions. Fewer frames than
    FRAMES: the clip's first `frames` frames (the motion at its full speed)."""
    specs = [random_spec(rng) for _ in range(n)]
    clips = np.stack([render(s)[:frames].transpose(3, 0, 1, 2) for s in specs])
    return clips, [caption(s) for s in specs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show", type=int, default=6, help="clips to write as PNG strips")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("out/demo_data"))
    args = ap.parse_args()
    from PIL import Image

    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i in range(args.show):
        spec = random_spec(rng)
        clip = render(spec)
        strip = np.concatenate(list(clip[::4]), axis=1)  # every 4th frame side by side
        name = caption(spec).replace(" ", "_")
        Image.fromarray(((strip + 1) * 127.5).round().astype(np.uint8)).save(args.out / f"{i:02d}_{name}.png")
        assert caption_parts(caption(spec)) == (spec.colour, spec.shape, spec.direction)
    print(f"wrote {args.show} strips to {args.out}")


if __name__ == "__main__":
    main()
