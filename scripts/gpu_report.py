#!/usr/bin/env python3
"""Merges a GPU run's results into one JSON report (the format is in docs/benchmarks.md).

Inputs, each optional and each tolerated missing (a run cut short still gets a report):
  --junit FILE       a test binary's --gtest_output=xml (or ctest's --output-junit): counts of
                     passed, failed and skipped tests, and each failure's message
  --gtest-log FILE   a test binary's console output, for runs that kept only that
  --bench FILE       Google Benchmark JSON whose rows are named op/shape/dtype/direction with
                     counters GBps or TFLOPps (kiln_bench_kernels, kiln_bench_attention)
  --baselines FILE   {"entries": [{"op", "shape", "dtype", "direction", "impl", "value", "unit"}
                     or {..., "impl", "error"}]} (bench/baselines/*_torch.py)
  --entries FILE     per-case entries already in the report's format (a list, or {"cases": [...]})
Each may be repeated. --gpu, --driver, --commit, --date and --meta KEY=VALUE fill the header.

Ceilings come from the same run: memory-bound rows (GB/s) are divided by the best copy rate
(copy_memcpy, copy_kernel); op GEMMs (matmul, linear) by cuBLASLt alone on the same shape and
dtype (gemm_cublaslt), cuBLASLt rows by the best rate of their own kind and dtype, and other
TFLOP/s rows (attention) by the best gemm_cublaslt rate of their dtype. A baseline's ratio is
kiln's value over the baseline's: above 1, kiln is faster. A case is named by op, shape, dtype,
direction and any other scalar field its producer adds (attention's "causal"); entries with the
same name from different files merge into one case.

Only the Python standard library is used (the report is made where nothing can be installed).
"""
import argparse
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

COPY_OPS = ("copy_memcpy", "copy_kernel")
# What a test prints when it skips for want of a GPU (tests/require_cuda.h and older skips).
NO_CUDA = re.compile(r"no CUDA device", re.IGNORECASE)
GEMM_OPS = ("matmul", "linear")
# Name segments Google Benchmark appends to a row's name.
SUFFIX = re.compile(r"^(iterations:\d+|manual_time|real_time|process_time|repeats:\d+|"
                    r"min_time:[\d.]+s?|min_warmup_time:[\d.]+s?|threads:\d+)$")


def load_json(path, errors):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        errors.append(f"{path}: {e}")
        return None


def empty_counts():
    return {"passed": 0, "failed": 0, "skipped": 0, "failures": [], "skipped_without_cuda": []}


def add_failure(counts, name, message):
    counts["failed"] += 1
    # The first lines of a message are enough to start from; a broken build can fail thousands.
    if len(counts["failures"]) < 200:
        counts["failures"].append({"name": name, "message": message.strip()[:600]})


def add_skip(counts, name, text):
    counts["skipped"] += 1
    # On a GPU run these are failures that KILN_REQUIRE_CUDA missed: tests that skip with
    # GTEST_SKIP() themselves instead of KILN_SKIP_WITHOUT_CUDA().
    if NO_CUDA.search(text) and len(counts["skipped_without_cuda"]) < 200:
        counts["skipped_without_cuda"].append(name)


