#!/usr/bin/env python3
"""summarize-modes.py LOG TAG JSON MD [options]: turns the
console log of bench/skas-modes into per-mode medians, spreads and ratios.

The log has lines "BENCH[who]: RESULT name ns ns/op ops" (who: host,
skas4, skas3, seccomp, ptrace: our kernel; skas4-signals: skas4 with the
module's fast stops off; skas4-1carrier: skas4 with one carrier per vCPU; sid-7.2-seccomp: Debian sid's UML in
seccomp mode; skas4-2cpu, seccomp-2cpu: our kernel unpinned on two CPUs), one per benchmark per round.  Writes the figures
as JSON and a markdown table with the ratios the UML-kernel issue sets
targets for (reported, never asserted).  Options:

--compile-runs N, --compile-set SET, --compile-modes M,...: with N > 0
    the log also has "BENCH[mode]: RESULT compile ns ns/op 1" lines of the
    compile workload (make -j1 SET=SET of bench/compile) in each of the
    modes (of COMPILE_MODES; default: all of them).
--extra R,...: the runs beyond PINNED that the log must have, of
    skas4-signals, skas4-1carrier, skas4-2cpu and seccomp-2cpu (default: all; the
    quick run has none); their tables are written only for those.
--scaling-runs N, --scaling-set SET, --scaling-modes M,...,
--scaling-grid CxJ,...: with N > 0 the log also has the vCPU scaling
    runs of vm-bench-run --scaling: "BENCH[scale-host-jJ]" (the VM's own
    kernel, make -jJ) and "BENCH[scale-MODE-Cc-jJ]" (our kernel with C
    vCPUs, make -jJ), N of each; written as throughput ratios to one vCPU
    at -j1, beside the VM's kernel's own -jJ/-j1.
"""
import argparse
import json
import re
import statistics
import sys

PINNED = ["host", "skas4", "skas3", "seccomp", "ptrace", "sid-7.2-seccomp"]
TWO_CPUS = ["skas4-2cpu", "seccomp-2cpu"]
EXTRAS = ["skas4-signals", "skas4-1carrier"] + TWO_CPUS
# The mode each run must report in /proc/cpuinfo: upstream's kernel says
# "skas" whatever its mode (seccomp=on makes it seccomp or fail to boot).
WANT_MODE = {"skas4": "skas4", "skas4-signals": "skas4", "skas4-1carrier": "skas4", "skas3": "skas3", "seccomp": "seccomp", "ptrace": "ptrace",
             "sid-7.2-seccomp": "skas", "skas4-2cpu": "skas4", "seccomp-2cpu": "seccomp"}
NAMES = {
    "syscall": "null syscall",
    "fork_exit": "fork+exit",
    "pagefault": "first-touch page fault",
    "pipe": "pipe round trip",
}
COMPILE_MODES = ["skas4", "skas3", "seccomp", "ptrace"]
SCALING_MODES = ["skas4", "skas3", "seccomp"]
GRID = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
# The compile ratios, each where both of its modes ran; the table shows
# the first three.
COMPILE_RATIOS = [("skas4", "seccomp"), ("skas4", "skas3"), ("skas3", "seccomp"), ("skas3", "ptrace")]
LINE = re.compile(r"^BENCH\[([\w.-]+)\]: RESULT (\w+) ([0-9.]+) ns/op (\d+)$")
MODE = re.compile(r"^BENCH\[([\w.-]+)\]: UML-BENCH: mode (\S+)")
# vm-bench-run's count of the module's carrier stops around a compile run.
STOPS = re.compile(r"^BENCH\[([\w.-]+)\]: CARRIER-STOPS (before|after) fast (\d+) slow (\d+) "
                   r"hooked \d+ traps (\d+) traps_hooked \d+(?: traps_slow (\d+))?(?: \w+ \d+)*$")
# /bench-compile-init's first line.
CCMODE = re.compile(r"^BENCH\[([\w.-]+)\]: UML-BENCH: kernel \S+ mode (\S+) gcc \S+ vcpus (\d+)")


def csv(text):
    return [x for x in text.split(",") if x]


