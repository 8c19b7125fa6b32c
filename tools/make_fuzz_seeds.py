#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (fuzz/) -> fuzz/corpus/<target>/.

Small valid inputs of each format, so the fuzzer starts inside the parsers instead of at their
first check: safetensors files written byte by byte (no torch needed), an index beside them,
the committed torch zip fixtures, the committed config JSONs, prompts, and flag lists. Plain
Python, deterministic (no randomness); run from the repository root:
    python3 tools/make_fuzz_seeds.py
"""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, raw bytes)} -> the file's bytes."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def write(target, name, payload):
    path = OUT / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload if isinstance(payload, bytes) else payload.encode())


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    write("safetensors", "one_f32", safetensors({"w": ("F32", [2, 2], f32)}))
    write("safetensors", "mixed", safetensors({"a": ("BF16", [2], b"\x80\x3f\x00\x40"), "b": ("I64", [1], struct.pack("<q", 7)),
                                              "c": ("BOOL", [3], b"\x01\x00\x01"), "d": ("F8_E4M3", [0], b"")},
                                             {"format": "pt"}))
    write("safetensors", "empty_header", struct.pack("<Q", 2) + b"{}")
    weight_map = {"weight_map": {"w": "shard.safetensors"}, "metadata": {"total_size": 8}}
    write("safetensors_index", "one_shard", json.dumps(weight_map))
    write("safetensors_index", "missing_shard", json.dumps({"weight_map": {"x": "nope.safetensors"}}))
    write("safetensors_index", "escape", json.dumps({"weight_map": {"w": "../shard.safetensors"}}))
    for pt in sorted((ROOT / "tests" / "data" / "io").glob("*.pt*")) + [ROOT / "tests/data/umt5/broken/not_a_state_dict.pth"]:
        write("torch_zip", pt.name, pt.read_bytes())
    configs = sorted(p for p in (ROOT / "tests" / "data").rglob("*config*.json") if p.stat().st_size < 4096)
    for i, cfg in enumerate(configs):
        write("config_json", f"{i:02d}_{cfg.name}", cfg.read_bytes())
    write("config_json", "nested", '{"a":[1,2.5e3,-0,true,null,"\\u00e9\\ud83d\\ude00"],"b":{"c":{}}}')
    prompts = ["a cat", "", "Two anthropomorphic cats in comfy boxing gear fight on a spotlighted stage.",
               "\U0001f431\U0001f3a5\u2728", "\u4e00\u53ea\u732b &amp; <b>html</b>", "  spaces\tand\nlines  ",
               "<|begin_of_text|><|endoftext|><|startoftext|>"]
    for i, prompt in enumerate(prompts):
        write("tokenizers", f"prompt_{i}", prompt)
    write("tokenizers", "invalid_utf8", b"a\xff\xfe b\xc3\x28 c\xe2\x82 d\xf0\x9f\x98")
    write("tokenizers", "nul", b"a\x00b")
    flags = [["--ulysses-degree", "2", "--ring_degree=1", "--prompt", "a cat", "--video-size", "720", "1280"],
             ["--ulysess-degree", "2", "--verify", "true"], ["--fps", "16", "24"], ["--ulysses_size", "4", "--ulysses-degree", "2"],
             ["--prompt", "--video-size", "1"]]
    for i, tokens in enumerate(flags):
        write("args", f"flags_{i}", "\0".join(tokens))


if __name__ == "__main__":
    main()