def test_counts_xml(path, counts, errors):
    """Adds the cases of a gtest XML file (a test binary's --gtest_output=xml) or of ctest's
    JUnit file to counts."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        errors.append(f"{path}: {e}")
        return False
    # gtest (root <testsuites>) names a case by classname Suite and name Test; ctest's JUnit
    # (root <testsuite>) puts the whole name in name.
    gtest = root.tag == "testsuites"
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        if gtest:
            name = f"{case.get('classname', '?')}.{name}"
        failures = case.findall("failure") + case.findall("error")
        skipped = case.find("skipped")
        if failures or case.get("status") == "fail":
            message = "\n".join(f.get("message") or f.text or "" for f in failures)
            add_failure(counts, name, message or "failed")
        elif skipped is not None or case.get("result") == "skipped" or \
                case.get("status") in ("notrun", "disabled"):
            text = (case.findtext("system-out") or "") + \
                (skipped.get("message", "") if skipped is not None else "")
            add_skip(counts, name, text)
        else:
            counts["passed"] += 1
    return True


# gtest's console output: a test's end line (a parameterised one says ", where GetParam() = ..."
# before the time), and the summary at the end, which is all that --gtest_brief=1 or a filtered
# log keeps of the tests that passed or skipped.
GTEST_END = re.compile(r"^\[ +(OK|FAILED|SKIPPED) +\] ([^\s,]+)(?:, where .*)? \(\d+ ms\)$")
GTEST_COUNT = re.compile(r"^\[ +(PASSED|SKIPPED) +\] (\d+) tests?[.,]")
GTEST_LISTED = re.compile(r"^\[ +(FAILED|SKIPPED) +\] ([^\s,]+)(?:, where .*)?$")


def test_counts_log(path, counts, errors):
    """Adds the cases of a gtest binary's console output (a run kept only as its log)."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        errors.append(f"{path}: {e}")
        return False
    ended = {}  # name -> (result, what the test printed before its end line)
    body = []
    summary = {}  # PASSED/SKIPPED -> count
    for line in lines:
        end, count, listed = GTEST_END.match(line), GTEST_COUNT.match(line), GTEST_LISTED.match(line)
        if end:
            ended[end.group(2)] = (end.group(1), "\n".join(body))
            body = []
        elif count:
            summary[count.group(1)] = int(count.group(2))
        elif listed:
            ended.setdefault(listed.group(2), (listed.group(1), ""))
        elif line.startswith("[") or line.startswith("Running main() from"):
            body = []
        else:
            body.append(line)
    by_result = {r: [(n, text) for n, (res, text) in ended.items() if res == r]
                 for r in ("OK", "FAILED", "SKIPPED")}
    counts["passed"] += summary.get("PASSED", len(by_result["OK"]))
    for name, text in by_result["FAILED"]:
        add_failure(counts, name, text or "failed")
    for name, text in by_result["SKIPPED"]:
        add_skip(counts, name, text)
    # Skips the log counts but does not name.
    counts["skipped"] += max(0, summary.get("SKIPPED", 0) - len(by_result["SKIPPED"]))
    return True


def test_counts(xml_paths, log_paths, errors):
    """passed/failed/skipped over every file, with the failures' names and messages; None when
    no file could be read."""
    counts = empty_counts()
    read = [test_counts_xml(p, counts, errors) for p in xml_paths] + \
        [test_counts_log(p, counts, errors) for p in log_paths]
    return counts if any(read) else None


# Fields that describe a measurement rather than name a case; any other scalar field of an entry
# (attention's "causal", say) is part of the case's identity.
NOT_IDENTITY = {"op", "shape", "dtype", "direction", "kiln", "fraction_of_ceiling", "baselines",
                "error", "impl", "value", "unit", "seconds", "ms", "device"}


def shape_text(shape):
    """Shapes are dims joined by x; a list of dims is accepted."""
    return "x".join(str(d) for d in shape) if isinstance(shape, (list, tuple)) else str(shape)


def case_key(op, shape, dtype, direction, extra=()):
    return (op, shape_text(shape), dtype, direction, tuple(sorted(extra)))


def entry_key(e):
    extra = [(k, v) for k, v in e.items()
             if k not in NOT_IDENTITY and isinstance(v, (bool, int, float, str))]
    return case_key(e["op"], e["shape"], e["dtype"], e["direction"], extra)


def split_name(name):
    """op/shape/dtype/direction from a Google Benchmark row name, or None."""
    parts = [p for p in name.split("/") if not SUFFIX.match(p)]
    return case_key(*parts) if len(parts) == 4 else None


def bench_rows(doc, source, errors):
    """(key, kiln value dict or None, error or None) for each non-aggregate row."""
    rows = []
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        key = split_name(b.get("run_name") or b.get("name", ""))
        if key is None:
            errors.append(f"{source}: row {b.get('name')!r} is not named op/shape/dtype/direction")
            continue
        if b.get("error_occurred"):
            rows.append((key, None, b.get("error_message", "error")))
        elif b.get("TFLOPps"):
            rows.append((key, {"value": b["TFLOPps"], "unit": "TFLOP/s"}, None))
        elif b.get("GBps"):
            rows.append((key, {"value": b["GBps"], "unit": "GB/s"}, None))
        else:
            errors.append(f"{source}: row {b.get('name')!r} has neither GBps nor TFLOPps")
    return rows


