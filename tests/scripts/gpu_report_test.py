#!/usr/bin/env python3
"""Tests of scripts/gpu_report.py on fabricated inputs, and of the parts of scripts/gpu-check.sh
that need no GPU (arguments, the no-device failure). Standard library only; ctest runs it."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gpu_report  # noqa: E402

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Linux-c++" tests="5" failures="1" disabled="0" skipped="1" hostname="" time="1">
  <testcase name="Tensor.A" classname="Tensor.A" time="0.1" status="run"/>
  <testcase name="Tensor.B" classname="Tensor.B" time="0.1" status="run"/>
  <testcase name="Softmax/OpHarness.CudaMatchesCpu/x" classname="S" time="0" status="fail">
    <failure message="Failed"/>
  </testcase>
  <testcase name="Tokenizer.Data" classname="T" time="0" status="notrun">
    <skipped message="Skipped"/>
  </testcase>
  <testcase name="Fused.CudaStep" classname="F" time="0" status="notrun">
    <skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/>
    <system-out>[ RUN      ] Fused.CudaStep
tests/train/x_test.cpp:70: Skipped
no CUDA device
[  SKIPPED ] Fused.CudaStep (0 ms)</system-out>
  </testcase>
  <testcase name="course.two_moons" classname="c" time="3" status="run"/>
</testsuite>
"""


GTEST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1" disabled="0" errors="0" time="1" name="AllTests">
  <testsuite name="Attention/OpHarness" tests="2" failures="1" skipped="0">
    <testcase name="CudaMatchesCpu/attention_b1_tq1" status="run" result="completed"
              classname="Attention/OpHarness">
      <failure message="attention_test.cpp:198&#x0A;actual: 1.03885e+23 vs 1e-05" type=""/>
    </testcase>
    <testcase name="CudaMatchesCpu/attention_b2" status="run" result="completed"
              classname="Attention/OpHarness"/>
  </testsuite>
  <testsuite name="Fused" tests="2" failures="0" skipped="2">
    <testcase name="CudaStep" status="run" result="skipped" classname="Fused">
      <skipped message="x_test.cpp:70&#x0A;no CUDA device"/>
    </testcase>
    <testcase name="Data" status="run" result="skipped" classname="Fused">
      <skipped message="no data"/>
    </testcase>
  </testsuite>
