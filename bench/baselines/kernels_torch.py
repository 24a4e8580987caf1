#!/usr/bin/env python3
"""PyTorch baselines for bench/kernels/cuda/gpu_ops_bench.cpp (kiln_bench_kernels).

The same ops on the same shapes and dtypes, timed the same way: CUDA events around one pass over
inputs rotated so that together they exceed three times the L2 cache, the median per-call time
over passes. Each case runs in eager mode ("torch_eager") and through torch.compile
("torch_compile"); AdamW runs as torch.optim.AdamW's default (foreach, "torch_eager") and
fused=True ("torch_fused"). A variant that fails (torch.compile without a working compiler, say)
is reported with its error rather than stopping the run.

Writes JSON (rewritten after every case, so an interrupted run keeps what it measured):
  {"torch": version, "device": name, "entries": [
     {"op", "shape", "dtype", "direction", "impl", "value", "unit", "seconds"}
     or {"op", "shape", "dtype", "direction", "impl", "error"}, ...]}
value is GB/s (1e9 bytes/s) for memory-bound ops and TFLOP/s for GEMMs, with the byte and flop
formulas of the C++ benchmark. scripts/gpu_report.py matches entries to kiln's rows by
(op, shape, dtype, direction).

  python3 bench/baselines/kernels_torch.py --out torch.json [--filter REGEX] [--no-compile]
      [--time 0.2] [--compile-budget 150] [--device cuda|cpu]

--device cpu times with the host clock instead of events (a dry run of the script's logic on a
machine without a GPU; its numbers mean nothing).
"""
import argparse
import json
import math
import os
import re
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

try:
    import torch._dynamo as dynamo
except ImportError:  # torch < 2.0: no torch.compile either
    dynamo = None

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
TOKENS = 8 * 1024  # GPT-2 small: batch 8 of 1024 positions
VOCAB, WIDTH = 50257, 768


def numel(shape):
    return math.prod(shape)


def shape_name(shape):
    return "x".join(str(d) for d in shape)


class Case:
    """One row. make() returns the first input set (the first `rotated` tensors are cloned for the
    L2 rotation); f is the op itself, what torch.compile gets; wrap(f) runs it once on a set
    (forward under no_grad, or forward and backward). impls overrides eager/compile (AdamW)."""

    def __init__(self, op, shape, dtype, direction, make, f, wrap, rotated, bytes_=0.0,
                 flops=0.0, compilable=True, impls=None):
        self.op, self.shape, self.dtype, self.direction = op, shape, dtype, direction
        self.make, self.f, self.wrap, self.rotated = make, f, wrap, rotated
        self.bytes, self.flops, self.compilable = bytes_, flops, compilable
        self.impls = impls

    @property
    def name(self):
        return f"{self.op}/{self.shape}/{self.dtype}/{self.direction}"


def forward(f):
    def run(*s):
        with torch.no_grad():
            return f(*s)
    return run


def forward_backward(f):
    """Set [x, dy, params...]: y = f(x, params...), then y.backward(dy); grads are cleared."""
    def run(*s):
        f(s[0], *s[2:]).backward(s[1])
        for t in s:
            t.grad = None
    return run


def scalar_backward(f):
    """Set [x, targets]: f(x, targets).backward() (a loss); grads are cleared."""
    def run(*s):
        f(*s).backward()
        s[0].grad = None
    return run


def embedding_backward(f):
    """Set [ids, dy, table]: f(ids, table).backward(dy); grads are cleared."""
    def run(ids, dy, table):
        f(ids, table).backward(dy)
        table.grad = None
    return run


def rms_norm(x, w):
    if hasattr(F, "rms_norm"):
        return F.rms_norm(x, (x.shape[-1],), w, 1e-6)
    # torch < 2.4 has no rms_norm: the composition.
    return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(x.dtype) * w


