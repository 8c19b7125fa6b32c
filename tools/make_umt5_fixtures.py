#!/usr/bin/env python3
"""Reference fixtures for the C++ umt5-xxl text encoder, its tokenizer and Wan's prompt cleaning.

Writes into ``tests/data/umt5/``:

  tokenizer/            a tiny sentencepiece unigram model trained here (English + Chinese corpus,
                        umt5's special ids: pad 0, eos 1, unk 2, byte_fallback) as spiece.model, wrapped
                        as transformers' T5Tokenizer and saved (tokenizer.json, tokenizer_config.json)
  hf/                   a tiny transformers UMT5EncoderModel (config.json + model.safetensors)
  original/             the same weights under Wan 2.1's T5Encoder names, torch.save of a plain state dict:
                        umt5_enc_fp32.pth (fp32) and models_t5_umt5-xxl-enc-bf16.pth (bf16, like the release)
  prompts.json          raw prompts, clean_prompt reference (Wan's whitespace_clean(basic_clean(.))),
                        and token ids + masks from the tokenizer exactly as Wan calls it
  clean_cases.json      more raw -> cleaned pairs (clean_prompt only)
  outputs.safetensors   encoder inputs/outputs: ids/mask/out for a prompt batch; ids_long/mask_long/
                        out_long (160 tokens, 150 real: relative distances beyond max_distance 128)
  meta.json             versions, configs, verification numbers

It also generates ``src/models/umt5/umt5_unicode_data.inc`` (``--tables``): the HTML5 named character
references (as Python's html.entities.html5 and ftfy 6 decode them) and the Unicode data NFC needs
(canonical decompositions, combining classes, primary composites) from Python's unicodedata, so the
C++ cleaning is exact against the Python reference on the same Unicode version.

Importable builders (the whole-pipeline fixture uses them):
  build_tokenizer(out_dir) -> transformers tokenizer (files saved in out_dir)
  build_tiny_umt5(vocab_size, seed, **config) -> UMT5EncoderModel with seeded random weights
  save_umt5_original(model, path, dtype=torch.float32) -> Wan-layout torch.save file
  wan_clean(text) -> Wan's prompt cleaning;  wan_tokenize(tokenizer, prompts, max_len) -> (ids, mask)

Usage (from the repository root):
    tools/setup_tools_venv.sh && .venv-tools/bin/python tools/make_umt5_fixtures.py [--out DIR] [--tables]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import html.entities
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

import ftfy
import numpy as np
import regex
import safetensors
import sentencepiece as spm
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoTokenizer, T5Tokenizer, UMT5Config, UMT5EncoderModel

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "umt5"
TABLES_PATH = ROOT / "src" / "models" / "umt5" / "umt5_unicode_data.inc"

# wan/configs/shared_config.py: sample_neg_prompt
WAN_NEG_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)

# --------------------------------------------------------------------------------------------
# Wan's prompt cleaning and tokenizer call (wan/modules/tokenizers.py), verbatim semantics
# --------------------------------------------------------------------------------------------


def wan_clean(text: str, fix_encoding: bool = True) -> str:
    """HuggingfaceTokenizer(clean='whitespace'): whitespace_clean(basic_clean(text)).

    fix_encoding=False turns off ftfy's mojibake repair only (what the C++ does not reproduce).
    """
    text = ftfy.fix_text(text, fix_encoding=fix_encoding)
    text = html.unescape(html.unescape(text))
    text = text.strip()
    text = regex.sub(r"\s+", " ", text)
    return text.strip()


def wan_tokenize(tokenizer, prompts, max_len):
    """Wan's call: cleaned prompts, padding='max_length', truncation, add_special_tokens."""
    out = tokenizer([wan_clean(p) for p in prompts], return_tensors="pt", padding="max_length",
                    truncation=True, max_length=max_len, add_special_tokens=True)
    return out.input_ids, out.attention_mask


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