def parse_args():
    ap = argparse.ArgumentParser(prog="summarize-modes.py")
    for name in ("log", "tag", "json_out", "md_out"):
        ap.add_argument(name)
    ap.add_argument("--compile-runs", type=int, default=0)
    ap.add_argument("--compile-set", default="")
    ap.add_argument("--compile-modes", type=csv, default=COMPILE_MODES)
    ap.add_argument("--extra", type=csv, default=EXTRAS)
    ap.add_argument("--scaling-runs", type=int, default=0)
    ap.add_argument("--scaling-set", default="")
    ap.add_argument("--scaling-modes", type=csv, default=SCALING_MODES)
    ap.add_argument("--scaling-grid", type=csv, default=["1x1", "1x2", "2x1", "2x2"])
    return ap.parse_args()


def scaling_plan(args):
    """The runs the scaling part must have: {label: (mode, vcpus, jobs)}."""
    bad = [m for m in args.scaling_modes if m not in SCALING_MODES]
    if bad or not args.scaling_modes:
        sys.exit(f"summarize-modes: bad scaling modes {args.scaling_modes} (known: {SCALING_MODES})")
    cells = []
    for g in args.scaling_grid:
        m = GRID.match(g)
        if not m:
            sys.exit(f"summarize-modes: bad scaling grid cell '{g}' (want CxJ, e.g. 2x2)")
        cells.append((int(m[1]), int(m[2])))
    if (1, 1) not in cells:
        sys.exit("summarize-modes: the scaling grid needs 1x1, the reference")
    plan = {f"scale-host-j{j}": ("host", None, j) for j in sorted({j for _c, j in cells})}
    for mode in args.scaling_modes:
        for c, j in cells:
            plan[f"scale-{mode}-{c}c-j{j}"] = (mode, c, j)
    return plan, cells


