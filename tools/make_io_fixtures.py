#!/usr/bin/env python3
"""Writes the tiny torch.save fixtures under tests/data/io/ that tests/unit/test_io_torch.cpp reads.

The C++ loader must read what real PyTorch writes, and CI runs no Python, so these files are made
once with torch and committed. Values are arange-based so the tests can predict every element.

Run from the repository root with the project venv (torch installed there --no-deps). If
`import torch` fails on missing NVIDIA libraries, install the few missing nvidia-* wheels into a
separate venv (.venv-tools) and point the loader at them, e.g.:
    nv=.venv-tools/lib/python3.11/site-packages/nvidia
    LD_LIBRARY_PATH=$nv/cu13/lib:$nv/nvshmem/lib:$nv/nccl/lib:$nv/cusparselt/lib \
        .venv/bin/python tools/make_io_fixtures.py
"""
import argparse
import collections
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "io")


def plain_state_dict():
    """Every dtype and tensor layout the loader must handle, in a real nn.Module state dict
    (an OrderedDict carrying `_metadata`, which the pickle sets with BUILD)."""
    lin = torch.nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(12, dtype=torch.float32).reshape(3, 4) / 10)
        lin.bias.copy_(torch.arange(3, dtype=torch.float32))
    sd = lin.state_dict()  # weight, bias (Parameters' data)
    sd["a.f32"] = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd["b.bf16"] = (torch.arange(6, dtype=torch.float32) * 0.5).to(torch.bfloat16).reshape(2, 3)
    sd["c.f16"] = (torch.arange(8, dtype=torch.float32) - 4).to(torch.float16)
    # A non-contiguous view at an offset, sharing its storage with another entry.
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    sd["d.base"] = base
    sd["e.view"] = base[1:, 1:4].t()  # shape [3, 3], storage offset 6, strides [1, 5]
    sd["f.i64"] = torch.arange(5, dtype=torch.int64) * 1000000000000
    sd["g.param"] = torch.nn.Parameter(torch.arange(4, dtype=torch.float32) + 0.25)
    sd["h.fp8"] = torch.tensor([0.0, 0.5, 1.0, -2.0, 448.0]).to(torch.float8_e4m3fn)  # UntypedStorage + v3
    sd["i.empty"] = torch.zeros(0, 3)
    sd["j.scalar"] = torch.tensor(7.0)
    sd["k.bool"] = torch.tensor([True, False, True])
    return sd


def small_state_dict(scale):
    return collections.OrderedDict(
        [("w", torch.arange(6, dtype=torch.float32).reshape(2, 3) * scale), ("b", torch.ones(2) * scale)])


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    def save(obj, name, **kw):
        path = os.path.join(OUT, name)
        torch.save(obj, path, **kw)
        print(f"{name}: {os.path.getsize(path)} bytes")

    save(plain_state_dict(), "plain_sd.pt")
    # Protocol 4: FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE instead of protocol 2's opcodes.
    save(plain_state_dict(), "plain_sd_proto4.pt", pickle_protocol=4)
    save({"module": small_state_dict(1)}, "module_sd.pth")
    # HunyuanVideo-style: both weights, plus an object of a class the loader does not read.
    save({"ema": small_state_dict(2), "module": small_state_dict(1), "args": argparse.Namespace(lr=0.1)},
         "ema_module_sd.pt")
    save([torch.arange(3, dtype=torch.float32), torch.arange(2, dtype=torch.float32)], "list_top.pt")


if __name__ == "__main__":
    main()