EN_WORDS = (
    "a an the cat dog bird horse woman man child girl boy walks runs flies jumps dances sits on in under "
    "over near beach forest city street river mountain snow rain sunset sunrise night light golden warm cold "
    "camera slowly moves forward backward pans zooms close up wide shot of with and her his hair wind wave "
    "ocean sky cloud car train bicycle red blue green white black yellow bright dark cinematic realistic "
    "style video frame motion smooth high quality detailed portrait landscape astronaut riding playing "
    "guitar piano coffee cup table window reflections neon lights old young happy smiling"
).split()
ZH_PHRASES = [
    "一只猫在海滩上散步", "夕阳下的城市街道", "镜头缓慢向前移动", "一个女孩在雨中跳舞", "高质量电影画面",
    "宇航员骑马在月球上", "金色的阳光照在森林里", "雪山和河流", "夜晚的霓虹灯", "一杯咖啡放在桌子上",
    "小狗在草地上奔跑", "海浪拍打着岩石", "真实的风格", "细节丰富的肖像", WAN_NEG_PROMPT,
]


def make_corpus(seed: int = 7, lines: int = 4000) -> list[str]:
    rng = random.Random(seed)
    zh_chars = sorted(set("".join(ZH_PHRASES)) - set("，"))
    out = []
    for _ in range(lines):
        kind = rng.random()
        if kind < 0.45:
            words = [rng.choice(EN_WORDS) for _ in range(rng.randint(3, 14))]
            out.append(" ".join(words).capitalize() + rng.choice([".", ",", "!", ""]))
        elif kind < 0.8:
            out.append(rng.choice(ZH_PHRASES) if rng.random() < 0.5 else
                       "".join(rng.choice(zh_chars) for _ in range(rng.randint(4, 20))))
        else:
            out.append(rng.choice(ZH_PHRASES) + ", " + " ".join(rng.choice(EN_WORDS) for _ in range(4)))
    return out


def train_spiece(model_path: Path, vocab_size: int = 1000, seed: int = 7) -> None:
    """A unigram model with umt5's conventions: pad 0, eos 1, unk 2, no bos, byte fallback, nmt_nfkc."""
    model_path = Path(model_path).resolve()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # relative paths: the trainer spec stored in the model records them
        os.chdir(tmp)
        try:
            Path("corpus.txt").write_text("\n".join(make_corpus(seed)) + "\n", encoding="utf-8")
            spm.set_random_generator_seed(seed)
            spm.SentencePieceTrainer.train(
                input="corpus.txt", model_prefix="spiece", vocab_size=vocab_size,
                model_type="unigram", byte_fallback=True, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", character_coverage=0.9995,
                normalization_rule_name="nmt_nfkc", num_threads=1, seed_sentencepiece_size=100000,
                shuffle_input_sentence=False, minloglevel=2)
            shutil.copy("spiece.model", model_path)
        finally:
            os.chdir(cwd)


