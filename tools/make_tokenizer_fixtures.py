#!/usr/bin/env python3
"""Reference fixtures for HunyuanVideo's two C++ tokenizers (Llama 3 byte-level BPE, CLIP BPE).

Writes into ``tests/data/tokenizers/``:

  llama3/tokenizer.json       Llama 3's real vocabulary (128000 tiktoken ranks + 256 special tokens from
                              the PyPI wheel llama-models 0.3.0) converted by transformers' TikTokenConverter:
                              Split(pat_str, isolated) + ByteLevel(use_regex false), BPE ignore_merges,
                              post-processor Sequence[ByteLevel, TemplateProcessing(<|begin_of_text|> $A)],
                              plus the llava tokenizer's "<image>" 128256 and "<pad>" 128257 (UNVERIFIED ids;
                              see build_llama)
  llama3/tokenizer_config.json, special_tokens_map.json   pad_token "<pad>", bos, eos, padding_side right
  clip/vocab.json, clip/merges.txt   openai/clip-vit-large-patch14's layout derived from open-clip-torch
                              3.3.0's bpe_simple_vocab_16e6.txt.gz (49408 entries, first 48894 merges)
  references.json             prompts and their ids: Llama unpadded (BOS added) and padded to 351 (+ mask),
                              CLIP unpadded (BOS/EOS) and padded to 77 (+ mask), the HunyuanVideo video
                              template case and its crop_start check
  meta.json                   versions, cross-checks (tiktoken, transformers 5 vs 4.46.3), sizes, sha256

The references come from transformers 4.46.3 + tokenizers 0.20.3, the versions HunyuanVideo pins: its
slow CLIPTokenizer (with ftfy hidden, so BasicTokenizer cleans the text as in HunyuanVideo's environment)
no longer exists in transformers 5. They are installed with --no-deps into a side directory
(default .venv-tools/hv-transformers-4.46.3) and run in a child process. The Llama ids are also
checked against tiktoken's own encode and transformers 5's fast tokenizer on the same file.

Usage (from the repository root):
    tools/setup_tools_venv.sh && .venv-tools/bin/python tools/make_tokenizer_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLAMA_WHEEL = "llama-models==0.3.0"
CLIP_WHEEL = "open-clip-torch==3.3.0"
HV_PINS = ["transformers==4.46.3", "tokenizers==0.20.3", "huggingface_hub==0.26.5"]
LLAMA_MAX = 351  # text_len 256 + crop_start 95 (hunyuanvideo_pipeline.md §1)
CLIP_MAX = 77
CROP_START = 95

# [HV] hyvideo/constants.py, the video template (crop_start 95).
VIDEO_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video."
    "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
    "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
    "4. background environment, light, style and atmosphere."
    "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
)
CAT_PROMPT = "A cat walks on the grass, realistic style."

LONG_SENTENCE = (
    "A slow cinematic dolly shot glides through a rain-soaked neon market at night, reflections shimmering "
    "on wet cobblestones while vendors in colorful raincoats sell steaming dumplings and paper lanterns sway. "
)

PROMPTS = [
    ("english", "A dog runs across the beach at sunset."),
    ("cat", CAT_PROMPT),
    ("accents", "Un café au lait, s'il vous plaît — naïve façade, Ångström, Øresund."),
    ("chinese", "一只猫在草地上行走，写实风格。"),
    ("japanese", "東京の夜景、ネオンが輝く街をカメラがゆっくり移動する。"),
    ("emoji", "Party time 🎉🐈 with family 👨‍👩‍👧‍👦 and flags 🏳️‍🌈 👍🏽!"),
    ("html_entities", "Tom &amp; Jerry &lt;3 &quot;quoted&quot; &#39;x&#39;"),
    ("numbers", "There are 1234567 stars, pi is 3.14, and 2024-12-05 at 10:30."),
    ("contractions", "don't, it's, we'll, CAN'T, they're, I've, you'd, I'M"),
    ("mixed_case", "HeLLo WoRLD, CamelCaseWords and ALLCAPS and lowercase"),
    ("whitespace", "multiple   spaces\tand\ttabs\nnew\n\nlines \r\n end"),
    ("leading_trailing", "   leading and trailing whitespace   \n"),
    ("empty", ""),
    ("special_text", "A <|endoftext|> B and <|ENDOFTEXT|> C <|begin_of_text|>"),
    ("controls", "zero\u200bwidth soft\u00adhyphen nbsp\u00a0here ideographic\u3000space line\u2028sep"),
    ("greek_sigma", "ΟΔΥΣΣΕΥΣ and İstanbul"),
    ("long", LONG_SENTENCE * 12),
    ("negative", "Aerial view, aerial view, overexposed, low quality, deformation, a poor composition, "
                 "bad hands, bad teeth, bad eyes, bad limbs, distortion"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheels(dest: Path) -> dict[str, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    for spec in (LLAMA_WHEEL, CLIP_WHEEL):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), spec], check=True)
    found = {}
    for key, prefix in (("llama", "llama_models-0.3.0"), ("clip", "open_clip_torch-3.3.0")):
        hits = sorted(dest.glob(prefix + "-*.whl"))
        if not hits:
            raise SystemExit(f"{prefix} wheel not found in {dest}")
        found[key] = hits[0]
    return found


def ensure_hv_transformers(target: Path) -> Path:
    if not (target / "transformers" / "__init__.py").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *HV_PINS],
                       check=True)
    return target


# ---- Llama 3 --------------------------------------------------------------------------------------------

def llama_pieces(wheel: Path, workdir: Path) -> tuple[Path, str, list[str]]:
    """tokenizer.model, pat_str and the 256 special tokens, read from the wheel's tokenizer.py."""
    with zipfile.ZipFile(wheel) as z:
        model = workdir / "tokenizer.model"
        model.write_bytes(z.read("llama_models/llama3/tokenizer.model"))
        source = z.read("llama_models/llama3/tokenizer.py").decode()
    tree = ast.parse(source)
    pat_str, named, reserved = None, None, None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            name = target.id if isinstance(target, ast.Name) else None
            if name == "pat_str":
                pat_str = ast.literal_eval(node.value)
            elif name == "num_reserved_special_tokens":
                reserved = ast.literal_eval(node.value)
            elif name == "special_tokens" and isinstance(node.value, ast.List):
                named = ast.literal_eval(node.value)
    assert pat_str and named and reserved == 256, (pat_str, named, reserved)
    specials = named + [f"<|reserved_special_token_{2 + i}|>" for i in range(reserved - len(named))]
    return model, pat_str, specials


