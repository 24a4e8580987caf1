#!/usr/bin/env python3
"""PyTorch twin of bench/attention/attention_bench.cpp: the same sweep through
torch.nn.functional.scaled_dot_product_attention with each SDPA backend (flash, cuDNN, memory-
efficient, math), bf16, timed with CUDA events, FLOPs counted as FlashAttention does (4·B·H·T²·D
forward, halved when causal; backward 2.5x forward).

With --merge FILE (kiln_bench_attention's JSON) it adds each backend to the matching case's
"baselines" as {"value": TFLOP/s, "ratio": kiln / value} and writes the file back; otherwise it
prints its own JSON. A backend that refuses a shape (e.g. math running out of memory at 16k) is
left out of that case.

    python3 bench/baselines/attention_torch.py --merge attention.json [--quick]
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {
    "torch_flash": SDPBackend.FLASH_ATTENTION,
    "torch_cudnn": SDPBackend.CUDNN_ATTENTION,
    "torch_efficient": SDPBackend.EFFICIENT_ATTENTION,
    "torch_math": SDPBackend.MATH,
}


def flops(b, h, t, d, causal, backward):
    f = 4.0 * b * h * t * t * d
    if causal:
        f /= 2
    return 2.5 * f if backward else f


def time_ms(fn, warmup=2, iters=10):
    for _ in range(warmup):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / iters


def measure(backend, b, h, t, d, causal, iters):
    """(forward TFLOP/s, backward TFLOP/s) or None when the backend cannot run the shape."""
    gen = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.rand(b, h, t, d, device="cuda", dtype=torch.bfloat16, generator=gen) * 2 - 1
               for _ in range(3))
    for x in (q, k, v):
        x.requires_grad_(True)
    dout = torch.rand_like(q)
    try:
        with sdpa_kernel(backend):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            fwd = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                          iters=iters)
            # Backward alone: retain the graph and time only autograd's pass.
            bwd = time_ms(lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True),
                          iters=iters)
    except (RuntimeError, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        return None
    return (flops(b, h, t, d, causal, False) / (fwd * 1e9),
            flops(b, h, t, d, causal, True) / (bwd * 1e9))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merge", help="kiln_bench_attention JSON to add the baselines to")
    parser.add_argument("--quick", action="store_true", help="T in {512, 2048} only")
    args = parser.parse_args()

    if args.merge:
        with open(args.merge) as f:
            report = json.load(f)
        shapes = sorted({(tuple(c["shape"]), c["causal"]) for c in report["cases"]})
    else:
        report = {"benchmark": "attention", "cases": []}
        lengths = [512, 2048] if args.quick else [512, 1024, 2048, 4096, 8192, 16384]
        shapes = [((16384 // t, 2048 // d, t, d), causal)
                  for d in (64, 128) for causal in (False, True) for t in lengths]
        for (b, h, t, d), causal in shapes:
            for direction in ("fwd", "bwd"):
                report["cases"].append({"op": "attention", "shape": [b, h, t, d],
                                        "dtype": "bf16", "direction": direction,
                                        "causal": causal, "baselines": {}})

    iters = 3 if args.quick else 10
    for (b, h, t, d), causal in shapes:
        for name, backend in BACKENDS.items():
            rates = measure(backend, b, h, t, d, causal, iters)
            if rates is None:
                continue
            for case in report["cases"]:
                if tuple(case["shape"]) != (b, h, t, d) or case["causal"] != causal:
                    continue
                value = rates[0] if case["direction"] == "fwd" else rates[1]
                entry = {"value": value, "unit": "TFLOP/s"}
                if "kiln" in case:
                    entry["ratio"] = case["kiln"]["value"] / value
                case.setdefault("baselines", {})[name] = entry
            print(f"{name:16s} B{b} H{h} T{t} D{d} causal={causal}: "
                  f"fwd {rates[0]:.1f}, bwd {rates[1]:.1f} TFLOP/s", flush=True)

    text = json.dumps(report, indent=1)
    if args.merge:
        with open(args.merge, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