def cases(device):
    """The rows of gpu_ops_bench.cpp, with its byte formulas (see the comments there)."""
    def rand(shape, dtype, low=-1.0, high=1.0, grad=False):
        t = torch.empty(shape, dtype=torch.float32, device=device).uniform_(low, high).to(dtype)
        return t.requires_grad_(grad)

    def ids(shape, high):
        return torch.randint(0, high, shape, device=device, dtype=torch.int64)

    # Copy: torch's copy_ next to kiln's cudaMemcpy and copy kernel.
    shape = (16384, 4096)
    out = [Case("copy_memcpy", shape_name(shape), "f32", "forward",
                lambda: [rand(shape, torch.float32), torch.empty(shape, device=device)],
                lambda src, dst: dst.copy_(src), forward, 2, bytes_=8.0 * numel(shape),
                compilable=False)]

    # GEMMs: flops 2·M·N·K; linear's weight is [N, K].
    gemms = [((4096, 4096, 4096), False, "bf16"), ((TOKENS, 2304, 768), True, "bf16"),
             ((TOKENS, 768, 768), True, "bf16"), ((TOKENS, 3072, 768), True, "bf16"),
             ((TOKENS, 768, 3072), True, "bf16"), ((TOKENS, VOCAB, 768), True, "bf16"),
             ((4096, 4096, 4096), False, "f32")]
    for (m, n, k), linear, dt in gemms:
        b_shape = (n, k) if linear else (k, n)
        out.append(Case("linear" if linear else "matmul", shape_name((m, n, k)), dt, "forward",
                        lambda m=m, k=k, b_shape=b_shape, dtype=DTYPES[dt]:
                        [rand((m, k), dtype), rand(b_shape, dtype)],
                        (lambda a, b: F.linear(a, b)) if linear else (lambda a, b: a @ b), forward,
                        2, flops=2.0 * m * n * k))

    def per_dtype(dt):
        dtype = DTYPES[dt]
        e = torch.tensor([], dtype=dtype).element_size()

        def rowwise(op, shape, fwd_bytes, fwd_bwd_bytes, n_params, f):
            def params():
                return [rand((shape[-1],), dtype) for _ in range(n_params)]
            out.append(Case(op, shape_name(shape), dt, "forward",
                            lambda: [rand(shape, dtype)] + params(), f, forward, 1,
                            bytes_=fwd_bytes))
            out.append(Case(op, shape_name(shape), dt, "forward+backward",
                            lambda: [rand(shape, dtype, grad=True), rand(shape, dtype)]
                            + [p.requires_grad_(True) for p in params()],
                            f, forward_backward, 2, bytes_=fwd_bwd_bytes))

        for shape in ((16384, 4096), (8192, 768)):
            n, rows, cols = numel(shape), shape[0], shape[1]
            rowwise("layer_norm", shape, 2 * n * e + 2 * cols * e,
                    2 * n * e + 2 * cols * e + 8 * rows + 3 * n * e + 3 * cols * e + 8 * rows, 2,
                    lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b, 1e-5))
            rowwise("rms_norm", shape, 2 * n * e + cols * e,
                    2 * n * e + cols * e + 4 * rows + 3 * n * e + 2 * cols * e + 4 * rows, 1,
                    rms_norm)
        for shape in ((16384, 4096), (8 * 12 * 1024, 1024)):
            n = numel(shape)
            rowwise("softmax", shape, 2 * n * e, 5 * n * e, 0, lambda x: torch.softmax(x, -1))
        for shape in ((16384, 4096), (8192, 3072)):
            n = numel(shape)
            rowwise("gelu", shape, 2 * n * e, 5 * n * e, 0,
                    lambda x: F.gelu(x, approximate="tanh"))

    def per_dtype_large(dt):
        dtype = DTYPES[dt]
        e = torch.tensor([], dtype=dtype).element_size()
        shape = (8192, VOCAB)
        logits, targets = numel(shape) * e, 8.0 * shape[0]
        out.append(Case("cross_entropy", shape_name(shape), dt, "forward",
                        lambda: [rand(shape, dtype, -4, 4), ids((shape[0],), VOCAB)],
                        F.cross_entropy, forward, 2, bytes_=logits + targets))
        out.append(Case("cross_entropy", shape_name(shape), dt, "forward+backward",
                        lambda: [rand(shape, dtype, -4, 4, grad=True), ids((shape[0],), VOCAB)],
                        F.cross_entropy, scalar_backward, 2, bytes_=3 * logits + 2 * targets))
        tokens = 8 * 1024
        rows, table = tokens * WIDTH * e, VOCAB * WIDTH * e
        out.append(Case("embedding", shape_name((tokens, WIDTH)), dt, "forward",
                        lambda: [ids((8, 1024), VOCAB), rand((VOCAB, WIDTH), dtype)],
                        F.embedding, forward, 2, bytes_=8 * tokens + 2 * rows))
        out.append(Case("embedding", shape_name((tokens, WIDTH)), dt, "forward+backward",
                        lambda: [ids((8, 1024), VOCAB), rand((8, 1024, WIDTH), dtype),
                                 rand((VOCAB, WIDTH), dtype, grad=True)],
                        F.embedding, embedding_backward, 3, bytes_=16 * tokens + 3 * rows + table))

    for dt in ("f32", "bf16"):
        per_dtype(dt)
    for dt in ("f32", "bf16"):
        per_dtype_large(dt)

    # AdamW over GPT-2 small's parameters: 28 bytes per f32 element.
    shapes = gpt2_small_parameters()
    count = sum(numel(s) for s in shapes)

    def optimizer_step(**kwargs):
        state = {}

        def step():
            if "opt" not in state:
                params = [rand(s, torch.float32, grad=True) for s in shapes]
                for p in params:
                    p.grad = rand(p.shape, torch.float32, -1e-2, 1e-2)
                state["opt"] = torch.optim.AdamW(params, lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
                                                 weight_decay=0.1, **kwargs)
            state["opt"].step()
        return step

    impls = {"torch_eager": optimizer_step()}
    if device == "cuda":
        impls["torch_fused"] = optimizer_step(fused=True)
    out.append(Case("adamw", str(count), "f32", "step", lambda: [], None, None, 0,
                    bytes_=28.0 * count, compilable=False, impls=impls))
    return out