def build_llama(model: Path, pat_str: str, specials: list[str], out: Path) -> None:
    from tokenizers import processors
    from transformers.convert_slow_tokenizer import TikTokenConverter

    tok = TikTokenConverter(vocab_file=str(model), pattern=pat_str, extra_special_tokens=specials).converted()
    bos = "<|begin_of_text|>"
    bos_id = tok.token_to_id(bos)
    assert bos_id == 128000, bos_id
    # Llama 3's own tokenizer.json: the ByteLevel post-processor (offsets only) then the BOS template.
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]),
    ])
    doc = json.loads(tok.to_str())
    assert doc["model"].get("ignore_merges") is True
    # The llava tokenizer HunyuanVideo saves adds <image> and <pad> (UNVERIFIED: the llava config copy says
    # 128257/128258, but tokenizers numbers added tokens outside the model vocabulary contiguously on load,
    # whatever their "id" says, so a file that loads consistently has them at 128256/128257).
    for content, idx in (("<image>", 128256), ("<pad>", 128257)):
        doc["added_tokens"].append({"id": idx, "content": content, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    special_map = {"bos_token": bos, "eos_token": "<|eot_id|>", "pad_token": "<pad>"}
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n")
    config = dict(special_map, tokenizer_class="PreTrainedTokenizerFast", padding_side="right",
                  model_max_length=131072, clean_up_tokenization_spaces=True,
                  model_input_names=["input_ids", "attention_mask"])
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def tiktoken_ids(model: Path, pat_str: str, specials: list[str], texts: list[str]) -> list[list[int]]:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(model))
    enc = tiktoken.Encoding(name="llama3", pat_str=pat_str, mergeable_ranks=ranks,
                            special_tokens={t: len(ranks) + i for i, t in enumerate(specials)})
    return [enc.encode(t, allowed_special="all") for t in texts]


# ---- CLIP -----------------------------------------------------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


def build_clip(wheel: Path, out: Path) -> None:
    """vocab.json/merges.txt as openai/clip-vit-large-patch14 lays them out (CLIP's SimpleTokenizer order)."""
    with zipfile.ZipFile(wheel) as z:
        lines = gzip.decompress(z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")).decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    assert len(merges) == 48894
    base = list(bytes_to_unicode().values())
    vocab = base + [v + "</w>" for v in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408 and len(set(vocab)) == 49408
    encoder = {v: i for i, v in enumerate(vocab)}
    assert encoder["<|startoftext|>"] == 49406 and encoder["<|endoftext|>"] == 49407
    out.mkdir(parents=True, exist_ok=True)
    # Compact, in id order (the reader does not care about layout; it keeps the file small).
    (out / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    with open(out / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")


# ---- references (child process, transformers 4.46.3) ----------------------------------------------------

def reference_worker(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    sys.modules["ftfy"] = None  # HunyuanVideo's environment has no ftfy: `import ftfy` raises ImportError
    import tokenizers
    import transformers
    from transformers import AutoTokenizer, CLIPTokenizer

    llama = AutoTokenizer.from_pretrained(job["llama_dir"])
    clip = CLIPTokenizer(os.path.join(job["clip_dir"], "vocab.json"), os.path.join(job["clip_dir"], "merges.txt"),
                         model_max_length=CLIP_MAX)
    assert clip.fix_text is None and hasattr(clip, "nlp"), "the ftfy path ran, not BasicTokenizer"
    result = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
              "llama_class": type(llama).__name__, "clip_class": type(clip).__name__,
              "clip_path": "BasicTokenizer(strip_accents=False, do_split_on_punc=False) (ftfy hidden)",
              "llama_pad_id": llama.pad_token_id, "llama": [], "clip": []}
    for text in job["texts"]:
        padded = llama(text, truncation=True, max_length=LLAMA_MAX, padding="max_length")
        result["llama"].append({"ids": llama(text)["input_ids"], "padded_ids": padded["input_ids"],
                                "padded_mask": padded["attention_mask"],
                                "decoded": llama.decode(llama(text)["input_ids"], clean_up_tokenization_spaces=False)})
        cpad = clip(text, truncation=True, max_length=CLIP_MAX, padding="max_length")
        result["clip"].append({"ids": clip(text)["input_ids"], "padded_ids": cpad["input_ids"],
                               "padded_mask": cpad["attention_mask"], "cleaned": " ".join(clip.nlp.tokenize(text))})
    Path(job["out"]).write_text(json.dumps(result, ensure_ascii=False))


def transformers5_checks(llama_dir: Path, clip_dir: Path, texts: list[str]) -> dict:
    import transformers
    from transformers import AutoTokenizer, CLIPTokenizer

    llama = AutoTokenizer.from_pretrained(str(llama_dir))
    clip = CLIPTokenizer.from_pretrained(str(clip_dir))  # tokenizers-backed in transformers 5 (no slow class)
    return {"transformers": transformers.__version__, "llama_class": type(llama).__name__,
            "llama": [llama(t)["input_ids"] for t in texts], "clip": [clip(t)["input_ids"] for t in texts]}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--reference-worker":
        reference_worker(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "tests/data/tokenizers"))
    parser.add_argument("--wheels", default=None, help="directory with the two wheels (default: pip download them)")
    parser.add_argument("--hv-transformers", default=str(ROOT / ".venv-tools/hv-transformers-4.46.3"),
                        help="side directory for transformers 4.46.3 (installed there with --no-deps if absent)")
    args = parser.parse_args()
    out = Path(args.out)

    import tiktoken
    import tokenizers
    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheels = fetch_wheels(Path(args.wheels) if args.wheels else tmp / "wheels")
        model, pat_str, specials = llama_pieces(wheels["llama"], tmp)
        build_llama(model, pat_str, specials, out / "llama3")
        build_clip(wheels["clip"], out / "clip")

        texts = [t for _, t in PROMPTS]
        template_text = VIDEO_TEMPLATE.format(CAT_PROMPT)
        all_texts = texts + [template_text, VIDEO_TEMPLATE.format(LONG_SENTENCE * 12)]
        tik = tiktoken_ids(model, pat_str, specials, all_texts)

        hv_dir = ensure_hv_transformers(Path(args.hv_transformers))
        job = {"llama_dir": str(out / "llama3"), "clip_dir": str(out / "clip"), "texts": all_texts,
               "out": str(tmp / "ref.json")}
        (tmp / "job.json").write_text(json.dumps(job, ensure_ascii=False))
        env = dict(os.environ, PYTHONPATH=str(hv_dir))
        subprocess.run([sys.executable, __file__, "--reference-worker", str(tmp / "job.json")], check=True, env=env)
        ref = json.loads((tmp / "ref.json").read_text())
        tf5 = transformers5_checks(out / "llama3", out / "clip", all_texts)

    bos = 128000
    tik_mismatch = [i for i, (r, t) in enumerate(zip(ref["llama"], tik)) if r["ids"] != [bos] + t]
    assert not tik_mismatch, f"tiktoken disagrees with transformers 4.46.3 on {tik_mismatch}"
    tf5_llama_mismatch = [i for i, (r, t) in enumerate(zip(ref["llama"], tf5["llama"])) if r["ids"] != t]
    assert not tf5_llama_mismatch, f"transformers 5 fast Llama disagrees on {tf5_llama_mismatch}"
    tf5_clip_diff = [all_texts[i] for i, (r, t) in enumerate(zip(ref["clip"], tf5["clip"])) if r["ids"] != t]

    # crop_start check: the prompt's first token must sit at index 95 of the BOS-prefixed ids.
    t_ids = ref["llama"][len(texts)]["ids"]
    cat_alone = tik[texts.index(CAT_PROMPT)]
    prefix_len = next(i for i in range(len(t_ids)) if t_ids[i:i + len(cat_alone)] == cat_alone)
    crop = {"prompt": CAT_PROMPT, "first_prompt_token_index": prefix_len, "crop_start": CROP_START,
            "holds": prefix_len == CROP_START, "ids_from_95": t_ids[CROP_START:],
            "note": "index counts the BOS; the template's '\\n\\n' before {} is the token just before it"}
    assert crop["holds"], crop

    def entry(i: int, name: str, text: str) -> dict:
        r, c = ref["llama"][i], ref["clip"][i]
        return {"name": name, "text": text,
                "llama": {"ids": r["ids"], "padded_351": {"ids": r["padded_ids"], "mask": r["padded_mask"]},
                          "decoded": r["decoded"]},
                "clip": {"ids": c["ids"], "cleaned": c["cleaned"],
                         "padded_77": {"ids": c["padded_ids"], "mask": c["padded_mask"]}}}

    cases = [entry(i, n, t) for i, (n, t) in enumerate(PROMPTS)]
    cases.append(entry(len(texts), "template_cat", template_text))
    cases.append(entry(len(texts) + 1, "template_long", all_texts[-1]))
    references = {"llama_max_length": LLAMA_MAX, "clip_max_length": CLIP_MAX, "llama_pad_id": ref["llama_pad_id"],
                  "crop_start_check": crop, "cases": cases}
    (out / "references.json").write_text(json.dumps(references, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "meta.json")
    meta = {
        "generator": "tools/make_tokenizer_fixtures.py",
        "python": platform.python_version(),
        "reference": {"transformers": ref["transformers"], "tokenizers": ref["tokenizers"],
                      "llama_class": ref["llama_class"], "clip_class": ref["clip_class"], "clip_path": ref["clip_path"]},
        "tools_env": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                      "tiktoken": tiktoken.__version__},
        "sources": {"llama": LLAMA_WHEEL + " llama_models/llama3/tokenizer.{model,py}",
                    "clip": CLIP_WHEEL + " open_clip/bpe_simple_vocab_16e6.txt.gz"},
        "llama_pat_str": pat_str,
        "checks": {
            "tiktoken_equals_reference_on_all_prompts": True,
            "transformers5_fast_llama_equals_reference": True,
            "transformers5_clip_differs_on": tf5_clip_diff,
            "transformers5_clip_note": "transformers 5 has no slow CLIPTokenizer: its tokenizers-backed one "
                                       "normalizes NFC + \\s+ -> ' ' + lowercase (no control removal, no CJK spacing)",
            "crop_start_95_holds": crop["holds"],
        },
        "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in files},
    }
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out}: {total / 1e6:.2f} MB; crop_start 95 holds: {crop['holds']}; "
          f"transformers 5 CLIP differs on {len(tf5_clip_diff)} prompts")


if __name__ == "__main__":
    main()
