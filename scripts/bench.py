#!/usr/bin/python3
"""Benchmarks (`make bench`); figures go into README with date and machine.

1. Exit cost, per backend: the minimal guest in `bench` mode times (TSC) an intercepted
   CPUID and a hypercall round trip served by the full exit path ("full"), and the same
   exits served by the backend's empty loop, which only advances RIP ("floor": the world
   switch itself on this CPU or emulator). Measured in rounds, back to back, in one boot;
   the ratio full/floor is what compares across machines. SVM runs under QEMU TCG, VMX
   under Bochs.
2. Linux boot: the guest kernel's own uptime when it runs init, booted under Kestrel (SVM,
   QEMU TCG) divided by the same for a direct QEMU boot of the same bzImage and
   initramfs, plus the VM exits by reason during that boot (Kestrel's counters).

The Bochs run and the QEMU runs go in parallel, one emulator per core; the two Linux
boots run one after the other on the same core.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNERS = {"svm": "run-qemu.py", "vmx": "run-bochs.py"}
BENCH_LINE = re.compile(r"^\[bench\] bench: (\w+) full=(\d+) floor=(\d+) ratio=([\d.]+)", re.M)
UPTIME = re.compile(r"KESTREL-LINUX-UPTIME: ([0-9.]+)")
STAT = re.compile(r"^  ([a-z-]+)\s+(\d+)$", re.M)
LINUX_VM = ("[vm linux]\nmemory = 256M\nboot = linux\nkernel = guests/bzImage\n"
            "initrd = guests/initramfs.cpio.gz\ncmdline = console=ttyS0 kestrel.poweroff\n")


def boot(backend, config, timeout):
    """Batch boot under Kestrel; returns the serial log (exits on failure)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg, log = os.path.join(tmp, "hv.cfg"), os.path.join(tmp, "serial.log")
        with open(cfg, "w") as f:
            f.write(config)
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", RUNNERS[backend]),
                               "--batch", "--config", cfg, "--log", log,
                               "--timeout", str(timeout)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        text = open(log, errors="replace").read().replace("\r", "") if os.path.exists(log) else ""
    if proc.returncode != 0:
        sys.exit(f"bench: {backend} boot failed (status {proc.returncode})\n{proc.stderr}\n"
                 + "\n".join(text.splitlines()[-30:]))
    return text


def exit_cost(backend, iters, timeout):
    cfg = ("[vm bench]\nmemory = 16M\nkernel = guests/minimal.elf\n"
           f"cmdline = bench bench_iters={iters} bench_rounds=5\n")
    rows = [(m[1], int(m[2]), int(m[3])) for m in BENCH_LINE.finditer(boot(backend, cfg, timeout))]
    if len(rows) != 2:
        sys.exit(f"bench: no exit-cost figures from the {backend} run")
    return rows


def linux_boot(timeout):
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "direct.json")
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "run-linux-direct.py"),
                               "--batch", "--quiet", "--append", "kestrel.poweroff", "--json", js,
                               "--log", os.path.join(tmp, "direct.log"), "--timeout", str(timeout),
                               "--", "-net", "none"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench: direct Linux boot failed\n{proc.stderr}")
        direct = json.load(open(js))["guest_uptime_at_init_s"]
    log = boot("svm", LINUX_VM, timeout)
    m = UPTIME.search(log)
    if not m:
        sys.exit("bench: no uptime line from the Linux boot under Kestrel")
    return float(direct), float(m[1]), {k: int(v) for k, v in STAT.findall(log)}


def machine():
    cpu = "unknown CPU"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def report(costs, linux, iters):
    date = datetime.date.today().isoformat()
    lines = [f"Measured {date} on {machine()}; {iters} exits per figure, median of 5 rounds.",
             "", "| exit | backend (emulator) | full handler | empty-loop floor | full/floor |",
             "|---|---|---:|---:|---:|"]
    for backend, rows in costs.items():
        emu = "SVM (QEMU 7.2 TCG)" if backend == "svm" else "VMX (Bochs 2.7)"
        for name, full, floor in rows:
            lines.append(f"| {name} | {emu} | {full} cycles | {floor} cycles | "
                         f"{full / floor:.2f} |")
    direct, under, exits = linux
    lines += ["", "| Linux 6.1 boot (QEMU TCG) | uptime at init |", "|---|---:|",
              f"| direct QEMU boot | {direct:.2f} s |", f"| under Kestrel (SVM) | {under:.2f} s |",
              f"| ratio | {under / direct:.2f} |", "",
              "Exits during that boot: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(exits.items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=20000, help="exits per measurement")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--json", default=os.path.join(REPO, "build", "bench.json"))
    args = p.parse_args()

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        vmx = pool.submit(exit_cost, "vmx", args.iters, args.timeout)
        svm = exit_cost("svm", args.iters, args.timeout)
        linux = linux_boot(args.timeout)
        costs = {"svm": svm, "vmx": vmx.result()}
    text = report(costs, linux, args.iters)
    print(text)
    with open(args.json, "w") as f:
        json.dump({"date": datetime.date.today().isoformat(), "machine": machine(),
                   "exit_cost": costs, "linux": {"direct_uptime_s": linux[0],
                   "kestrel_uptime_s": linux[1], "exits": linux[2]}}, f, indent=1)


if __name__ == "__main__":
    main()