def build_tokenizer(out_dir, vocab_size: int = 1000, seed: int = 7):
    """Trains spiece.model into out_dir and saves transformers' T5Tokenizer files beside it.

    Returns the tokenizer as Wan loads it: AutoTokenizer.from_pretrained(out_dir).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_spiece(out_dir / "spiece.model", vocab_size, seed)
    # extra_ids=0: the tiny vocab has no sentinels (umt5's are not used by text-to-video prompts)
    # (transformers 5 converts spiece.model to a tokenizers Unigram through from_pretrained only)
    tok = T5Tokenizer.from_pretrained(str(out_dir), extra_ids=0)
    tok.save_pretrained(str(out_dir))
    return AutoTokenizer.from_pretrained(str(out_dir))


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

TINY_CONFIG = dict(d_model=32, d_ff=64, num_heads=4, d_kv=8, num_layers=2, feed_forward_proj="gated-gelu",
                   relative_attention_num_buckets=32, relative_attention_max_distance=128,
                   layer_norm_epsilon=1e-6, dropout_rate=0.0)


def build_tiny_umt5(vocab_size: int, seed: int = 1234, **config) -> UMT5EncoderModel:
    """UMT5EncoderModel with every parameter redrawn from a seeded generator (outputs O(1))."""
    cfg = dict(TINY_CONFIG)
    cfg.update(config)
    torch.manual_seed(seed)
    config = UMT5Config(vocab_size=vocab_size, **cfg)
    config._attn_implementation = "eager"
    model = UMT5EncoderModel(config).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.25 * torch.randn(p.shape, generator=gen))
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif name == "shared.weight":
                p.copy_(torch.randn(p.shape, generator=gen))
            else:  # Linear [out, in]
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
    return model


# HF UMT5EncoderModel -> Wan T5Encoder; N = block index
NAME_MAP = [
    ("shared.weight", "token_embedding.weight"),
    ("encoder.block.N.layer.0.layer_norm.weight", "blocks.N.norm1.weight"),
    ("encoder.block.N.layer.0.SelfAttention.q.weight", "blocks.N.attn.q.weight"),
    ("encoder.block.N.layer.0.SelfAttention.k.weight", "blocks.N.attn.k.weight"),
    ("encoder.block.N.layer.0.SelfAttention.v.weight", "blocks.N.attn.v.weight"),
    ("encoder.block.N.layer.0.SelfAttention.o.weight", "blocks.N.attn.o.weight"),
    ("encoder.block.N.layer.0.SelfAttention.relative_attention_bias.weight", "blocks.N.pos_embedding.embedding.weight"),
    ("encoder.block.N.layer.1.layer_norm.weight", "blocks.N.norm2.weight"),
    ("encoder.block.N.layer.1.DenseReluDense.wi_0.weight", "blocks.N.ffn.gate.0.weight"),
    ("encoder.block.N.layer.1.DenseReluDense.wi_1.weight", "blocks.N.ffn.fc1.weight"),
    ("encoder.block.N.layer.1.DenseReluDense.wo.weight", "blocks.N.ffn.fc2.weight"),
    ("encoder.final_layer_norm.weight", "norm.weight"),
]


def hf_to_original_name(key: str) -> str:
    parts = key.split(".")
    for hf, orig in NAME_MAP:
        hp = hf.split(".")
        if len(hp) == len(parts) and all(a == b or a == "N" and b.isdigit() for a, b in zip(hp, parts)):
            n = next((b for a, b in zip(hp, parts) if a == "N"), None)
            return orig.replace(".N.", f".{n}.") if n is not None else orig
    raise KeyError(f"no Wan name for {key!r}")


def original_state_dict(model: UMT5EncoderModel, dtype=torch.float32) -> dict:
    sd = {}
    for k, v in model.state_dict().items():
        if k == "encoder.embed_tokens.weight":  # tied to shared.weight
            continue
        sd[hf_to_original_name(k)] = v.detach().to(dtype).clone().contiguous()
    return sd


def save_umt5_original(model: UMT5EncoderModel, path, dtype=torch.float32) -> None:
    """torch.save of a plain state dict under Wan's T5Encoder names (what the release ships, in bf16)."""
    torch.save(original_state_dict(model, dtype), str(path))


def wan_t5_forward(sd: dict, ids: torch.Tensor, mask: torch.Tensor, num_heads: int, eps: float = 1e-6,
                   num_buckets: int = 32, max_dist: int = 128) -> torch.Tensor:
    """Independent re-implementation of Wan's T5Encoder.forward (wan/modules/t5.py) in fp32."""
    import math
    x = sd["token_embedding.weight"][ids]
    n_layers = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    b, s = ids.shape

    def norm(x, w):
        return w * (x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps))

    def buckets(lq, lk):
        rel = torch.arange(lk)[None, :] - torch.arange(lq)[:, None]
        nb = num_buckets // 2
        out = (rel > 0).long() * nb
        rel = rel.abs()
        exact = nb // 2
        large = exact + (torch.log(rel.float() / exact) / math.log(max_dist / exact) * (nb - exact)).long()
        large = torch.minimum(large, torch.full_like(large, nb - 1))
        return out + torch.where(rel < exact, rel, large)

    bk = buckets(s, s)
    for i in range(n_layers):
        p = f"blocks.{i}."
        h = norm(x, sd[p + "norm1.weight"])
        c = h.shape[-1] // 1
        q = (h @ sd[p + "attn.q.weight"].T).view(b, s, num_heads, -1)
        k = (h @ sd[p + "attn.k.weight"].T).view(b, s, num_heads, -1)
        v = (h @ sd[p + "attn.v.weight"].T).view(b, s, num_heads, -1)
        bias = sd[p + "pos_embedding.embedding.weight"][bk].permute(2, 0, 1)[None].expand(b, -1, -1, -1).clone()
        bias.masked_fill_(mask.view(b, 1, 1, s) == 0, torch.finfo(torch.float32).min)
        attn = torch.softmax(torch.einsum("binc,bjnc->bnij", q, k) + bias, dim=-1)
        y = torch.einsum("bnij,bjnc->binc", attn, v).reshape(b, s, -1)
        x = x + y @ sd[p + "attn.o.weight"].T
        h = norm(x, sd[p + "norm2.weight"])
        g = h @ sd[p + "ffn.gate.0.weight"].T
        g = 0.5 * g * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * torch.pow(g, 3.0))))
        x = x + ((h @ sd[p + "ffn.fc1.weight"].T) * g) @ sd[p + "ffn.fc2.weight"].T
        del c
    return norm(x, sd["norm.weight"])