class Report:
    def __init__(self):
        self.cases = {}  # key -> entry, in first-seen order

    def entry(self, key):
        if key not in self.cases:
            op, shape, dtype, direction, extra = key
            self.cases[key] = {"op": op, "shape": shape, "dtype": dtype, "direction": direction,
                               **dict(extra), "kiln": None, "fraction_of_ceiling": None,
                               "baselines": {}}
        return self.cases[key]

    def add_kiln(self, key, value, error):
        e = self.entry(key)
        e["kiln"] = value
        if error is not None:
            e["error"] = error

    def add_baseline(self, b):
        e = self.entry(entry_key(b))
        if "error" in b:
            e["baselines"][b["impl"]] = {"error": b["error"]}
        else:
            e["baselines"][b["impl"]] = {"value": b["value"], "unit": b["unit"]}

    def add_entry(self, given):
        e = self.entry(entry_key(given))
        for field, value in given.items():
            if field == "baselines":
                e["baselines"].update(value or {})
            elif field == "shape":
                e["shape"] = shape_text(value)
            elif value is not None or field not in e:
                e[field] = value

    def ceilings(self):
        copy = [e["kiln"]["value"] for e in self.cases.values()
                if e["op"] in COPY_OPS and e["kiln"] and e["kiln"]["unit"] == "GB/s"]
        gemm = {}
        for e in self.cases.values():
            if e["op"].startswith("gemm_") and e["kiln"]:
                k = f"{e['op']}/{e['dtype']}"
                gemm[k] = max(gemm.get(k, 0.0), e["kiln"]["value"])
        return {"copy_GBps": max(copy) if copy else None, "gemm_TFLOPps": gemm}

    def finish(self):
        ceilings = self.ceilings()
        for e in self.cases.values():
            kiln = e["kiln"]
            if kiln is not None and e.get("fraction_of_ceiling") is None:
                e["fraction_of_ceiling"] = self.fraction(e, ceilings)
            for b in e["baselines"].values():
                # A baseline without a unit is in kiln's (entries given in the report's format).
                if kiln is not None and b.get("value") and "ratio" not in b and \
                        b.get("unit", kiln["unit"]) == kiln["unit"]:
                    b["ratio"] = kiln["value"] / b["value"]
        return ceilings

    def fraction(self, e, ceilings):
        value, unit = e["kiln"]["value"], e["kiln"]["unit"]
        if unit == "GB/s":
            return value / ceilings["copy_GBps"] if ceilings["copy_GBps"] else None
        if unit != "TFLOP/s":
            return None
        if e["op"].startswith("gemm_"):
            best = ceilings["gemm_TFLOPps"].get(f"{e['op']}/{e['dtype']}")
            return value / best if best else None
        if e["op"] in GEMM_OPS:
            alone = self.cases.get(case_key("gemm_cublaslt", e["shape"], e["dtype"],
                                            e["direction"]))
            if alone and alone["kiln"]:
                return value / alone["kiln"]["value"]
            best = ceilings["gemm_TFLOPps"].get(f"gemm_cublaslt/{e['dtype']}")
            return value / best if best else None
        # Other matrix work (attention): against the best GEMM rate of its dtype.
        best = ceilings["gemm_TFLOPps"].get(f"gemm_cublaslt/{e['dtype']}")
        return value / best if best else None


