#!/usr/bin/env python3
"""summarize-compare.py: the tables and plots of bench/compare.

Reads the raw figures bench/compare wrote (results.tsv: CONTENDER ROUND
NAME NS; boots.tsv: CONTENDER IMAGE RUN MS; compile.tsv: CONTENDER RUN
compile NS; scaling.tsv: CONTENDER/jJOBS RUN compile NS; meta.json) and,
when present,
bench/skas-modes' JSON (the VM figures).  Writes one JSON file, one
markdown file and PNG bar charts (gnuplot) of every contender's ratio to
the host.  With --publish DOC IMGDIR the markdown also replaces the part
of DOC between its markers and the PNGs are copied to IMGDIR.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

PROG = "summarize-compare.py"

LABELS = {
    "syscall": "null syscall",
    "fork_exit": "fork+exit",
    "fork_exec": "fork+exec",
    "pagefault": "first-touch page fault",
    "mmap": "mmap+munmap",
    "mprotect": "mprotect",
    "pipe": "pipe round trip",
    "thread_switch": "thread switch",
    "file_write_fsync": "4 KiB write+fsync (ubd)",
    "file_read": "4 KiB read (ubd)",
    "tcp": "TCP round trip (lo)",
}
ORDER = list(LABELS)
CONTENDERS = ["host", "deb-6.1", "sid-7.2-ptrace", "sid-7.2-seccomp",
              "ours-seccomp", "ours-ptrace", "ours-seccomp-1cpu",
              "ours-seccomp-2cpu", "baseline-seccomp"]
# The vCPU scaling runs: contender, what it is, and its make -j values.
SCALING = [("host", "the host (2 CPUs)"), ("ours-seccomp", "ours, 1 vCPU"),
           ("ours-seccomp-2cpu", "ours, 2 vCPUs")]
SCALING_JOBS = (1, 2)
VM_MODES = ["host", "skas3", "seccomp", "ptrace", "sid-7.2-seccomp"]
BEGIN = "<!-- bench/compare: begin (generated, do not edit) -->"
END = "<!-- bench/compare: end -->"


def die(what, why):
    sys.exit(f"{PROG}: {what}: {why}")


def spread(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": len(values)}


def read_rows(path, nfields):
    rows = []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                w = line.split()
                if not w:
                    continue
                if len(w) != nfields:
                    die(path, f"line {n}: {nfields} fields expected")
                rows.append(w)
    except OSError as e:
        die(path, e.strerror)
    return rows


def fmt_ns(ns):
    """ns per operation in a readable unit."""
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def fmt_range(med, lo, hi):
    """median (min-max), all three in the median's unit."""
    div, unit = (1e6, "ms") if med >= 1e6 else (1e3, "µs") if med >= 1e3 else (1, "ns")
    f = (lambda x: f"{x / div:.2f}") if div == 1e6 else (lambda x: f"{x / div:.1f}") if div == 1e3 \
        else (lambda x: f"{x:.0f}")
    return f"{f(med)} {unit} ({f(lo)}-{f(hi)})"


def fmt_ratio(r):
    return "n/a" if r is None else (f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}")


def gnuplot(script, what):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        die("gnuplot", f"{what}: {e}")


