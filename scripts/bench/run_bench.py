#!/usr/bin/env python3
"""Alternating wall-time / peak-RSS measurements for scripts/bench-ingest.sh.

    run_bench.py DATA_DIR OUT_DIR ROUNDS CSFLEAK_BIN [--inspect-decode]

Runs every tool once untimed (warm page cache), then ROUNDS rounds in which every tool runs
once, the order rotating from round to round, so that drift of the machine (other load,
thermal) hits all tools alike. Wall time and peak RSS come from /usr/bin/time -f "%e %M";
without it, from time.monotonic() and resource.getrusage(RUSAGE_CHILDREN) (whose ru_maxrss is
the maximum over all children so far, so a fresh Python child wraps each run).
Prints a table of medians and the ratios against the targets of issue 2.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HAVE_TIME = os.path.exists("/usr/bin/time")


def measure(cmd):
    """(wall seconds, peak RSS in MiB) of one run of cmd (a list), output discarded."""
    if HAVE_TIME:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
            r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name, "--"] + cmd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall, kb = t.read().strip().splitlines()[-1].split()
        return float(wall), int(kb) / 1024.0, r.returncode
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.monotonic()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "w = time.monotonic() - t\n"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([w, m, r.returncode]))\n"
    )
    r = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True)
    wall, kb, status = json.loads(r.stdout)
    return wall, kb / 1024.0, status


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 4:
        sys.exit(__doc__)
    data, out, rounds, csfleak = args[0], args[1], int(args[2]), args[3]
    with_inspect = "--inspect-decode" in sys.argv
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs
                   if not f.startswith("."))
    total_bytes = sum(os.path.getsize(f) for f in files)
    os.makedirs(out, exist_ok=True)
    cat_list = os.path.join(out, "files.txt")
    with open(cat_list, "w") as f:
        f.write("\0".join(files))

    def fresh(name):
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    tools = {
        "csfleak convert --no-compress": lambda: [csfleak, "-q", "convert", data, "--out",
                                                  fresh("csfleak"), "--no-compress"],
        "csfleak convert (gzip, default)": lambda: [csfleak, "-q", "convert", data, "--out",
                                                    fresh("csfleak_gz")],
        "dcm2niix -z n": lambda: ["dcm2niix", "-z", "n", "-f", "%s_%d", "-o", fresh("dcm2niix"),
                                  data],
        # like for like with csfleak's gzip (level 1, deflate pieces compressed in parallel):
        # dcm2niix at level 1; it compresses with pigz when installed, else with its internal
        # single-threaded miniz
        "dcm2niix -z y -1 (gzip)": lambda: ["dcm2niix", "-z", "y", "-1", "-f", "%s_%d", "-o",
                                            fresh("dcm2niix_gz"), data],
        "cat": lambda: ["sh", "-c", 'xargs -0 cat < "$0" > /dev/null', cat_list],
    }
    if with_inspect:
        tools["csfleak inspect --decode"] = lambda: [csfleak, "-q", "inspect", "--decode", data]
    names = list(tools)
    results = {n: [] for n in names}
    print("bench: dcm2niix gzip: %s; csfleak gzip: level 1, one deflate piece per slice on "
          "every core, one gzip member" % (
              "pigz (%s), level 1" % shutil.which("pigz") if shutil.which("pigz")
              else "no pigz here, internal miniz (single-threaded), level 1"), flush=True)
    print("bench: %d files, %.1f MB, %d rounds, %s" % (
        len(files), total_bytes / 1e6, rounds,
        "/usr/bin/time" if HAVE_TIME else "getrusage"), flush=True)
    for n in names:  # warm-up: page cache, binary loading
        _, _, status = measure(tools[n]())
        if status != 0:
            print("warning: %s exited with %d in the warm-up run" % (n, status), flush=True)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            wall, rss, status = measure(tools[n]())
            results[n].append((wall, rss, status))
        print("round %d/%d done" % (r + 1, rounds), flush=True)

    med = {n: (statistics.median(w for w, _, _ in v), statistics.median(m for _, m, _ in v),
               max(s for _, _, s in v)) for n, v in results.items()}
    largest = 0
    for f in os.listdir(os.path.join(out, "csfleak")):
        if f.endswith(".json"):
            with open(os.path.join(out, "csfleak", f)) as fh:
                dims = json.load(fh).get("csfleak", {}).get("nifti", {}).get("dims", [])
            n = 1
            for d in dims:
                n *= d
            largest = max(largest, n)
    print()
    print("%-34s %12s %14s %8s" % ("tool", "median wall s", "median peak MiB", "status"))
    for n in names:
        w, m, s = med[n]
        print("%-34s %12.2f %14.0f %8d" % (n, w, m, s))
    print()

    def ratio(a, b, idx):
        return med[a][idx] / med[b][idx] if med[b][idx] > 0 else float("nan")

    rows = [
        ("convert/dcm2niix wall", ratio("csfleak convert --no-compress", "dcm2niix -z n", 0),
         0.5),
        ("convert/dcm2niix peak RSS", ratio("csfleak convert --no-compress", "dcm2niix -z n", 1),
         1.2),
    ]
    rows.append(("convert gzip/dcm2niix gzip wall (both level 1; no target)",
                 ratio("csfleak convert (gzip, default)", "dcm2niix -z y -1 (gzip)", 0),
                 float("inf")))
    if with_inspect:
        rows.insert(1, ("inspect-decode/cat wall", ratio("csfleak inspect --decode", "cat", 0),
                        2.0))
    else:
        rows.insert(1, ("inspect-decode/cat wall (convert used: no --decode yet)",
                        ratio("csfleak convert --no-compress", "cat", 0), 2.0))
    print("%-60s %8s %8s  %s" % ("ratio", "value", "target", "met"))
    for name, v, target in rows:
        if target == float("inf"):
            print("%-60s %8.2f %8s  %s" % (name, v, "-", "-"))
        else:
            print("%-60s %8.2f %8.2f  %s" % (name, v, target, "yes" if v <= target else "NO"))
    # the same ratios round by round (tools of one round ran back to back): the spread
    # shows how much the load of the machine moved them
    pairs = [("convert/dcm2niix wall", "csfleak convert --no-compress", "dcm2niix -z n")]
    if with_inspect:
        pairs.append(("inspect-decode/cat wall", "csfleak inspect --decode", "cat"))
    for name, a, b in pairs:
        per = [x[0] / y[0] for x, y in zip(results[a], results[b]) if y[0] > 0]
        if per:
            print("%-60s %s  (min %.2f, max %.2f)" % (
                name + " per round", " ".join("%.2f" % v for v in per), min(per), max(per)))
    if largest:
        f32_mib = largest * 4 / 2**20
        rss = med["csfleak convert --no-compress"][1]
        print("%-60s %8.2f %8.2f  %s" % (
            "convert peak RSS / largest series f32 (%.0f MiB)" % f32_mib, rss / f32_mib, 1.5,
            "yes" if rss / f32_mib <= 1.5 else "NO"))
    bad = [n for n in names if med[n][2] != 0]
    if bad:
        print("\nwarning: non-zero exit status from: %s" % ", ".join(bad))


if __name__ == "__main__":
    main()
