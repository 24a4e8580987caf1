#!/usr/bin/env python3
"""Tests of scripts/check-layers on fabricated source trees: a tree that keeps the layer order
passes, and each kind of bad include (up, sideways) fails with one line naming file:line, the
include and the arrow. Standard library only; ctest runs it."""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "check-layers")


def make_tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as out:
            out.write(text)


GOOD = {
    "kernels/softmax.h": '#pragma once\n#include "kernels/cuda/check.h"\n',
    "core/tensor.cpp": '#include "core/tensor.h"\n#include "kernels/softmax.h"\n',
    "models/gpt.cpp": '#include "core/tensor.h"\n#include <vector>\n',
    "text/bpe.cpp": '#include "core/error.h"\n#include "fmt/core.h"\n',
    "train/trainer.cpp": '#include "models/gpt.h"\n#include "text/bpe.h"\n',
    "infer/generation.cpp": '#include "models/gpt.h"\n#include "local.h"\n',
    "course/demo.cpp": '#include "train/trainer.h"\n#include "infer/generation.h"\n',
    "cli/main.cpp": '#include "course/demo.h"\n#include "train/trainer.h"\n',
    "tests/train/trainer_test.cpp": '#include "cli/commands.h"\n',
    "bench/step_bench.cpp": '#include "cli/commands.h"\n#include "kernels/softmax.h"\n',
}


def run(root):
    return subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)


class CheckLayers(unittest.TestCase):
    def test_a_tree_in_layer_order_passes(self):
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, GOOD)
            result = run(root)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(result.stdout, "")

    def test_an_include_pointing_up_fails_naming_file_line_and_arrow(self):
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, dict(GOOD, **{
                "core/tensor.cpp": '#include "core/tensor.h"\n\n#include "models/gpt.h"\n'}))
            result = run(root)
            self.assertEqual(result.returncode, 1)
            lines = result.stdout.splitlines()
            self.assertEqual(len(lines), 1, result.stdout)
            self.assertTrue(lines[0].startswith('core/tensor.cpp:3: #include "models/gpt.h"'),
                            lines[0])
            self.assertIn("core/ may not include models/ (up", lines[0])

    def test_a_sideways_include_fails(self):
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, dict(GOOD, **{
                "train/synthetic.cpp": '#include "infer/generation.h"\n',
                "models/hf.cpp": '  #  include "text/tokenizer.h"\n'}))
            result = run(root)
            self.assertEqual(result.returncode, 1)
            lines = sorted(result.stdout.splitlines())
            self.assertEqual(len(lines), 2, result.stdout)
            self.assertIn("models/hf.cpp:1:", lines[0])
            self.assertIn("models/ may not include text/ (sideways", lines[0])
            self.assertIn("train/synthetic.cpp:1:", lines[1])
            self.assertIn("train/ may not include infer/ (sideways", lines[1])

    def test_cuda_sources_are_checked_too(self):
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, dict(GOOD, **{"kernels/cuda/softmax.cu": '#include "core/tensor.h"\n'}))
            result = run(root)
            self.assertEqual(result.returncode, 1)
            self.assertIn("kernels/cuda/softmax.cu:1:", result.stdout)

    def test_a_missing_root_is_a_usage_error(self):
        result = run(os.path.join(tempfile.gettempdir(), "kiln-no-such-tree"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("is not a directory", result.stderr)


if __name__ == "__main__":
    unittest.main()