def build(args):
    errors = []
    report = Report()
    context = {}
    for path in args.bench:
        doc = load_json(path, errors)
        if doc is None:
            continue
        context.update({k: v for k, v in doc.get("context", {}).items()
                        if k in ("gpu", "sm_count", "l2_bytes", "host_name", "num_cpus")})
        for key, value, error in bench_rows(doc, path, errors):
            report.add_kiln(key, value, error)
    baseline_versions = {}
    for path in args.baselines:
        doc = load_json(path, errors)
        if doc is None:
            continue
        if "torch" in doc:
            baseline_versions["torch"] = doc["torch"]
        for b in doc.get("entries", []):
            try:
                report.add_baseline(b)
            except KeyError as e:
                errors.append(f"{path}: entry without {e}: {b}")
    for path in args.entries:
        doc = load_json(path, errors)
        if doc is None:
            continue
        for given in doc if isinstance(doc, list) else doc.get("cases", []):
            try:
                report.add_entry(given)
            except KeyError as e:
                errors.append(f"{path}: entry without {e}: {given}")
    ceilings = report.finish()
    meta = dict(kv.split("=", 1) for kv in args.meta)
    return {
        "format": 1,
        "gpu": args.gpu or context.get("gpu"),
        "driver": args.driver,
        "commit": args.commit,
        "date": args.date,
        "meta": {**meta, **({"bench_context": context} if context else {}),
                 **({"baseline_versions": baseline_versions} if baseline_versions else {})},
        "tests": test_counts(args.junit, args.gtest_log, errors)
        if args.junit or args.gtest_log else None,
        "ceilings": ceilings,
        "cases": list(report.cases.values()),
        "errors": errors,
    }


def summary(report):
    """A short table for the end of a log."""
    lines = [f"gpu: {report['gpu']}  driver: {report['driver']}  commit: {report['commit']}"]
    t = report["tests"]
    if t is not None:
        lines.append(f"tests: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped")
        if t.get("skipped_without_cuda"):
            lines.append(f"  {len(t['skipped_without_cuda'])} skipped for want of a CUDA device: " +
                         ", ".join(t["skipped_without_cuda"][:5]))
    c = report["ceilings"]
    lines.append(f"copy ceiling: {c['copy_GBps'] or 0:.0f} GB/s; GEMM: " +
                 ", ".join(f"{k} {v:.0f}" for k, v in sorted(c["gemm_TFLOPps"].items())))
    lines.append(f"{'case':58s} {'kiln':>14s} {'frac':>5s}  vs torch (eager / compile)")
    for e in report["cases"]:
        name = f"{e['op']}/{e['shape']}/{e['dtype']}/{e['direction']}" + "".join(
            f" {k}={v}" for k, v in e.items() if k not in NOT_IDENTITY)
        kiln = e["kiln"]
        value = f"{kiln['value']:.1f} {kiln['unit']}" if kiln else "error" if "error" in e else "-"
        frac = f"{e['fraction_of_ceiling']:.2f}" if e.get("fraction_of_ceiling") else "-"
        ratios = " / ".join(
            f"{b['ratio']:.2f}" if "ratio" in b else "err" if "error" in b else "-"
            for impl, b in sorted(e["baselines"].items()))
        lines.append(f"{name:58s} {value:>14s} {frac:>5s}  {ratios}")
    if report["errors"]:
        lines.append(f"{len(report['errors'])} input problems (see the report's errors)")
    # Last, so that the end of a log shows what failed and why.
    for f in (t or {}).get("failures", [])[:30]:
        lines.append(f"FAILED {f['name']}")
        lines.extend("    " + line for line in f["message"].splitlines()[:6])
    return "\n".join(lines)


def write_json(path, doc):
    """Atomically: a reader (or a run cut short) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--junit", action="append", default=[],
                   help="gtest XML (--gtest_output=xml) or ctest JUnit; repeatable")
    p.add_argument("--gtest-log", action="append", default=[],
                   help="a gtest binary's console output; repeatable")
    p.add_argument("--bench", action="append", default=[])
    p.add_argument("--baselines", action="append", default=[])
    p.add_argument("--entries", action="append", default=[])
    p.add_argument("--gpu")
    p.add_argument("--driver")
    p.add_argument("--commit")
    p.add_argument("--date")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--summary", action="store_true", help="print a table to stdout")
    args = p.parse_args(argv)
    for kv in args.meta:
        if "=" not in kv:
            p.error(f"--meta takes KEY=VALUE, got {kv!r}")
    report = build(args)
    write_json(args.out, report)
    if args.summary:
        print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