# --------------------------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------------------------

PROMPTS = [
    "A cat walks on the beach at sunset, camera slowly moves forward.",
    "一只猫在海滩上散步，夕阳下的城市街道。",
    WAN_NEG_PROMPT,
    "A dog 🐶 runs in the snow ❄️ with a red ball 🔴!",
    "Tom &amp; Jerry &lt;3 &#39;cinematic&#39; shot&nbsp;of the city &quot;at night&quot; &amp;amp; rain",
    "   Lots   of\textra \n\n whitespace\u3000and\u00a0spaces   ",
    "ＬＯＵＤ　ＮＯＩＳＥＳ，全角字符ＡＢＣ１２３！",
    "\u201cCurly quotes\u201d and \u2018single\u2019 ones, ﬁne ﬂowers, e\u0301te\u0301 in NFD, Zürich 東京 서울",
    "Old man reads a book <b>bold</b> &amp; stays &lt;here&gt;",
    " ".join(["A woman with golden hair dances slowly in the warm light of the old city street"] * 4),
]

# clean_prompt only: edge cases of ftfy.fix_text + html.unescape + whitespace collapse
CLEAN_CASES = PROMPTS + [
    "",
    "   ",
    "plain ascii text",
    "&amp;amp;lt;",
    "&AMP; &COPY; &EACUTE; &Eacute; &eacute &eacutex &ampfoo &notit; &notin; &unknown; &Aacute",
    "&#x1F600; &#128512; &#0; &#x110000; &#xD800; &#128; &#150; &#x9F; &#1; &#65 &#x41",
    "&hellip; &mdash; &ndash; &rsquo; &lsquo; &ldquo; &rdquo; &trade; &reg; &copy; &deg; &frac12; &times;",
    "&NotNestedGreaterGreater; &nvlt; &bne; &fjlig; &ThickSpace;",
    "a < b &amp; c\nd &amp; e",
    "line one &amp;\nline two < &amp; three\nline &amp; four",
    "x\r\ny\rz\u2028w\u2029v\u0085u",
    "ctrl\x00\x01\x07\x1b[31mred\x1b[0m\x7f\ufeffbom\u200bzwsp\u200dzwj",
    "C1 \x93quoted\x94 \x80 euro \x85 dots",
    "ligatures: ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ æ œ",
    "halfwidth ｶﾀｶﾅ ﾊﾟﾝ ﾞ ￡￥￦ ￨￩ ﾡﾢ and fullwidth ＠＃＄％＾＆＊（）［］｛｝＜＞",
    "quotes ‘a’ ‚b‛ “c” „d‟ ʼe′ ″",
    "NFD: A\u030a e\u0301 o\u0308\u0304 q\u0307\u0323 \u1100\u1161\u11a8 \u212b \u2126 \ufa10 \u0958 \U0001d15e",
    "emoji ZWJ 👨\u200d👩\u200d👧 flags 🇨🇳🇺🇸 skin 👍🏽 keycap 1\ufe0f\u20e3",
    "Hangul 한국어 Arabic مرحبا Hindi नमस्ते Thai สวัสดี Greek Ωμέγα Russian Привет",
    "tabs\t\tand\vvertical\fformfeed\u2003em\u205fmath\u1680ogham",
    "mojibake-free but strange: \u00ad soft hyphen, \u034f cgj, \u2060 wj",
]

MAX_LEN = 40