def gpt2_small_parameters():
    shapes = [(VOCAB, WIDTH), (1024, WIDTH)]
    for _ in range(12):
        shapes += [(WIDTH,), (WIDTH,), (3 * WIDTH, WIDTH), (3 * WIDTH,), (WIDTH, WIDTH), (WIDTH,),
                   (WIDTH,), (WIDTH,), (4 * WIDTH, WIDTH), (4 * WIDTH,), (WIDTH, 4 * WIDTH),
                   (WIDTH,)]
    return shapes + [(WIDTH,), (WIDTH,)]


def l2_bytes(device):
    if device != "cuda":
        return 50 << 20
    props = torch.cuda.get_device_properties(0)
    return getattr(props, "L2_cache_size", 50 << 20) or (50 << 20)


def rotation_sets(first, rotated, l2):
    if rotated == 0:
        return [first]
    set_bytes = sum(t.numel() * t.element_size() for t in first[:rotated])
    copies = min(256, max(2, math.ceil(3 * l2 / set_bytes)))
    sets = [first]
    with torch.no_grad():
        for _ in range(copies - 1):
            sets.append([t.detach().clone().requires_grad_(t.requires_grad) if i < rotated else t
                         for i, t in enumerate(first)])
    return sets


class Timer:
    """CUDA events on the current stream, or the host clock after a synchronize (--device cpu)."""

    def __init__(self, device):
        self.cuda = device == "cuda"
        if self.cuda:
            self.begin = torch.cuda.Event(enable_timing=True)
            self.end = torch.cuda.Event(enable_timing=True)

    def start(self):
        if self.cuda:
            self.begin.record()
        else:
            self.t0 = time.perf_counter()

    def stop(self):
        if self.cuda:
            self.end.record()
            self.end.synchronize()
            return self.begin.elapsed_time(self.end) / 1e3
        return time.perf_counter() - self.t0


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def time_fn(fn, sets, device, target):
    """Warm-up pass, then passes until `target` seconds (3 to 2000 passes): median per call."""
    for s in sets:
        fn(*s)
    synchronize(device)
    timer = Timer(device)
    per_call, total = [], 0.0
    while len(per_call) < 2000 and (len(per_call) < 3 or total < target):
        timer.start()
        for s in sets:
            fn(*s)
        seconds = timer.stop()
        total += seconds
        per_call.append(seconds / len(sets))
    per_call.sort()
    return per_call[len(per_call) // 2]


def entry(case, impl, seconds=None, error=None):
    e = {"op": case.op, "shape": case.shape, "dtype": case.dtype, "direction": case.direction,
         "impl": impl}
    if error is not None:
        e["error"] = error
        return e
    if case.flops:
        e.update(value=case.flops / seconds / 1e12, unit="TFLOP/s")
    else:
        e.update(value=case.bytes / seconds / 1e9, unit="GB/s")
    e["seconds"] = seconds
    return e


def write_json(path, doc):
    """Atomically: an interrupted run leaves the previous complete file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--filter", default="", help="regex on op/shape/dtype/direction")
    p.add_argument("--time", type=float, default=0.2, help="seconds timed per case")
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    p.add_argument("--compile-budget", type=float, default=150.0,
                   help="wall seconds for all torch.compile variants together (compiling is "
                        "slow); cases past it are reported as skipped")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = p.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        print("kernels_torch.py: no CUDA device visible", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    doc = {"torch": torch.__version__,
           "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
           "entries": []}
    l2 = l2_bytes(args.device)
    pattern = re.compile(args.filter)
    compile_spent = 0.0
    for case in cases(args.device):
        if not pattern.search(case.name):
            continue
        first = len(doc["entries"])
        impls = case.impls or {"torch_eager": case.wrap(case.f)}
        try:
            sets = rotation_sets(case.make(), case.rotated, l2)
        except Exception as e:  # noqa: BLE001 (an out-of-memory case must not stop the rest)
            doc["entries"] += [entry(case, impl, error=f"{type(e).__name__}: {e}")
                               for impl in impls]
            write_json(args.out, doc)
            continue
        for impl, fn in impls.items():
            try:
                doc["entries"].append(entry(case, impl, time_fn(fn, sets, args.device,
                                                                args.time)))
            except Exception as e:  # noqa: BLE001
                doc["entries"].append(entry(case, impl, error=f"{type(e).__name__}: {e}"))
        if case.compilable and not args.no_compile:
            if not hasattr(torch, "compile"):
                doc["entries"].append(entry(case, "torch_compile",
                                            error=f"torch {torch.__version__} has no compile"))
            elif compile_spent > args.compile_budget:
                doc["entries"].append(entry(case, "torch_compile",
                                            error="skipped: --compile-budget spent"))
            else:
                start = time.perf_counter()
                try:
                    # Cases share op lambdas (one per family), and dynamo keeps a few compiled
                    # versions per code object before it falls back to eager without saying so.
                    dynamo.reset()
                    compiled = case.wrap(torch.compile(case.f, dynamic=False))
                    doc["entries"].append(entry(case, "torch_compile",
                                                time_fn(compiled, sets, args.device, args.time)))
                except Exception as e:  # noqa: BLE001
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    doc["entries"].append(entry(case, "torch_compile",
                                                error=f"{type(e).__name__}: {msg}"))
                compile_spent += time.perf_counter() - start
        del sets
        if args.device == "cuda":
            torch.cuda.empty_cache()
        write_json(args.out, doc)
        for e in doc["entries"][first:]:
            print(f"{case.name:55s} {e['impl']:14s} " + (f"{e['value']:9.1f} {e['unit']}"
                  if "value" in e else f"error: {e['error'][:80]}"), flush=True)
    write_json(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
