#!/usr/bin/env python3
"""summarize-profile.py LOG MD: host system calls of the UML kernel per guest
operation, from the console log of bench/profile-modes.

The log has, per mode, program and count N, lines
"PROFILE[mode prog N]:   COUNT NAME" (NAME a system call, ptrace:REQUEST or
ioctl:REQUEST of /dev/uml-skas)
and "CONSOLE: RESULT prog ns ns/op OPS".  Two counts per program; the
difference of the two runs divided by the difference of their operations
is the cost of one more operation.

With skas4, also "STOPS[prog N]: before|after fast A slow B hooked H traps T
traps_hooked TH traps_slow TS" (the module's carrier_stops around a boot of the program
alone, without strace) and "STOPS[prog N]: RESULT ...": the carrier stops
per extra operation, by kind.
"""
import re
import sys

MODES = ["skas4", "skas3", "seccomp", "ptrace"]
PROGS = {"syscall": "null syscall", "pagefault": "first-touch page fault",
         "fork_exit": "fork+exit"}
PROFILE = re.compile(r"^PROFILE\[(\w+) (\w+) (\d+)\]: (\d+) (\S+)$")
RESULT = re.compile(r"^CONSOLE\[(\w+) (\w+) (\d+)\]: RESULT \w+ [0-9.]+ ns/op (\d+)$")
STOPS = re.compile(r"^STOPS\[(\w+) (\d+)\]: (before|after) fast (\d+) slow (\d+) "
                   r"hooked \d+ traps (\d+) traps_hooked \d+(?: traps_slow (\d+))?(?: \w+ \d+)*$")
STOPS_RESULT = re.compile(r"^STOPS\[(\w+) (\d+)\]: RESULT \w+ [0-9.]+ ns/op (\d+)$")


def stop_rows(stops, stop_ops):
    """The carrier stops per extra operation of each program, by kind."""
    rows = ["Carrier stops of skas4 per guest operation (the module's carrier_stops "
            "around a boot of each program alone, without strace; difference of two "
            "counts):", "",
            "| operation | system calls (fast path) | system calls (by signal) "
            "| traps (faults and other exceptions; fast path) | traps (by signal) | all |",
            "|---|---|---|---|---|---|"]
    for prog, label in PROGS.items():
        ns = sorted(n for (p, n) in stops if p == prog)
        if len(ns) != 2:
            sys.exit(f"summarize-profile: want two stop counts of {prog}, got {ns}")
        (n1, n2), cost = ns, {}
        for n in ns:
            b, a = stops[(prog, n)].get("before"), stops[(prog, n)].get("after")
            if b is None or a is None or (prog, n) not in stop_ops:
                sys.exit(f"summarize-profile: the stop count of {prog} {n} is incomplete")
            cost[n] = [None if x is None or y is None else y - x for x, y in zip(b, a)]
        dops = stop_ops[(prog, n2)] - stop_ops[(prog, n1)]
        if dops <= 0:
            sys.exit(f"summarize-profile: {prog}: no extra operations between {n1} and {n2}")
        per = [None if x is None or y is None else (y - x) / dops
               for x, y in zip(cost[n1], cost[n2])]
        # (traps by signal: "-" from a module that did not count them)
        slow = "-" if per[3] is None else f"{per[3]:.2f}"
        rows.append(f"| {label} | {per[0]:.2f} | {per[1]:.2f} | {per[2]:.2f} | {slow} "
                    f"| {sum(x for x in per if x is not None):.2f} |")
    return rows + [""]


def main():
    log, md_out = sys.argv[1:3]
    counts = {}   # (mode, prog, n) -> {name: count}
    ops = {}      # (prog, n) -> operations the RESULT line reports
    stops = {}    # (prog, n) -> {"before"|"after": (fast, slow, traps, traps_slow or None)}
    stop_ops = {}  # (prog, n) -> operations of the stop-counting boot
    with open(log, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = PROFILE.match(line)
            if m:
                key = (m[1], m[2], int(m[3]))
                counts.setdefault(key, {})[m[5]] = int(m[4])
                continue
            m = RESULT.match(line)
            if m:
                ops[(m[2], int(m[3]))] = int(m[4])
                continue
            m = STOPS.match(line)
            if m:
                stops.setdefault((m[1], int(m[2])), {})[m[3]] = (
                    int(m[4]), int(m[5]), int(m[6]), None if m[7] is None else int(m[7]))
                continue
            m = STOPS_RESULT.match(line)
            if m:
                stop_ops[(m[1], int(m[2]))] = int(m[3])
    # The modes that ran, in the usual order (a run may have been cut short).
    ran = {k[0] for k in counts}
    modes = [m for m in MODES if m in ran]
    if not modes:
        sys.exit(f"summarize-profile: no PROFILE lines in {log}")
    rows = ["Host system calls of the UML kernel per guest operation "
            "(strace of its main thread; difference of two runs).", ""]
    for prog, label in PROGS.items():
        ns = sorted({k[2] for k in counts if k[1] == prog and k[0] == modes[0]})
        if len(ns) != 2:
            sys.exit(f"summarize-profile: want two runs of {prog}, got {ns}")
        n1, n2 = ns
        if (prog, n1) not in ops or (prog, n2) not in ops:
            sys.exit(f"summarize-profile: no RESULT line for {prog}")
        dops = ops[(prog, n2)] - ops[(prog, n1)]
        delta = {}
        for mode in modes:
            a = counts.get((mode, prog, n1))
            b = counts.get((mode, prog, n2))
            if a is None or b is None:
                sys.exit(f"summarize-profile: {mode} {prog} did not run")
            for name in set(a) | set(b):
                delta.setdefault(name, {})[mode] = (b.get(name, 0) - a.get(name, 0)) / dops
        names = sorted((n for n in delta
                        if max(abs(v) for v in delta[n].values()) >= 0.05),
                       key=lambda n: -max(delta[n].values()))
        rows += [f"**{label}** ({dops:.0f} extra operations)", "",
                 "| host call | " + " | ".join(modes) + " |",
                 "|---|" + "---|" * len(modes)]
        for n in names:
            rows.append(f"| {n} | " + " | ".join(
                f"{delta[n].get(m, 0):.2f}" for m in modes) + " |")
        rows.append("| **all** | " + " | ".join(
            f"{sum(delta[n].get(m, 0) for n in delta):.2f}" for m in modes) + " |")
        rows.append("")
    if "skas4" in modes:
        rows += stop_rows(stops, stop_ops)
    with open(md_out, "w") as f:
        f.write("\n".join(rows))


if __name__ == "__main__":
    main()