# Pieces for seeded random strings: entity fragments, combining marks in and out of canonical
# order, conjoining jamo, fullwidth/halfwidth forms, quotes, ligatures, whitespace, controls.
FUZZ_ALPHABET = [
    "a", "e", "o", "A", "n", "q", " ", "  ", "\t", "\n", "\r\n", "&", "#", ";", "&amp;", "&lt", "&#x", "&#3",
    "9", "x", "<", "\u0301", "\u0308", "\u0323", "\u0304", "\u031b", "\u0345", "\u0300", "\u1100", "\u1161",
    "\u11a8", "\uac00", "\u0915", "\u093c", "\u09c7", "\u09be", "\u212b", "\uf900", "\u3000", "\uff0c",
    "\uff21", "\uff76", "\uff9f", "\u201c", "\u2019", "\ufb01", "\u0132", "\u00a0", "\u2028", "\x1b[1m",
    "\x07", "\ufeff", "\u200b", "\U0001f600", "\U0001f3fd", "\u4e2d", "\u6587", "\u3002", "\u0627",
    "&eacute;", "&nbsp;", "&hellip;", "&#39;", "&quot;", "&not", "&NOT;", "&Aring;", "&#x1F600;",
]


def fuzz_cases(seed: int = 11, count: int = 300) -> list[str]:
    rng = random.Random(seed)
    alphabet = FUZZ_ALPHABET
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))) for _ in range(count)]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_fixtures(out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    meta: dict = {
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "sentencepiece": spm.__version__, "ftfy": ftfy.__version__,
            "regex": regex.__version__, "safetensors": safetensors.__version__, "numpy": np.__version__,
            "unicodedata": unicodedata.unidata_version,
        },
        "verification": {},
    }

    # ---- tokenizer
    tok_dir = out / "tokenizer"
    tok = build_tokenizer(tok_dir)
    sp = spm.SentencePieceProcessor(model_file=str(tok_dir / "spiece.model"))
    raw_json = json.loads((tok_dir / "tokenizer.json").read_text())
    meta["tokenizer"] = {
        "class": type(tok).__name__, "vocab_size": sp.get_piece_size(), "max_len": MAX_LEN,
        "tokenizer_json_byte_fallback": raw_json["model"].get("byte_fallback"),
        "spiece_byte_fallback": True,
    }
    ids, mask = wan_tokenize(tok, PROMPTS, MAX_LEN)
    prompts = []
    n_byte_runs = 0
    for i, p in enumerate(PROMPTS):
        clean = wan_clean(p)
        # sentencepiece ids with byte-fallback runs fused into one <unk>: what the tokenizer.json
        # (converted without byte fallback) does; recorded to show where the two differ
        pieces = sp.encode(clean)
        fused = []
        for t in pieces:
            if sp.is_byte(t):
                if not fused or fused[-1] != -1:
                    fused.append(-1)
                    n_byte_runs += 1
            else:
                fused.append(t)
        fused = [2 if t == -1 else t for t in fused]
        expected = (fused[: MAX_LEN - 1] + [1] + [0] * MAX_LEN)[:MAX_LEN]
        assert expected == ids[i].tolist(), (p, expected, ids[i].tolist())
        prompts.append({"raw": p, "clean": clean, "ids": ids[i].tolist(), "mask": mask[i].tolist(),
                        "spm_ids_with_byte_fallback": pieces})
    meta["verification"]["tokenizer"] = (
        f"AutoTokenizer ids == sentencepiece ids with each byte-fallback run fused to <unk> (2) on all "
        f"{len(PROMPTS)} prompts ({n_byte_runs} byte runs)")
    (out / "prompts.json").write_text(json.dumps({"max_len": MAX_LEN, "prompts": prompts}, ensure_ascii=False,
                                                 indent=1) + "\n", encoding="utf-8")
    for c in CLEAN_CASES:
        assert wan_clean(c) == wan_clean(c, fix_encoding=False), f"mojibake repair changes {c!r}"
    # Random strings whose result depends on ftfy's mojibake repair (Latin-1 neighbours such as
    # "Å¬" re-read as the UTF-8 of "Ŭ") are left out: the C++ does not reproduce that heuristic.
    # Also left out: strings where transformers' ids differ from sentencepiece's. tokenizers'
    # Precompiled normalizer replaces a whole grapheme shorter than 6 bytes by the normalization
    # of its shortest known prefix, so a combining mark after a character NFKC expands is lost
    # ("…" + U+0323 -> "..."), where sentencepiece keeps it (huggingface/tokenizers#2116).
    def spm_fused(text):
        out = []
        for t in sp.encode(text):
            if not sp.is_byte(t):
                out.append(t)
            elif not out or out[-1] != -1:
                out.append(-1)
        return [2 if t == -1 else t for t in out] + [1]

    fuzz, mojibake, grapheme = [], [], []
    for c in fuzz_cases():
        if wan_clean(c) != wan_clean(c, fix_encoding=False):
            mojibake.append(c)
        elif spm_fused(wan_clean(c)) != tok(wan_clean(c), add_special_tokens=True)["input_ids"]:
            grapheme.append(c)
        else:
            fuzz.append(c)
    for c in CLEAN_CASES:
        assert spm_fused(wan_clean(c)) == tok(wan_clean(c), add_special_tokens=True)["input_ids"], c
    meta["verification"]["clean_fuzz"] = (
        f"{len(fuzz)} random strings kept; {len(mojibake)} left out because ftfy's mojibake repair changes them, "
        f"{len(grapheme)} because tokenizers' grapheme-wise normalizer differs from sentencepiece on them")
    meta["clean_fuzz_left_out"] = {
        "mojibake": [{"raw": c, "ftfy": wan_clean(c), "without_mojibake_repair": wan_clean(c, False)}
                     for c in mojibake],
        "grapheme_normalizer": [{"clean": wan_clean(c), "transformers": tok(wan_clean(c))["input_ids"],
                                 "sentencepiece": spm_fused(wan_clean(c))} for c in grapheme],
    }
    # ids of every case too (no padding or truncation), as Wan's tokenizer call makes them
    clean_cases = [{"raw": c, "clean": wan_clean(c), "ids": tok(wan_clean(c), add_special_tokens=True)["input_ids"]}
                   for c in CLEAN_CASES + fuzz]
    (out / "clean_cases.json").write_text(json.dumps(clean_cases, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")

    # ---- model, both layouts
    model = build_tiny_umt5(sp.get_piece_size(), seed=1234)
    model.save_pretrained(str(out / "hf"))
    (out / "original").mkdir()
    save_umt5_original(model, out / "original" / "umt5_enc_fp32.pth", torch.float32)
    save_umt5_original(model, out / "original" / "models_t5_umt5-xxl-enc-bf16.pth", torch.bfloat16)
    meta["config"] = model.config.to_dict()
    (out / "broken").mkdir()
    torch.save(torch.zeros(2), str(out / "broken" / "not_a_state_dict.pth"))  # a tensor, not a dict

    reloaded = UMT5EncoderModel.from_pretrained(str(out / "hf"), attn_implementation="eager").eval()
    sd = torch.load(str(out / "original" / "umt5_enc_fp32.pth"))
    with torch.no_grad():
        outs = model(input_ids=ids, attention_mask=mask).last_hidden_state
        g = torch.Generator().manual_seed(99)
        ids_long = torch.randint(3, sp.get_piece_size(), (1, 160), generator=g)
        mask_long = torch.ones(1, 160, dtype=torch.int64)
        mask_long[:, 150:] = 0
        ids_long[:, 149] = 1
        ids_long[:, 150:] = 0
        outs_long = model(input_ids=ids_long, attention_mask=mask_long).last_hidden_state
        v = meta["verification"]
        v["reload_hf"] = float((reloaded(input_ids=ids, attention_mask=mask).last_hidden_state - outs).abs().max())
        sdpa = UMT5EncoderModel.from_pretrained(str(out / "hf"), attn_implementation="sdpa").eval()
        v["sdpa_vs_eager"] = float((sdpa(input_ids=ids, attention_mask=mask).last_hidden_state - outs).abs().max())
        v["wan_reimpl_vs_hf"] = float((wan_t5_forward(sd, ids, mask, model.config.num_heads) - outs).abs().max())
        v["wan_reimpl_vs_hf_long"] = float(
            (wan_t5_forward(sd, ids_long, mask_long, model.config.num_heads) - outs_long).abs().max())
        sd16 = {k: t.float() for k, t in torch.load(str(out / "original" / "models_t5_umt5-xxl-enc-bf16.pth")).items()}
        v["bf16_weights_vs_fp32"] = float((wan_t5_forward(sd16, ids, mask, model.config.num_heads) - outs).abs().max())
        v["out_abs_max"] = float(outs.abs().max())
        v["out_std"] = float(outs.std())
    assert v["reload_hf"] < 1e-5 and v["wan_reimpl_vs_hf"] < 1e-4 and v["wan_reimpl_vs_hf_long"] < 1e-4, v
    save_file({"ids": ids.contiguous(), "mask": mask.contiguous(), "out": outs.contiguous(),
               "ids_long": ids_long.contiguous(), "mask_long": mask_long.contiguous(),
               "out_long": outs_long.contiguous()},
              str(out / "outputs.safetensors"), metadata={"fixture": json.dumps(meta["versions"])})

    meta["files"] = {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha(p)}
                     for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


# --------------------------------------------------------------------------------------------
# Unicode / HTML tables for the C++ cleaner
# --------------------------------------------------------------------------------------------


def _cpp_u32(s: str) -> str:
    return "U\"" + "".join(f"\\U{ord(c):08X}" for c in s) + "\""


def write_tables(path: Path) -> None:
    lines = [
        "// Generated by tools/make_umt5_fixtures.py --tables from Python "
        f"{platform.python_version()} (unicodedata {unicodedata.unidata_version}, ftfy {ftfy.__version__}).",
        "// Data, not code: the WHATWG HTML named character references and Unicode's canonical",
        "// decomposition / combining class / composition data. Do not edit by hand.",
        "",
        "// Python's html.entities.html5: name (with or without ';') -> characters.",
        "static const HtmlEntity kHtml5Entities[] = {",
    ]
    html5 = html.entities.html5
    for name in sorted(html5):
        lines.append(f"    {{\"{name}\", {_cpp_u32(html5[name])}}},")
    lines.append("};")
    # ftfy decodes all-caps forms of lower-case entity names that html.unescape does not know
    extra = {}
    for name, char in html5.items():
        if name.endswith(";") and name == name.lower():
            upper = "&" + name.upper()
            if html.unescape(upper) == upper:
                extra[name.upper()] = char.upper()
    lines.append("")
    lines.append("// ftfy's extra all-caps entities (&EACUTE; -> É), each with its ';'.")
    lines.append("static const HtmlEntity kFtfyUpperEntities[] = {")
    for name in sorted(extra):
        lines.append(f"    {{\"{name}\", {_cpp_u32(extra[name])}}},")
    lines.append("};")

    lines += ["", "// ftfy's fix_character_width: U+3000 and U+FF01..U+FFEF -> their NFKC form.",
              "static const Decomposition kWidthMap[] = {", "    {0x3000, U\" \"},"]
    for cp in range(0xFF01, 0xFFF0):
        alt = unicodedata.normalize("NFKC", chr(cp))
        if alt != chr(cp):
            lines.append(f"    {{0x{cp:X}, {_cpp_u32(alt)}}},")
    lines.append("};")

    decomp, ccc = {}, []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:
            continue
        c = chr(cp)
        d = unicodedata.normalize("NFD", c)
        if d != c:
            decomp[cp] = d
        k = unicodedata.combining(c)
        if k:
            if ccc and ccc[-1][1] == cp - 1 and ccc[-1][2] == k:
                ccc[-1][1] = cp
            else:
                ccc.append([cp, cp, k])
    compose = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:
            continue
        dm = unicodedata.decomposition(chr(cp))
        if not dm or dm.startswith("<"):
            continue
        parts = [int(x, 16) for x in dm.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(cp):
            compose.append((parts[0], parts[1], cp))
    compose.sort()
    lines += ["", "// Full canonical decomposition (NFD) of every code point that has one (Hangul is algorithmic).",
              "static const Decomposition kDecompositions[] = {"]
    for cp in sorted(decomp):
        lines.append(f"    {{0x{cp:X}, {_cpp_u32(decomp[cp])}}},")
    lines += ["};", "", "// Canonical combining class ranges [first, last] -> class (non-zero only).",
              "static const CombiningRange kCombiningClasses[] = {"]
    for a, b, k in ccc:
        lines.append(f"    {{0x{a:X}, 0x{b:X}, {k}}},")
    lines += ["};", "", "// Primary composites: (first, second) -> composed, sorted by (first, second).",
              "static const Composition kCompositions[] = {"]
    for a, b, c in compose:
        lines.append(f"    {{0x{a:X}, 0x{b:X}, 0x{c:X}}},")
    lines += ["};", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--tables", action="store_true", help=f"also (re)write {TABLES_PATH.relative_to(ROOT)}")
    args = ap.parse_args()
    if args.tables:
        write_tables(TABLES_PATH)
        print(f"wrote {TABLES_PATH}")
    meta = make_fixtures(args.out)
    print(json.dumps(meta["verification"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