</testsuites>
"""

GTEST_LOG = """[==========] Running 3 tests from 2 test suites.
[ RUN      ] Loss/OpHarness.CudaMatchesCpu/ce
unknown file: Failure
C++ exception: [cross_entropy] inputs are on cuda:0 and cpu, expected one device
[  FAILED  ] Loss/OpHarness.CudaMatchesCpu/ce, where GetParam() = ce (1 ms)
[ RUN      ] Loss/OpHarness.CudaMatchesCpu/ok
[       OK ] Loss/OpHarness.CudaMatchesCpu/ok (0 ms)
[ RUN      ] Loss/OpHarness.Backward/x
not differentiable
[  SKIPPED ] Loss/OpHarness.Backward/x (0 ms)
[==========] 3 tests from 2 test suites ran. (1 ms total)
[  PASSED  ] 1 test.
[  SKIPPED ] 1 test, listed below:
[  SKIPPED ] Loss/OpHarness.Backward/x
[  FAILED  ] 1 test, listed below:
[  FAILED  ] Loss/OpHarness.CudaMatchesCpu/ce, where GetParam() = ce
"""

# What a filtered log keeps: the failures and the counts.
GTEST_FILTERED_LOG = """Running main() from ./googletest/src/gtest_main.cc
tests/ops/attention_test.cpp:198: Failure
actual: 1.03885e+23 vs 1e-05
[  FAILED  ] AttentionCuda.MatchesCpu (1155 ms)
[  PASSED  ] 4009 tests.
[  SKIPPED ] 146 tests.
"""


def gbench(rows, context=None):
    return {"context": context or {"gpu": "Fake GPU", "l2_bytes": "52428800"},
            "benchmarks": rows}


def row(name, **counters):
    return {"name": name + "/iterations:1/manual_time",
            "run_name": name + "/iterations:1/manual_time", "run_type": "iteration",
            "iterations": 1, "real_time": 1.0, "time_unit": "us", **counters}


KILN = gbench([
    row("copy_memcpy/16384x4096/f32/forward", GBps=2800.0),
    row("copy_kernel/16384x4096/f32/forward", GBps=3000.0),
    row("gemm_cublaslt/4096x4096x4096/bf16/forward", TFLOPps=700.0),
    row("gemm_cublaslt/8192x768x768/bf16/forward", TFLOPps=350.0),
    row("matmul/4096x4096x4096/bf16/forward", TFLOPps=630.0),
    row("linear/8192x768x768/bf16/forward", TFLOPps=315.0),
    row("layer_norm/16384x4096/bf16/forward", GBps=2400.0, bytes_per_call=2.7e8),
    {"name": "softmax/16384x4096/f32/forward/iterations:1/manual_time",
     "run_name": "softmax/16384x4096/f32/forward/iterations:1/manual_time",
     "run_type": "iteration", "error_occurred": True,
     "error_message": "[softmax] no CUDA kernel yet"},
    {"name": "layer_norm/16384x4096/bf16/forward_mean", "run_type": "aggregate", "GBps": 1.0},
])

TORCH = {"torch": "2.11.0", "device": "Fake GPU", "entries": [
    {"op": "layer_norm", "shape": "16384x4096", "dtype": "bf16", "direction": "forward",
     "impl": "torch_eager", "value": 1200.0, "unit": "GB/s", "seconds": 1e-4},
    {"op": "layer_norm", "shape": "16384x4096", "dtype": "bf16", "direction": "forward",
     "impl": "torch_compile", "error": "BackendCompilerFailed: no compiler"},
    {"op": "matmul", "shape": "4096x4096x4096", "dtype": "bf16", "direction": "forward",
     "impl": "torch_eager", "value": 700.0, "unit": "TFLOP/s", "seconds": 1e-4},
    {"op": "gelu", "shape": "8192x3072", "dtype": "bf16", "direction": "forward",
     "impl": "torch_eager", "value": 2000.0, "unit": "GB/s", "seconds": 1e-5},
]}

ENTRIES = {"cases": [
    {"op": "attention", "shape": "8x12x1024x64", "dtype": "bf16", "direction": "forward",
     "kiln": {"value": 300.0, "unit": "TFLOP/s"}, "fraction_of_ceiling": 0.43,
     "baselines": {"torch_sdpa": {"value": 400.0}}},
]}


# kiln_bench_attention's --json (helper "flash") and attention_torch.py's standalone output:
# shapes as lists, and "causal" telling two cases apart.
ATTENTION_KILN = {"benchmark": "attention", "cases": [
    {"op": "attention", "shape": [8, 16, 2048, 128], "dtype": "bf16", "direction": "fwd",
     "causal": False, "kiln": {"value": 350.0, "unit": "TFLOP/s"}, "baselines": {}},
    {"op": "attention", "shape": [8, 16, 2048, 128], "dtype": "bf16", "direction": "fwd",
     "causal": True, "kiln": {"value": 280.0, "unit": "TFLOP/s"}, "baselines": {}},
]}
ATTENTION_TORCH = {"benchmark": "attention", "cases": [
    {"op": "attention", "shape": [8, 16, 2048, 128], "dtype": "bf16", "direction": "fwd",
     "causal": True, "baselines": {"torch_flash": {"value": 400.0, "unit": "TFLOP/s"}}},
]}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, content):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def run_report(self, *extra):
        out = os.path.join(self.dir.name, "report.json")
        gpu_report.main(["--out", out, "--gpu", "Fake GPU", "--driver", "580.1", "--commit",
                         "abc123", "--date", "2026-11-26", *extra])
        with open(out) as f:
            return json.load(f)

    def full(self):
        return self.run_report("--junit", self.write("ctest.xml", JUNIT),
                               "--bench", self.write("kiln.json", KILN),
                               "--baselines", self.write("torch.json", TORCH),
                               "--entries", self.write("entries.json", ENTRIES),
                               "--meta", "build=ok")

    @staticmethod
    def case(report, op, shape, dtype, direction="forward"):
        found = [c for c in report["cases"] if (c["op"], c["shape"], c["dtype"],
                                                c["direction"]) == (op, shape, dtype, direction)]
        assert len(found) == 1, (op, shape, dtype, found)
        return found[0]

    def test_header_and_test_counts(self):
        r = self.full()
        self.assertEqual((r["gpu"], r["driver"], r["commit"], r["date"]),
                         ("Fake GPU", "580.1", "abc123", "2026-11-26"))
        self.assertEqual(r["meta"]["build"], "ok")
        self.assertEqual(r["meta"]["baseline_versions"], {"torch": "2.11.0"})
        self.assertEqual(r["meta"]["bench_context"]["l2_bytes"], "52428800")
        t = r["tests"]
        self.assertEqual((t["passed"], t["failed"], t["skipped"]), (3, 1, 2))
        self.assertEqual(t["failures"], [{"name": "Softmax/OpHarness.CudaMatchesCpu/x",
                                          "message": "Failed"}])
        # A data-less skip is fine; a skip for want of a GPU is what a GPU run must not have.
        self.assertEqual(t["skipped_without_cuda"], ["Fused.CudaStep"])
        self.assertEqual(r["errors"], [])

    def test_gtest_xml_of_several_binaries_add_up_with_their_messages(self):
        r = self.run_report("--junit", self.write("tests_ops.xml", GTEST_XML),
                            "--junit", self.write("tests_core.xml", GTEST_XML))
        t = r["tests"]
        self.assertEqual((t["passed"], t["failed"], t["skipped"]), (2, 2, 4))
        self.assertEqual(t["failures"][0]["name"],
                         "Attention/OpHarness.CudaMatchesCpu/attention_b1_tq1")
        self.assertIn("1.03885e+23 vs 1e-05", t["failures"][0]["message"])
        self.assertEqual(t["skipped_without_cuda"], ["Fused.CudaStep", "Fused.CudaStep"])

    def test_console_logs_count_end_lines_not_the_summary(self):
        r = self.run_report("--gtest-log", self.write("tests_ops.txt", GTEST_LOG))
        t = r["tests"]
        self.assertEqual((t["passed"], t["failed"], t["skipped"]), (1, 1, 1))
        self.assertEqual(t["failures"][0]["name"], "Loss/OpHarness.CudaMatchesCpu/ce")
        self.assertIn("expected one device", t["failures"][0]["message"])

    def test_filtered_console_logs_count_the_summary(self):
        r = self.run_report("--gtest-log", self.write("tests_ops.txt", GTEST_FILTERED_LOG))
        t = r["tests"]
        self.assertEqual((t["passed"], t["failed"], t["skipped"]), (4009, 1, 146))
        self.assertEqual(t["failures"], [{"name": "AttentionCuda.MatchesCpu", "message":
                                          "tests/ops/attention_test.cpp:198: Failure\n"
                                          "actual: 1.03885e+23 vs 1e-05"}])

    def test_summary_ends_with_the_failures_and_their_messages(self):
        r = self.run_report("--gtest-log", self.write("tests_ops.txt", GTEST_LOG))
        lines = gpu_report.summary(r).splitlines()
        self.assertEqual(lines[-3], "FAILED Loss/OpHarness.CudaMatchesCpu/ce")
        self.assertIn("expected one device", "\n".join(lines[-2:]))

    def test_memory_bound_fraction_is_of_the_best_copy(self):
        r = self.full()
        self.assertEqual(r["ceilings"]["copy_GBps"], 3000.0)
        ln = self.case(r, "layer_norm", "16384x4096", "bf16")
        self.assertEqual(ln["kiln"], {"value": 2400.0, "unit": "GB/s"})
        self.assertAlmostEqual(ln["fraction_of_ceiling"], 0.8)
        self.assertAlmostEqual(self.case(r, "copy_memcpy", "16384x4096", "f32")
                               ["fraction_of_ceiling"], 2800 / 3000)

    def test_baseline_ratios_and_errors(self):
        ln = self.case(self.full(), "layer_norm", "16384x4096", "bf16")
        self.assertAlmostEqual(ln["baselines"]["torch_eager"]["ratio"], 2.0)
        self.assertEqual(ln["baselines"]["torch_eager"]["value"], 1200.0)
        self.assertIn("no compiler", ln["baselines"]["torch_compile"]["error"])
        self.assertNotIn("ratio", ln["baselines"]["torch_compile"])

    def test_gemm_fraction_is_of_cublaslt_on_the_same_shape(self):
        r = self.full()
        self.assertAlmostEqual(self.case(r, "matmul", "4096x4096x4096", "bf16")
                               ["fraction_of_ceiling"], 0.9)
        self.assertAlmostEqual(self.case(r, "linear", "8192x768x768", "bf16")
                               ["fraction_of_ceiling"], 0.9)
        # cuBLASLt rows against the best cuBLASLt rate of their dtype.
        self.assertAlmostEqual(self.case(r, "gemm_cublaslt", "8192x768x768", "bf16")
                               ["fraction_of_ceiling"], 0.5)
        self.assertEqual(r["ceilings"]["gemm_TFLOPps"], {"gemm_cublaslt/bf16": 700.0})
        mm = self.case(r, "matmul", "4096x4096x4096", "bf16")
        self.assertAlmostEqual(mm["baselines"]["torch_eager"]["ratio"], 0.9)

    def test_failed_rows_keep_their_message_and_aggregates_are_ignored(self):
        r = self.full()
        sm = self.case(r, "softmax", "16384x4096", "f32")
        self.assertIsNone(sm["kiln"])
        self.assertIsNone(sm["fraction_of_ceiling"])
        self.assertIn("no CUDA kernel", sm["error"])
        self.assertEqual(len([c for c in r["cases"] if c["op"] == "layer_norm"]), 1)

    def test_baseline_without_a_kiln_row_is_still_reported(self):
        g = self.case(self.full(), "gelu", "8192x3072", "bf16")
        self.assertIsNone(g["kiln"])
        self.assertEqual(g["baselines"]["torch_eager"], {"value": 2000.0, "unit": "GB/s"})

    def test_entries_from_other_benchmarks_merge_as_given(self):
        a = self.case(self.full(), "attention", "8x12x1024x64", "bf16")
        self.assertEqual(a["kiln"], {"value": 300.0, "unit": "TFLOP/s"})
        self.assertEqual(a["fraction_of_ceiling"], 0.43)
        self.assertAlmostEqual(a["baselines"]["torch_sdpa"]["ratio"], 0.75)

    def test_attention_entries_merge_by_shape_and_causal(self):
        r = self.run_report("--bench", self.write("kiln.json", KILN),
                            "--entries", self.write("att.json", ATTENTION_KILN),
                            "--entries", self.write("att_torch.json", ATTENTION_TORCH))
        att = [c for c in r["cases"] if c["op"] == "attention"]
        self.assertEqual(len(att), 2)
        causal = [c for c in att if c["causal"]][0]
        full = [c for c in att if not c["causal"]][0]
        self.assertEqual(causal["shape"], "8x16x2048x128")
        self.assertEqual(causal["kiln"]["value"], 280.0)
        self.assertAlmostEqual(causal["baselines"]["torch_flash"]["ratio"], 0.7)
        self.assertEqual(full["baselines"], {})
        # Attention's fraction: of the best cuBLASLt rate of its dtype.
        self.assertAlmostEqual(full["fraction_of_ceiling"], 0.5)
        self.assertIn("causal=True", gpu_report.summary(r))

    def test_missing_and_broken_inputs_still_give_a_report(self):
        r = self.run_report("--junit", os.path.join(self.dir.name, "absent.xml"),
                            "--bench", self.write("broken.json", "{not json"),
                            "--baselines", self.write("torch.json", TORCH))
        self.assertIsNone(r["tests"])
        self.assertEqual(len(r["errors"]), 2)
        self.assertIsNone(r["ceilings"]["copy_GBps"])
        ln = self.case(r, "layer_norm", "16384x4096", "bf16")
        self.assertIsNone(ln["kiln"])
        self.assertNotIn("ratio", ln["baselines"]["torch_eager"])

    def test_misnamed_rows_are_reported_not_merged(self):
        r = self.run_report("--bench", self.write("odd.json", gbench([row("copy/f32", GBps=1.0)])))
        self.assertEqual(r["cases"], [])
        self.assertIn("op/shape/dtype/direction", r["errors"][0])

    def test_summary_lists_every_case(self):
        text = gpu_report.summary(self.full())
        self.assertIn("tests: 3 passed, 1 failed, 2 skipped", text)
        self.assertIn("1 skipped for want of a CUDA device: Fused.CudaStep", text)
        self.assertIn("layer_norm/16384x4096/bf16/forward", text)
        self.assertIn("copy ceiling: 3000 GB/s", text)


class GpuCheckScriptTest(unittest.TestCase):
    SCRIPT = os.path.join(ROOT, "scripts", "gpu-check.sh")

    def run_script(self, *args, env=None):
        return subprocess.run(["bash", self.SCRIPT, *args], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=60)

    def test_usage_errors_exit_2(self):
        for args in ([], ["a", "b"]):
            p = self.run_script(*args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("usage: scripts/gpu-check.sh [--quick TESTS [BENCH]] OUTDIR", p.stderr)

    def test_help_describes_the_report(self):
        p = self.run_script("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--quick TESTS [BENCH] OUTDIR", p.stdout)
        self.assertIn("pack-gpu-build.sh", p.stdout)

    def fake_machine(self, tmp):
        """A carried build of two fake binaries and an nvidia-smi that names a GPU."""
        build = os.path.join(tmp, "build")
        os.makedirs(os.path.join(build, "bin"))
        scripts = {
            # A test binary: gtest's XML with one failure, only when CUDA is required.
            "kiln_fake_tests": """#!/bin/bash
