#!/usr/bin/env python3
"""Writes tests/train/fixtures/{adamw,sgd}_reference.json: parameters, gradients and the
parameters torch.optim.AdamW / torch.optim.SGD produce after each step, in float64.

kiln's optimizer tests replay the gradients and must reproduce those numbers; this keeps the
reference independent of kiln. kiln decays only parameters with dim >= 2, so the torch runs put
matrices and vectors in two parameter groups, the second with weight_decay=0. The learning rate
changes between steps, as a schedule would change it. Needs torch:

    python3 scripts/make_optimizer_fixture.py [OUT_DIR]
"""
import json
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/train/fixtures"
STEPS = 5
LRS = [1e-2, 2e-2, 2e-2, 1e-2, 5e-3]
SHAPES = {"weight": [3, 4], "bias": [5]}


def make_params():
    gen = torch.Generator().manual_seed(20240520)
    return {name: torch.randn(shape, generator=gen, dtype=torch.float64)
            for name, shape in SHAPES.items()}


def make_grads():
    gen = torch.Generator().manual_seed(7)
    # Gradients of mixed scale and sign, including one exact zero, so that eps and the
    # bias corrections matter.
    grads = []
    for _ in range(STEPS):
        step = {}
        for name, shape in SHAPES.items():
            g = torch.randn(shape, generator=gen, dtype=torch.float64)
            g = g * torch.logspace(-3, 1, g.numel(), dtype=torch.float64).reshape(shape)
            g.view(-1)[0] = 0.0
            step[name] = g
        grads.append(step)
    return grads


def run(make_optimizer, options):
    init = make_params()
    grads = make_grads()
    params = {name: t.clone().requires_grad_(True) for name, t in init.items()}
    optimizer = make_optimizer(
        [{"params": [params["weight"]], "weight_decay": options["weight_decay"]},
         {"params": [params["bias"]], "weight_decay": 0.0}], options)
    expected = []
    for step in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = LRS[step]
        for name, p in params.items():
            p.grad = grads[step][name].clone()
        optimizer.step()
        expected.append({name: p.detach().flatten().tolist() for name, p in params.items()})
    return {
        "torch_version": torch.__version__,
        "options": options,
        "lrs": LRS,
        "shapes": SHAPES,
        "initial": {name: t.flatten().tolist() for name, t in init.items()},
        "grads": [{name: g.flatten().tolist() for name, g in step.items()} for step in grads],
        "expected": expected,
    }


def adamw(groups, o):
    return torch.optim.AdamW(groups, lr=LRS[0], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                             foreach=False)


def sgd(groups, o):
    return torch.optim.SGD(groups, lr=LRS[0], momentum=o["momentum"], nesterov=o["nesterov"],
                           foreach=False)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cases = {
        "adamw_reference.json": [
            run(adamw, {"beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}),
            run(adamw, {"beta1": 0.8, "beta2": 0.999, "eps": 1e-6, "weight_decay": 0.0}),
        ],
        "sgd_reference.json": [
            run(sgd, {"momentum": 0.9, "nesterov": False, "weight_decay": 0.01}),
            run(sgd, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
            run(sgd, {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
        ],
    }
    for file, runs in cases.items():
        (OUT / file).write_text(json.dumps({"runs": runs}, indent=1) + "\n")
        print(f"wrote {OUT / file}")


if __name__ == "__main__":
    main()
