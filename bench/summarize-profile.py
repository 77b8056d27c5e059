#!/usr/bin/env python3
"""summarize-profile.py LOG MD: host system calls of the UML kernel per guest
operation, from the console log of bench/profile-modes.

The log has, per mode, program and count N, lines
"PROFILE[mode prog N]:   COUNT NAME" (NAME a system call, ptrace:REQUEST or
ioctl:REQUEST of /dev/uml-skas)
and "CONSOLE: RESULT prog ns ns/op OPS".  Two counts per program; the
difference of the two runs divided by the difference of their operations
is the cost of one more operation.
"""
import re
import sys

MODES = ["skas4", "skas3", "seccomp", "ptrace"]
PROGS = {"syscall": "null syscall", "pagefault": "first-touch page fault",
         "fork_exit": "fork+exit"}
PROFILE = re.compile(r"^PROFILE\[(\w+) (\w+) (\d+)\]: (\d+) (\S+)$")
RESULT = re.compile(r"^CONSOLE\[(\w+) (\w+) (\d+)\]: RESULT \w+ [0-9.]+ ns/op (\d+)$")


def main():
    log, md_out = sys.argv[1:3]
    counts = {}   # (mode, prog, n) -> {name: count}
    ops = {}      # (prog, n) -> operations the RESULT line reports
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
    with open(md_out, "w") as f:
        f.write("\n".join(rows))


if __name__ == "__main__":
    main()