def main():
    args = parse_args()
    log, tag, json_out, md_out = args.log, args.tag, args.json_out, args.md_out
    ccruns, ccset, extra = args.compile_runs, args.compile_set, args.extra
    scplan, sccells = scaling_plan(args) if args.scaling_runs else ({}, [])
    bad = [x for x in extra if x not in EXTRAS]
    if bad:
        sys.exit(f"summarize-modes: unknown runs {bad} (known: {EXTRAS})")
    if any(x in extra for x in TWO_CPUS) and not all(x in extra for x in TWO_CPUS):
        sys.exit(f"summarize-modes: the two-CPU runs come together: {TWO_CPUS}")
    ccmodes_arg = args.compile_modes
    bad = [m for m in ccmodes_arg if m not in COMPILE_MODES]
    ccmodes_run = [m for m in COMPILE_MODES if m in ccmodes_arg]
    if bad or not ccmodes_run:
        sys.exit(f"summarize-modes: bad compile modes {ccmodes_arg} (known: {COMPILE_MODES})")
    who_all = PINNED + extra
    samples, modes, ccmodes, stops, before = {}, {}, {}, {}, {}
    with open(log, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = STOPS.match(line)
            if m:
                # (traps by signal: a module that counts them)
                now = tuple(int(x) for x in m.groups()[2:] if x is not None)
                if m[2] == "before":
                    before[m[1]] = now
                elif m[1] in before:
                    stops.setdefault(m[1], []).append(
                        [a - b for a, b in zip(now, before.pop(m[1]))])
            m = LINE.match(line)
            if m:
                samples.setdefault((m[1], m[2]), []).append(float(m[3]))
            m = MODE.match(line)
            if m:
                modes[m[1]] = m[2]
            m = CCMODE.match(line)
            if m:
                ccmodes.setdefault(m[1], set()).add((m[2], int(m[3])))
    for who in who_all[1:]:
        if modes.get(who) != WANT_MODE[who]:
            sys.exit(f"summarize-modes: the {who} run reported mode "
                     f"'{modes.get(who)}' (see {log})")

    # Each compile run of our kernel says its mode and vCPUs.
    want_cc = {who: (WANT_MODE[who], 1) for who in (ccmodes_run if ccruns else [])}
    want_cc.update({who: (mode, c) for who, (mode, c, _j) in scplan.items() if mode != "host"})
    for who, want in want_cc.items():
        if ccmodes.get(who) != {want}:
            sys.exit(f"summarize-modes: the {who} compile runs reported (mode, vcpus) "
                     f"{sorted(ccmodes.get(who, []))}, not {want} (see {log})")

    fig = {}
    for (who, name), vals in samples.items():
        fig.setdefault(name, {})[who] = {
            "median_ns": statistics.median(vals),
            "min_ns": min(vals),
            "max_ns": max(vals),
            "runs": len(vals),
        }
    missing = [(n, w) for n in NAMES for w in who_all if w not in fig.get(n, {})]
    if ccruns:
        missing += [("compile", w) for w in ccmodes_run
                    if fig.get("compile", {}).get(w, {}).get("runs") != ccruns]
    missing += [("compile", w) for w in scplan
                if fig.get("compile", {}).get(w, {}).get("runs") != args.scaling_runs]
    if missing:
        sys.exit(f"summarize-modes: no figures for {missing} (see {log})")

    def med(name, who):
        return fig[name][who]["median_ns"]

    ratios = {
        n: {
            "skas3/ptrace": med(n, "skas3") / med(n, "ptrace"),
            "skas3/seccomp": med(n, "skas3") / med(n, "seccomp"),
            "skas3/sid-7.2-seccomp": med(n, "skas3") / med(n, "sid-7.2-seccomp"),
            "skas4/skas3": med(n, "skas4") / med(n, "skas3"),
            "skas4/seccomp": med(n, "skas4") / med(n, "seccomp"),
            "skas4/sid-7.2-seccomp": med(n, "skas4") / med(n, "sid-7.2-seccomp"),
        }
        for n in NAMES
    }
    for n in NAMES:
        if "skas4-2cpu" in extra:
            ratios[n]["skas4-2cpu/seccomp-2cpu"] = med(n, "skas4-2cpu") / med(n, "seccomp-2cpu")
        if "skas4-signals" in extra:
            ratios[n]["skas4/skas4-signals"] = med(n, "skas4") / med(n, "skas4-signals")
        if "skas4-1carrier" in extra:
            ratios[n]["skas4/skas4-1carrier"] = med(n, "skas4") / med(n, "skas4-1carrier")
    if ccruns:
        ratios["compile"] = {
            f"{a}/{b}": med("compile", a) / med("compile", b)
            for a, b in COMPILE_RATIOS if a in ccmodes_run and b in ccmodes_run
        }
    scaling = None
    if scplan:
        def thr(ref, who):
            return med("compile", ref) / med("compile", who)
        scaling = {"runs": args.scaling_runs, "set": args.scaling_set, "grid": args.scaling_grid,
                   "modes": args.scaling_modes, "throughput": {}}
        tp = scaling["throughput"]
        tp["host"] = {f"j{j}": thr("scale-host-j1", f"scale-host-j{j}")
                      for j in sorted({j for _c, j in sccells})}
        for mode in args.scaling_modes:
            tp[mode] = {f"{c}c-j{j}": thr(f"scale-{mode}-1c-j1", f"scale-{mode}-{c}c-j{j}")
                        for c, j in sccells}
    # Carrier stops per skas4 compile run: system calls (fast path and by
    # signal) and traps (fast path and by signal), medians over the runs.
    kinds = ("syscalls_fast", "syscalls_signal", "traps_fast", "traps_signal")
    ccstops = {
        who: {k: statistics.median(r[i] for r in runs)
              for i, k in enumerate(kinds) if all(len(r) > i for r in runs)}
        for who, runs in stops.items() if WANT_MODE.get(who) == "skas4"
    }
    with open(json_out, "w") as f:
        json.dump({"host_kernel": tag, "figures": fig, "ratios": ratios,
                   "compile_runs": ccruns, "compile_set": ccset, "scaling": scaling,
                   "compile_carrier_stops": ccstops},
                  f, indent=2, sort_keys=True)

    rows = [
        f"Process modes, one VM on Debian's {tag} kernel (TCG), the same "
        "build/uml/linux pinned to one CPU (and Debian sid's UML 7.2 in seccomp "
        "mode, pinned the same way); median of "
        f"{fig['syscall']['host']['runs']} rounds (min-max), ns per operation.",
        "",
        "| benchmark | host (VM) | skas4 | skas3 | seccomp | ptrace | sid 7.2 seccomp | "
        "skas4/skas3 | skas4/seccomp | skas4/sid seccomp | skas3/ptrace | "
        "skas3/seccomp | skas3/sid seccomp |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    def cell(n, who):
        s = fig[n][who]
        return f"{s['median_ns']:.0f} ({s['min_ns']:.0f}-{s['max_ns']:.0f})"

    for n, label in NAMES.items():
        cells = [cell(n, who) for who in PINNED]
        r = ratios[n]
        rows.append(f"| {label} | " + " | ".join(cells) +
                    f" | {r['skas4/skas3']:.2f} | {r['skas4/seccomp']:.2f} |"
                    f" {r['skas4/sid-7.2-seccomp']:.2f}"
                    f" | {r['skas3/ptrace']:.2f} | {r['skas3/seccomp']:.2f} |"
                    f" {r['skas3/sid-7.2-seccomp']:.2f} |")
    if "skas4-signals" in extra:
        rows += [
            "",
            "skas4's fast stops (ftrace hooks on force_sig_info, force_sig_fault and force_sig_pkuerr) "
            "against the same kernel and module with both switched off, every stop "
            "by signal (pinned):",
            "",
            "| benchmark | skas4 | skas4, stops by signal | fast/signal |",
            "|---|---|---|---|",
        ]
        for n, label in NAMES.items():
            rows.append(f"| {label} | {cell(n, 'skas4')} | {cell(n, 'skas4-signals')} | "
                        f"{ratios[n]['skas4/skas4-signals']:.2f} |")
    if "skas4-1carrier" in extra:
        rows += [
            "",
            "skas4's pool of carriers (skas4_carriers=4, the default) against one "
            "carrier per vCPU (skas4_carriers=1), the same kernel and module (pinned):",
            "",
            "| benchmark | skas4 | skas4, one carrier | pool/one |",
            "|---|---|---|---|",
        ]
        for n, label in NAMES.items():
            rows.append(f"| {label} | {cell(n, 'skas4')} | {cell(n, 'skas4-1carrier')} | "
                        f"{ratios[n]['skas4/skas4-1carrier']:.2f} |")
    if "skas4-2cpu" in extra:
        rows += [
            "",
            "Unpinned on two CPUs of the same VM (the vCPU thread and its carrier or "
            "stub may run on different CPUs), skas4 with carrier_spin_us=50:",
            "",
            "| benchmark | skas4, 2 CPUs | seccomp, 2 CPUs | skas4/seccomp, 2 CPUs |",
            "|---|---|---|---|",
        ]
        for n, label in NAMES.items():
            rows.append(f"| {label} | {cell(n, 'skas4-2cpu')} | {cell(n, 'seccomp-2cpu')} | "
                        f"{ratios[n]['skas4-2cpu/seccomp-2cpu']:.2f} |")
    if ccruns:
        def sec(who):
            s = fig["compile"][who]
            return (f"{s['median_ns'] / 1e9:.1f} ({s['min_ns'] / 1e9:.1f}-"
                    f"{s['max_ns'] / 1e9:.1f})")
        c = ratios["compile"]
        shown = [f"{a}/{b}" for a, b in COMPILE_RATIOS[:3] if f"{a}/{b}" in c]
        cols = ccmodes_run + shown
        rows += [
            "",
            f"The compile workload of bench/compare, scaled down (make -j1 SET={ccset} "
            "of bench/compile, gcc in the debian image), pinned like the first table; "
            f"median of {ccruns} runs (min-max), seconds:",
            "",
            "| workload | " + " | ".join(cols) + " |",
            "|---|" + "---|" * len(cols),
            "| compile | " + " | ".join([sec(m) for m in ccmodes_run]
                                        + [f"{c[r]:.2f}" for r in shown]) + " |",
        ]
        if "skas4" in ccstops:
            st = ccstops["skas4"]
            rows += ["", "Carrier stops of one skas4 compile run (the module's carrier_stops "
                     "before and after it, boot and power-off included; median): "
                     f"{st['syscalls_fast']:.0f} system calls by the fast path, "
                     f"{st['syscalls_signal']:.0f} by signal, {st['traps_fast']:.0f} traps "
                     "(page faults and other exceptions) by the fast path"
                     + (f", {st['traps_signal']:.0f} by signal." if "traps_signal" in st
                        else ".")]
    if scaling:
        rows += scaling_rows(scaling, sccells, lambda who: fig["compile"][who])
    pf, fk = ratios["pagefault"], ratios["fork_exit"]
    rows += [
        "",
        "Targets: page fault skas3/ptrace <= 0.33 "
        f"({'met' if pf['skas3/ptrace'] <= 1 / 3 else 'missed'}: {pf['skas3/ptrace']:.2f}) "
        f"and skas3/seccomp < 1 ({'met' if pf['skas3/seccomp'] < 1 else 'missed'}: "
        f"{pf['skas3/seccomp']:.2f}); fork+exit skas3/ptrace <= 0.5 "
        f"({'met' if fk['skas3/ptrace'] <= 0.5 else 'missed'}: {fk['skas3/ptrace']:.2f}).",
        "skas4 faster than seccomp on every row (skas4/seccomp < 1): "
        + ", ".join(f"{NAMES[n]} {'met' if ratios[n]['skas4/seccomp'] < 1 else 'missed'} "
                    f"({ratios[n]['skas4/seccomp']:.2f})" for n in NAMES) + ".",
    ]
    if ccruns and "skas4/seccomp" in ratios["compile"]:
        cr = ratios["compile"]["skas4/seccomp"]
        rows.append(f"Compile skas4/seccomp <= 0.8: {'met' if cr <= 0.8 else 'missed'} "
                    f"({cr:.2f}).")
    with open(md_out, "w") as f:
        f.write("\n".join(rows) + "\n")


def scaling_rows(scaling, cells, figure):
    """The scaling table: a row per kernel and vCPU count, a column per
    jobs count, seconds (min-max) and throughput to one vCPU at -j1."""
    jobs = sorted({j for _c, j in cells})
    tp = scaling["throughput"]

    def cell(who, ratio):
        s = figure(who)
        return (f"{s['median_ns'] / 1e9:.1f} ({s['min_ns'] / 1e9:.1f}-"
                f"{s['max_ns'] / 1e9:.1f}), {ratio:.2f}x")
    rows = [
        "",
        f"vCPU scaling in the same VM: the compile workload (make -jJ SET={scaling['set']}), "
        "unpinned on the VM's two CPUs, the VM's own kernel in a chroot of the compile "
        f"image and our kernel with 1 or 2 vCPUs; median of {scaling['runs']} interleaved "
        "runs (min-max), seconds, and throughput relative to one vCPU at `-j1` (the "
        "VM's kernel: to itself at `-j1`):",
        "",
        "| contender | " + " | ".join(f"`-j{j}`" for j in jobs) + " |",
        "|---|" + "---|" * len(jobs),
        "| the VM's kernel (2 CPUs) | " + " | ".join(
            cell(f"scale-host-j{j}", tp["host"][f"j{j}"]) for j in jobs) + " |",
    ]
    for mode in scaling["modes"]:
        for c in sorted({c for c, _j in cells}):
            rows.append(f"| {mode}, {c} vCPU{'s' if c > 1 else ''} | " + " | ".join(
                cell(f"scale-{mode}-{c}c-j{j}", tp[mode][f"{c}c-j{j}"])
                if (c, j) in cells else "n/a" for j in jobs) + " |")
    top = max(cells)
    if top != (1, 1) and f"j{top[1]}" in tp["host"] and tp["host"][f"j{top[1]}"] > 0:
        hr = tp["host"][f"j{top[1]}"]
        rows += ["", f"{top[0]} vCPUs at `-j{top[1]}` against 1 vCPU at `-j1`, within 15 % of the "
                 f"VM's kernel's own `-j{top[1]}`/`-j1` ({hr:.2f}x): " + ", ".join(
                     f"{mode} {'met' if tp[mode][f'{top[0]}c-j{top[1]}'] >= 0.85 * hr else 'missed'} "
                     f"({tp[mode][f'{top[0]}c-j{top[1]}']:.2f}x)" for mode in scaling["modes"]) + "."]
    return rows


if __name__ == "__main__":
    main()
