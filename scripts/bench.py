#!/usr/bin/python3
"""Exit-cost benchmark (`make bench`).

Boots the minimal guest in `bench` mode under QEMU + OVMF (SVM). The guest measures,
with its own TSC, the cost of an intercepted CPUID and of a hypercall round trip when
the hypervisor serves them with its full exit path ("full"), and when the backend's
empty loop serves the same exit with nothing but a RIP update ("floor": the cost of
the world switch itself on this CPU or emulator). Both run in the same boot, back to
back, so the ratio full/floor is what to compare across machines; the absolute cycle
counts under TCG mostly measure the emulator.

Prints a table and a Markdown block for README.
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "scripts", "run-qemu.py")
BENCH_LINE = re.compile(r"^\[bench\] bench: (\w+) full=(\d+) floor=(\d+) ratio=([\d.]+)",
                        re.MULTILINE)


def run_svm(iters, timeout):
    cfg = f"[vm bench]\nmemory = 16M\nkernel = guests/minimal.elf\ncmdline = bench bench_iters={iters}\n"
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = os.path.join(tmp, "bench.cfg")
        log_path = os.path.join(tmp, "serial.log")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        proc = subprocess.run([sys.executable, RUNNER, "--batch", "--config", cfg_path,
                               "--log", log_path, "--timeout", str(timeout)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        log = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
    rows = [(m[1], int(m[2]), int(m[3])) for m in BENCH_LINE.finditer(log.replace("\r", ""))]
    if proc.returncode != 0 or len(rows) != 2:
        sys.exit(f"bench: the SVM run failed (status {proc.returncode})\n{proc.stderr}\n"
                 + "\n".join(log.splitlines()[-30:]))
    return rows


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=20000, help="exits per measurement")
    p.add_argument("--timeout", type=int, default=300)
    args = p.parse_args()

    rows = run_svm(args.iters, args.timeout)
    date = datetime.date.today().isoformat()
    print(f"{'exit':<12} {'full (cycles)':>14} {'floor (cycles)':>15} {'full/floor':>11}")
    for name, full, floor in rows:
        print(f"{name:<12} {full:>14} {floor:>15} {full / floor:>11.2f}")
    print(f"\nREADME block ({date}, {machine()}):\n")
    print("| exit (SVM, QEMU TCG) | full handler | empty-loop floor | ratio |")
    print("|---|---:|---:|---:|")
    for name, full, floor in rows:
        print(f"| {name} | {full} cycles | {floor} cycles | {full / floor:.2f} |")


if __name__ == "__main__":
    main()