[[ $KILN_REQUIRE_CUDA == 1 ]] || exit 3
for a in "$@"; do [[ $a == --gtest_output=xml:* ]] && xml=${a#--gtest_output=xml:}; done
echo "filter: $*"
cat >"$xml" <<'XML'
""" + GTEST_XML + """XML
exit 1
""",
            "kiln_bench_kernels": """#!/bin/bash
for a in "$@"; do [[ $a == --benchmark_out=* ]] && out=${a#--benchmark_out=}; done
cat >"$out" <<'JSON'
""" + json.dumps(gbench([row("copy_memcpy/16384x4096/f32/forward", GBps=3000.0)])) + """
JSON
""",
            "nvidia-smi": """#!/bin/bash
case "$*" in *name*) echo "Fake GPU";; *driver*) echo 580.1;; esac
""",
        }
        for name, text in scripts.items():
            path = os.path.join(build if name == "nvidia-smi" else build + "/bin", name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        carry = os.path.join(tmp, "carry")
        os.makedirs(carry)
        subprocess.run(["tar", "-cJf", os.path.join(carry, "kiln-build.tar.xz"), "-P", build],
                       check=True)
        with open(os.path.join(carry, "manifest"), "w") as f:
            f.write(f"build={build}\nlibs={build}/runtime-libs\ncommit=abc123\n")
        return {"KILN_CARRY_DIR": carry, "NVIDIA_SMI": os.path.join(build, "nvidia-smi"),
                "PYTHON": sys.executable, "KILN_CHECK_BUDGET": "60"}

    @staticmethod
    def read_report(out):
        reports = [f for f in os.listdir(out) if f.endswith(".json")]
        assert len(reports) == 1, os.listdir(out)
        with open(os.path.join(out, reports[0])) as f:
            return reports[0], json.load(f)

    def test_carried_build_runs_and_reports_failures_with_their_messages(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            p = self.run_script(out, env=self.fake_machine(tmp))
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            name, r = self.read_report(out)
            self.assertRegex(name, r"^fake-gpu-\d{4}-\d\d-\d\d\.json$")
            self.assertEqual(sorted(os.listdir(out)), sorted([name, "gpu-check.log", "raw.tar.gz"]))
            self.assertEqual((r["gpu"], r["driver"], r["commit"]), ("Fake GPU", "580.1", "abc123"))
            self.assertEqual(r["meta"]["build"], "carried")
            self.assertEqual(r["tests"]["failed"], 1)
            self.assertEqual([c["op"] for c in r["cases"]], ["copy_memcpy"])
            tail = p.stdout.splitlines()[-8:]
            self.assertIn("FAILED Attention/OpHarness.CudaMatchesCpu/attention_b1_tq1", tail)
            self.assertIn("1.03885e+23 vs 1e-05", "\n".join(tail))
            self.assertIn("1 tests skipped for want of a CUDA device", p.stdout)

    def test_quick_passes_the_test_filter_and_skips_the_benchmarks(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            p = self.run_script("--quick", "Attention*", out, env=self.fake_machine(tmp))
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertEqual(self.read_report(out)[1]["meta"]["mode"], "quick")
            raw = os.path.join(tmp, "raw")
            os.makedirs(raw)
            subprocess.run(["tar", "-xzf", os.path.join(out, "raw.tar.gz"), "-C", raw], check=True)
            with open(os.path.join(raw, "tests_fake.log")) as f:
                self.assertIn("--gtest_filter=Attention*", f.read())
            self.assertFalse([f for f in os.listdir(raw) if f.startswith("kiln_")])

    def test_quick_needs_a_filter_and_an_outdir(self):
        p = self.run_script("--quick", "Attention*")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("usage: scripts/gpu-check.sh --quick TESTS [BENCH] OUTDIR", p.stderr)

    def test_no_gpu_fails_clearly_before_doing_anything(self):
        with tempfile.TemporaryDirectory() as out:
            p = self.run_script(out, env={"NVIDIA_SMI": "false"})
            self.assertEqual(p.returncode, 1)
            self.assertIn("no CUDA device visible", p.stderr)
            self.assertEqual(os.listdir(out), [])


if __name__ == "__main__":
    unittest.main()