def bar_chart(png, datafile, title, ylabel, ncols, logscale):
    gnuplot(f"""
set terminal pngcairo size 960,420 font "sans,9" noenhanced
set output "{png}"
set title "{title}"
set ylabel "{ylabel}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 1.0 border -1
set boxwidth 0.9
set key below horizontal
set grid ytics
set xtics rotate by -25 scale 0
{"set logscale y" if logscale else "set yrange [0:*]"}
plot for [i=2:{ncols}] "{datafile}" using i:xtic(1) title columnhead
""", png)


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument("--results", required=True)
    ap.add_argument("--boots", required=True)
    ap.add_argument("--compile")
    ap.add_argument("--scaling")
    ap.add_argument("--meta", required=True)
    ap.add_argument("--vm")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--img", required=True)
    ap.add_argument("--publish", nargs=2, metavar=("DOC", "IMGDIR"))
    a = ap.parse_args()

    try:
        meta = json.load(open(a.meta))
    except (OSError, ValueError) as e:
        die(a.meta, str(e))

    raw = {}
    for c, _r, name, ns in read_rows(a.results, 4):
        raw.setdefault(name, {}).setdefault(c, []).append(float(ns))
    if not raw:
        die(a.results, "no figures at all")
    names = [n for n in ORDER if n in raw] + sorted(set(raw) - set(ORDER))
    present = [c for c in CONTENDERS if any(c in raw[n] for n in names)]

    micro = {}
    for n in names:
        micro[n] = {}
        host = raw[n].get("host")
        hmed = statistics.median(host) if host else None
        for c in present:
            v = raw[n].get(c)
            if not v:
                continue
            s = spread(v)
            e = {"median_ns": s["median"], "min_ns": s["min"], "max_ns": s["max"], "runs": s["runs"],
                 "ratio_to_host": (s["median"] / hmed) if hmed else None}
            micro[n][c] = e

    boots = {}
    for c, img, _i, ms in read_rows(a.boots, 4):
        boots.setdefault(img, {}).setdefault(c, []).append(float(ms) / 1000)
    boot = {img: {c: {k + "_s": v for k, v in spread(t).items() if k != "runs"} | {"runs": len(t)}
                  for c, t in cs.items()} for img, cs in boots.items()}

    compile_ = {}
    if a.compile:
        cc = {}
        for c, _r, _name, ns in read_rows(a.compile, 4):
            cc.setdefault(c, []).append(float(ns) / 1e9)
        hmed = statistics.median(cc["host"]) if cc.get("host") else None
        for c in CONTENDERS:
            if c in cc:
                s = spread(cc[c])
                compile_[c] = {"median_s": s["median"], "min_s": s["min"], "max_s": s["max"],
                               "runs": s["runs"], "ratio_to_host": (s["median"] / hmed) if hmed else None}

    # Throughput ratios: a guest's to ours-seccomp at -j1 (one vCPU, one
    # job), the host's to its own -j1.
    scaling = {}
    if a.scaling:
        sc = {}
        for label, _r, _name, ns in read_rows(a.scaling, 4):
            sc.setdefault(label, []).append(float(ns) / 1e9)
        for c, _what in SCALING:
            base = sc.get("host/j1" if c == "host" else "ours-seccomp/j1")
            for j in SCALING_JOBS:
                t = sc.get(f"{c}/j{j}")
                if not t:
                    continue
                s = spread(t)
                scaling[f"{c}/j{j}"] = {
                    "median_s": s["median"], "min_s": s["min"], "max_s": s["max"], "runs": s["runs"],
                    "throughput_ratio": (statistics.median(base) / s["median"]) if base else None}

    vm = None
    if a.vm and os.path.exists(a.vm):
        try:
            vmj = json.load(open(a.vm))
        except (OSError, ValueError) as e:
            die(a.vm, str(e))
        vm = {"source": os.path.basename(a.vm), "figures": {}}
        for n, modes in vmj.get("figures", {}).items():
            h = modes.get("host", {}).get("median_ns")
            vm["figures"][n] = {m: dict(modes[m], ratio_to_host=(modes[m]["median_ns"] / h) if h else None)
                                for m in VM_MODES if m in modes}
        for k in ("kernel", "accel", "rounds", "budget_ms"):
            if k in vmj:
                vm[k] = vmj[k]

    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "contenders": present, "micro": micro, "boot": boot,
                   "compile": compile_, "scaling": scaling, "vm": vm},
                  f, indent=1, sort_keys=True)

    # --- plots ---------------------------------------------------------------------
    os.makedirs(a.img, exist_ok=True)
    pngs = []
    guests = [c for c in present if c != "host"]
    dat = os.path.join(a.img, "micro-ratios.dat")
    with open(dat, "w") as f:
        f.write("benchmark " + " ".join(guests) + "\n")
        for n in names:
            cells = []
            for c in guests:
                r = micro[n].get(c, {}).get("ratio_to_host")
                cells.append(f"{r:.4g}" if r else "?")
            f.write('"' + LABELS.get(n, n) + '" ' + " ".join(cells) + "\n")
    if guests and "host" in present:
        png = os.path.join(a.img, "perf-micro-ratios.png")
        bar_chart(png, dat, "Time per operation inside UML / on the host (median of rounds; log scale; lower is better)",
                  "ratio to the host", len(guests) + 1, True)
        pngs.append(png)

    if boot:
        cs = [c for c in CONTENDERS if any(c in boot[i] for i in boot)]
        dat = os.path.join(a.img, "boot.dat")
        with open(dat, "w") as f:
            f.write("image " + " ".join(cs) + "\n")
            for img in ("tiny", "debian"):
                if img in boot:
                    f.write(img + " " + " ".join(f"{boot[img][c]['median_s']:.3f}" if c in boot[img] else "?"
                                                 for c in cs) + "\n")
        png = os.path.join(a.img, "perf-boot.png")
        bar_chart(png, dat, "Boot to ready, seconds (median; lower is better)", "seconds", len(cs) + 1, False)
        pngs.append(png)

    if compile_:
        dat = os.path.join(a.img, "compile.dat")
        with open(dat, "w") as f:
            f.write("contender seconds ratio\n")
            for c in compile_:
                r = compile_[c]["ratio_to_host"]
                f.write(f"{c} {compile_[c]['median_s']:.3f} {fmt_ratio(r)}\n")
        png = os.path.join(a.img, "perf-compile.png")
        gnuplot(f"""
set terminal pngcairo size 960,420 font "sans,9" noenhanced
set output "{png}"
set title "Compile workload (make -j1 of Lua 5.4.7): seconds, median; label: ratio to the host (lower is better)"
set ylabel "seconds"
set style fill solid 1.0 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set xtics scale 0
unset key
plot "{dat}" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \\
     "{dat}" using 0:2:(strcol(3)."x") with labels offset 0,0.8
""", png)
        pngs.append(png)

    if vm and vm["figures"]:
        modes = [m for m in VM_MODES[1:] if any(m in vm["figures"][n] for n in vm["figures"])]
        dat = os.path.join(a.img, "vm-ratios.dat")
        with open(dat, "w") as f:
            f.write("benchmark " + " ".join(modes) + "\n")
            for n in [x for x in ORDER if x in vm["figures"]]:
                f.write('"' + LABELS.get(n, n) + '" ' + " ".join(
                    f"{vm['figures'][n][m]['ratio_to_host']:.4g}" if m in vm["figures"][n] else "?"
                    for m in modes) + "\n")
        png = os.path.join(a.img, "perf-vm-ratios.png")
        bar_chart(png, dat, "In the QEMU VM: time per operation inside UML / on the VM's kernel (log scale)",
                  "ratio to the VM's kernel", len(modes) + 1, True)
        pngs.append(png)

    # --- markdown ------------------------------------------------------------------
    L = []
    L.append(f"Measured {meta.get('date', '?')} on this project's build machine ({meta.get('cpus', '?')} CPUs, "
             f"shared, host kernel {meta.get('host_kernel', '?')}): {len(present)} contenders interleaved in "
             f"{meta.get('rounds', '?')} rounds, {meta.get('budget_ms', '?')} ms per benchmark and round. "
             f"Contenders: `deb-6.1` Debian bookworm's user-mode-linux {meta.get('deb61_version', '?')}; "
             f"`sid-7.2-*` Debian sid's user-mode-linux {meta.get('sid_version', '?')} with `seccomp=off` / "
             f"`seccomp=on`; `ours-*` build/uml/linux ({meta.get('ours', '?')}) with `skas=seccomp` / "
             f"`skas=ptrace`, `-1cpu` pinned to CPU {meta.get('pinned_cpu', '?')} with taskset.")
    L.append("")
    L.append("**Ratio to the host** (median time per operation in the guest / median on the host; lower is better):")
    L.append("")
    L.append("| benchmark | " + " | ".join(guests) + " |")
    L.append("|---|" + "---|" * len(guests))
    for n in names:
        L.append(f"| {LABELS.get(n, n)} | " + " | ".join(
            fmt_ratio(micro[n][c]["ratio_to_host"]) if c in micro[n] else "n/a" for c in guests) + " |")
    L.append("")
    L.append("**Time per operation**, median (min-max) of the rounds:")
    L.append("")
    L.append("| benchmark | " + " | ".join(present) + " |")
    L.append("|---|" + "---|" * len(present))
    for n in names:
        cells = []
        for c in present:
            e = micro[n].get(c)
            cells.append("n/a" if not e else fmt_range(e["median_ns"], e["min_ns"], e["max_ns"]))
        L.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("![ratios to the host](img/perf-micro-ratios.png)")
    L.append("")
    if boot:
        cs = [c for c in CONTENDERS if any(c in boot[i] for i in boot)]
        L.append("**Boot to ready**, seconds from exec to `uml-skas: ready` (tiny) or the `login:` prompt "
                 f"(debian), native, median (min-max) of {meta.get('boots', '?')} boots:")
        L.append("")
        L.append("| image | " + " | ".join(cs) + " |")
        L.append("|---|" + "---|" * len(cs))
        for img in ("tiny", "debian"):
            if img in boot:
                L.append(f"| {img} | " + " | ".join(
                    f"{boot[img][c]['median_s']:.2f} ({boot[img][c]['min_s']:.2f}-{boot[img][c]['max_s']:.2f})"
                    if c in boot[img] else "n/a" for c in cs) + " |")
        L.append("")
        L.append("![boot to ready](img/perf-boot.png)")
        L.append("")
    if compile_:
        src = (meta.get("compile_source") or "? ?").split() + ["?", "?"]
        what = ("Lua's library, `lua` and `luac`, 6 times over" if meta.get("compile_set") == "full"
                else "two of Lua's C files (`--quick`)")
        L.append(f"**Compile workload**: `make -j1` of {what} (Debian source package {src[0]} {src[1]}, "
                 f"gcc {meta.get('compile_gcc', '?')}), in the debian "
                 "image with build-essential (the host: the same tree in a chroot), seconds, median (min-max) of "
                 f"{meta.get('compile_runs', '?')} interleaved runs, and ratio to the host:")
        L.append("")
        L.append("| contender | seconds | ratio to the host |")
        L.append("|---|---|---|")
        for c, e in compile_.items():
            L.append(f"| {c} | {e['median_s']:.2f} ({e['min_s']:.2f}-{e['max_s']:.2f}) | "
                     f"{fmt_ratio(e['ratio_to_host'])} |")
        L.append("")
        L.append("![compile workload](img/perf-compile.png)")
        L.append("")
    if scaling:
        L.append("**vCPU scaling**: the same workload with `make -j1` and `make -j2`, unpinned, seconds, "
                 f"median (min-max) of {meta.get('scaling_runs', '?')} interleaved runs, and throughput "
                 "relative to ours with 1 vCPU at `-j1` (the host: to the host at `-j1`):")
        L.append("")
        L.append("| contender | `-j1` | `-j2` |")
        L.append("|---|---|---|")
        for c, what in SCALING:
            cells = []
            for j in SCALING_JOBS:
                e = scaling.get(f"{c}/j{j}")
                cells.append(f"{e['median_s']:.2f} ({e['min_s']:.2f}-{e['max_s']:.2f}), "
                             f"{fmt_ratio(e['throughput_ratio'])}x" if e else "n/a")
            L.append(f"| {what} | " + " | ".join(cells) + " |")
        L.append("")
    if vm and vm["figures"]:
        modes = [m for m in VM_MODES if any(m in vm["figures"][n] for n in vm["figures"])]
        L.append("**In the QEMU VM** (bench/skas-modes, `build/bench/skas-modes.json`: Debian's "
                 f"{vm.get('kernel', '7.x')} kernel with the uml-skas host module, our kernel pinned to one "
                 "CPU, and Debian sid's 7.2 UML in seccomp mode, `sid-7.2-seccomp`, pinned the same way; compare these "
                 "only with each other), median, and ratio to the VM's own kernel:")
        L.append("")
        L.append("| benchmark | " + " | ".join(modes) + " |")
        L.append("|---|" + "---|" * len(modes))
        for n in [x for x in ORDER if x in vm["figures"]]:
            L.append(f"| {LABELS.get(n, n)} | " + " | ".join(
                "n/a" if m not in vm["figures"][n] else
                fmt_ns(vm["figures"][n][m]["median_ns"]) +
                ("" if m == "host" else f" (×{fmt_ratio(vm['figures'][n][m]['ratio_to_host'])})")
                for m in modes) + " |")
        L.append("")
        L.append("![VM ratios](img/perf-vm-ratios.png)")
        L.append("")
    md = "\n".join(L)
    with open(a.md, "w") as f:
        f.write(md)

    if a.publish:
        doc, imgdir = a.publish
        try:
            text = open(doc).read()
        except OSError as e:
            die(doc, e.strerror)
        if BEGIN not in text or END not in text:
            die(doc, "the markers of the generated part are missing")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        os.makedirs(imgdir, exist_ok=True)
        for p in pngs:
            shutil.copy(p, os.path.join(imgdir, os.path.basename(p)))
        with open(doc + ".tmp", "w") as f:
            f.write(head + BEGIN + "\n" + md + "\n" + END + tail)
        os.replace(doc + ".tmp", doc)


if __name__ == "__main__":
    main()
