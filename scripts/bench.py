#!/usr/bin/python3
"""Benchmarks (`make bench`); figures go into README with date and machine.

    bench.py [--only exits|kut|linux|virtio|net|trace|smp|density ...] [--pairs N] [--kut-rounds N] [--iters N]

1. exits: exit cost, per backend. The minimal guest in `bench` mode times (TSC) an
   intercepted CPUID and a hypercall round trip served by the full exit path ("full"),
   and the same exits served by the backend's empty loop, which only advances RIP
   ("floor": the world switch itself on this CPU or emulator). Measured in rounds, back
   to back, in one boot; the ratio full/floor is what compares across machines. SVM runs
   under QEMU TCG, VMX under Bochs.
2. kut: kvm-unit-tests' own x86/vmexit.flat (build/kvm-unit-tests, `make kut`), its
   `cpuid`, `vmcall`, `mov_from_cr8`, `mov_to_cr8`, `inl_from_pmtimer` and (2 CPUs)
   `ipi` and `ple_round_robin` figures (an IPI round trip; a token passed between two
   PAUSE spinners): TSC cycles per iteration, as it prints them ("cpuid 1234"). Each round
   boots it under Kestrel on SVM (QEMU TCG, one VM alone in the boot: `boot = multiboot`,
   an env file with NR_CPUS/MEMSIZE as initrd, made by tests/kut/kut.py) and right after
   directly under the same QEMU (`-kernel vmexit.flat`, no hypervisor), and under Kestrel
   on VMX (Bochs); medians over the rounds. There is no bare-Bochs reference: Bochs cannot
   boot a Multiboot kernel without a bootloader.
4. virtio: virtio-blk sequential read throughput of a Linux guest (all of /dev/vda, N
   passes, each read through the page cache, dropped first, and with O_DIRECT) divided
   by the same guest's copy throughput for a file in RAM,
   with VIRTIO_F_EVENT_IDX offered and withheld (`event-idx = off`); virtio-blk exits
   (notifications, plus one EOI per interrupt) per MiB read, from two boots that differ
   only in N (1 and 1 + EXTRA passes): (exits of the longer boot - exits of the shorter)
   / MiB of the extra passes. SVM (QEMU TCG), medians of
   --io-rounds rounds.
5. net: two Linux VMs on the virtual switch (SVM): 16 MiB over TCP from one to the
   other (busybox nc running dd, 64 KiB a write, and cat; timed by the receiver from
   the connection to the stream's end) divided by the same transfer over the
   sender's own loopback device; virtio-net exits (notifications plus interrupts, both
   VMs, both queues) per MiB moved; EVENT_IDX on and off; --net-rounds rounds, medians.
6. trace: what the exit trace costs while no recording runs: the exit-cost figures of
   part 1 from the default build (flight recorder on, as by default; and off,
   `flight-recorder = off`) and from a `make TRACE=0` build, booted in turn,
   --trace-rounds rounds on each backend; medians and their ratios. Bochs's
   TSC counts the instructions it runs, the hypervisor's included, so its figures do not
   move with the host's load and the VMX ratio is the cost in instructions.
7. smp: host CPUs at work (SVM, QEMU TCG, after the other parts, with no other emulator
   running): two CPU-bound VMs (the chaos guest's victim, 1 vCPU each, checking a fixed
   STOP_KIB of RAM patterns, then powering off) booted with -smp 1, 2 and 4; the time the
   pair takes is the later of the two VMs' own "done in T ms" (guest TSC, which under TCG
   runs with the host's clock); speed-up = time on -smp 1 / time on -smp N, and on -smp 1
   the earlier VM's time over the later's (fairness: 1 when they finish together); and
   three such VMs on -smp 2, the earliest time over the latest; --smp-rounds rounds,
   medians.
8. density (SVM, QEMU TCG, 2 GiB machine, -smp 2, alone like smp): one boot of 64
   minimal VMs (2 MiB, one 1 ms tick each; 64 is hv.cfg's limit) and one of DENSITY_LINUX
   Linux VMs of 128 MiB (kestrel.poweroff): how many the loader fitted, how many ran to
   completion, and the hypervisor's own memory per VM beyond guest RAM (its boot line).
3. linux: Linux's own uptime when it runs init, booted under Kestrel (SVM, QEMU TCG)
   divided by the same for a direct QEMU boot of the same bzImage and initramfs, in N
   pairs (direct boot then Kestrel boot, back to back); every pair and the median ratio,
   plus the VM exits by reason and the top ports, MSRs and MMIO pages of the Kestrel boot
   of the median pair (Kestrel's batch-end statistics).

At most two emulators run at a time: one lane runs the QEMU boots one after the other,
the other the Bochs boots. Logs go to build/bench/, figures to build/bench.json.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "kut"))
import kut  # noqa: E402  (tests/kut/kut.py: ESP and config of kvm-unit-tests VMs)

RUNNERS = {"svm": "run-qemu.py", "vmx": "run-bochs.py"}
EMULATOR = {"svm": "SVM (QEMU 7.2 TCG)", "vmx": "VMX (Bochs 2.7)"}
WORK = Path(REPO) / "build" / "bench"
ESP = WORK / "esp"         # a copy of build/esp taken at start: one hv.efi for the whole run
BENCH_LINE = re.compile(r"^\[bench\] bench: (\w+) full=(\d+) floor=(\d+) ratio=([\d.]+)", re.M)
UPTIME = re.compile(r"KESTREL-LINUX-UPTIME: ([0-9.]+)")
LINUX_VM = ("[vm linux]\nmemory = 256M\nboot = linux\nkernel = guests/bzImage\n"
            "initrd = guests/initramfs.cpio.gz\ncmdline = console=ttyS0 kestrel.poweroff\n")

IO_LINE = re.compile(r"KESTREL-LINUX-BENCH-IO: passes (\d+) bytes (\d+) blk_cs (\d+) "
                     r"mem_cs (\d+) direct_cs (\d+)")
IO_VM = ("[vm io]\nmemory = 256M\nboot = linux\nkernel = guests/bzImage\n"
         "initrd = guests/initramfs.cpio.gz\ndisk = images/data.img\n{extra}"
         "cmdline = console=ttyS0 kestrel.bench-io={passes} kestrel.poweroff\n")
IO_EXTRA = 4               # passes the longer boot adds

NET_VM = ("[vm {name}]\nmemory = 256M\nboot = linux\nkernel = guests/bzImage\n"
          "initrd = guests/initramfs.cpio.gz\nnet = on\n{extra}cmdline = console=ttyS0 {opts} "
          "kestrel.poweroff\n\n")
NET_RX = re.compile(r"KESTREL-LINUX-NET-RX-TIME: (\d+) cs")   # the receiver's, to its EOF
NET_LO = re.compile(r"KESTREL-LINUX-NET-LO: bytes (\d+) cs (\d+)")
NET_MIB = 16

SMP_VM = ("[vm {name}]\nmemory = 16M\nkernel = guests/chaos.elf\n"
          "cmdline = victim report_ms=100000 stop_kib={kib}\n\n")
SMP_DONE = re.compile(r"^\[(\w+)\] victim: done: (\d+) KiB in (\d+) ms: errors=0 stray_events=0",
                      re.M)
SMP_KIB = 12 * 1024 * 1024   # 12 GiB checked per VM: about 8 s alone on this machine
SMP_CPUS = (1, 2, 4)

DENSITY_LINUX = 16          # more than fit in 2 GiB: the loader refuses the rest
BUILT = re.compile(r"^kestrel: (\d+) VMs built: (\d+) KiB of guest RAM, (\d+) KiB for the "
                   r"hypervisor \((\d+) KiB a VM\)", re.M)

KUT_TESTS = ("cpuid", "vmcall", "mov_from_cr8", "mov_to_cr8", "inl_from_pmtimer")
KUT_SMP_TESTS = ("ipi", "ple_round_robin")     # on 2 vCPUs, one run
KUT_FIGURE = re.compile(r"^(\w+) (\d+)$")
KUT_TIMEOUT = 300          # seconds per boot on QEMU (Bochs: x3, as the kut suite)


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def boot(backend, config, timeout, esp=ESP, smp=1, check=True):
    """Batch boot under Kestrel; returns the serial log (exits on failure, unless not
    `check`: then some VMs may not have ended well)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg, slog = os.path.join(tmp, "hv.cfg"), os.path.join(tmp, "serial.log")
        with open(cfg, "w") as f:
            f.write(config)
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", RUNNERS[backend]),
                               "--batch", "--esp", str(esp), "--config", cfg, "--log", slog,
                               "--timeout", str(timeout), "--smp", str(smp)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        text = open(slog, errors="replace").read().replace("\r", "") if os.path.exists(slog) else ""
    if proc.returncode != 0 and (check or not text):
        sys.exit(f"bench: {backend} boot failed (status {proc.returncode})\n{proc.stderr}\n"
                 + "\n".join(text.splitlines()[-30:]))
    return text


# ------------------------------------------------------------------ 1. exit cost

def exit_cost(backend, iters, timeout, esp=ESP, hv_cfg=""):
    cfg = (hv_cfg + "[vm bench]\nmemory = 16M\nkernel = guests/minimal.elf\n"
           f"cmdline = bench bench_iters={iters} bench_rounds=5\n")
    rows = [(m[1], int(m[2]), int(m[3]))
            for m in BENCH_LINE.finditer(boot(backend, cfg, timeout, esp))]
    if len(rows) != 2:
        sys.exit(f"bench: no exit-cost figures from the {backend} run")
    log(f"exit cost [{backend}]: " + ", ".join(f"{n} {f}/{fl}" for n, f, fl in rows))
    return rows


# ------------------------------------------------------------------ 6. trace cost

def trace0_esp():
    """The run's ESP with a `make TRACE=0` hypervisor in it."""
    t0 = WORK / "trace0"
    subprocess.run(["make", "-s", "-C", REPO, "TRACE=0", f"B={t0}", f"{t0}/hv.efi"],
                   check=True, stdout=subprocess.DEVNULL)
    esp0 = WORK / "esp-trace0"
    shutil.rmtree(esp0, ignore_errors=True)
    shutil.copytree(ESP, esp0)
    shutil.copy(t0 / "hv.efi", esp0 / "EFI" / "BOOT" / "BOOTX64.EFI")
    return esp0


TRACE_MODES = (("on", "ESP", ""),                    # the default: flight recorder on
               ("quiet", "ESP", "[hypervisor]\nflight-recorder = off\n"),
               ("off", "esp0", ""))                   # make TRACE=0


def trace_rounds(backend, esp0, rounds, iters, timeout):
    """Full-handler cycles per exit kind: the default build with its flight recorder on
    and off, and TRACE=0, in turn."""
    runs = {mode: [] for mode, _, _ in TRACE_MODES}
    for i in range(rounds):
        for mode, which, hv_cfg in TRACE_MODES:
            rows = exit_cost(backend, iters, timeout, ESP if which == "ESP" else esp0, hv_cfg)
            runs[mode].append({name: (full, floor) for name, full, floor in rows})
        log(f"trace cost [{backend}] round {i + 1}: flight recorder on {runs['on'][-1]}, "
            f"off {runs['quiet'][-1]}, TRACE=0 {runs['off'][-1]}")
    return runs


# ------------------------------------------------------------------ 2. vmexit.flat

def kut_tests():
    """The two vmexit.flat VMs: the single-CPU tests in one run, `ipi` on 2 CPUs."""
    flat = kut.KUT_DIR / "x86" / "vmexit.flat"
    if not flat.is_file():
        sys.exit(f"bench: {flat} missing: run `make kut`")
    return {"vmexit": kut.KutTest("vmexit", "vmexit.flat", 1, " ".join(KUT_TESTS)),
            "vmexit_ipi": kut.KutTest("vmexit_ipi", "vmexit.flat", 2,
                                      " ".join(KUT_SMP_TESTS))}


def parse_vmexit(lines):
    """vmexit.flat's figures: {"cpuid": 1234, ...; "ipi": ..., "ipi.ipi": ...}. The
    indented "  ipi ipi N" / "  eoi ipi N" lines are the IPI's send and EOI parts."""
    out = {}
    for line in lines:
        m = re.match(r"^  (ipi|eoi) (\w+) (\d+)$", line)
        if m:
            out[f"{m[2]}.{m[1]}"] = int(m[3])
            continue
        m = KUT_FIGURE.match(line.strip())
        if m and (m[1] in KUT_TESTS or m[1] in KUT_SMP_TESTS):
            out[m[1]] = int(m[2])
    return out


def kut_kestrel(backend, test, esp, workdir, timeout=None):
    """One boot with vmexit.flat alone under Kestrel: (figures, notes)."""
    # kut.Boot scales the timeout it is given for the backend (Bochs: x3).
    scale = kut.harness.TIMEOUT_SCALE * kut.harness.BACKENDS[backend].scale
    timeout = (timeout or KUT_TIMEOUT * scale) / scale
    b = kut.Boot(backend, [test], esp, workdir, timeout=timeout).run()
    v = b.verdicts()[test.name]
    figures = parse_vmexit(v.lines)
    notes = {}
    if any(x.strip() == "PM timer port is 0" for x in v.lines):
        # No PM timer block in the FADT: vmexit.flat reads port 0 and prints this line
        # on every iteration, so the figure would be mostly UART output.
        figures.pop("inl_from_pmtimer", None)
        notes["inl_from_pmtimer"] = "no PM timer in the FADT"
    for a in test.args.split():
        if a not in figures and a not in notes:
            notes[a] = f"{v.verdict}: {v.detail}" if v.verdict != "pass" else "no figure"
    return figures, notes


def kut_bare(test, workdir):
    """vmexit.flat directly under QEMU TCG (-kernel), as kvm-unit-tests' own runner does."""
    figures, notes = {}, {}
    args = test.args.split()
    # vmexit.flat runs its tests in its own order, not the arguments'; without a
    # hypervisor vmcall raises #UD, which ends the run: it gets a run of its own.
    runs = [[a for a in args if a != "vmcall"], [a for a in args if a == "vmcall"]]
    for i, run in enumerate(r for r in runs if r):
        f, n = _kut_bare_run(test, run, workdir / f"run-{i}")
        figures.update(f)
        notes.update(n)
    return figures, notes


def _kut_bare_run(test, args, workdir):
    workdir.mkdir(parents=True, exist_ok=True)
    slog = workdir / "serial.log"
    machine = "pc,pit=off" if test.smp > 1 else "pc"   # unittests.cfg's qemu_params (ipi)
    cmd = ["qemu-system-x86_64", "-machine", machine, "-cpu", "max", "-m", "256",
           "-smp", str(test.smp), "-kernel", str(test.flat), "-append", " ".join(args),
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", "-display", "none",
           "-nodefaults", "-no-reboot", "-serial", f"file:{slog}"]
    (workdir / "cmd.txt").write_text(" ".join(cmd) + "\n")
    try:
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=KUT_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    lines = slog.read_text(errors="replace").replace("\r", "").splitlines() if slog.exists() else []
    figures = parse_vmexit(lines)
    notes = {}
    for a in args:
        if a not in figures:
            ud = any("#UD" in x for x in lines)
            notes[a] = ("#UD: nothing answers VMCALL without a hypervisor" if ud
                        else f"no figure (QEMU status {rc})")
    return figures, notes


def kut_qemu_lane(rounds, esp):
    """SVM: each round boots under Kestrel then bare QEMU, back to back; `ipi` once."""
    tests = kut_tests()
    runs = {"svm": [], "bare": []}
    notes = {"svm": {}, "bare": {}}
    for r in range(rounds):
        figs, knotes = kut_kestrel("svm", tests["vmexit"], esp, WORK / "kut" / f"svm-{r}")
        runs["svm"].append(figs)
        notes["svm"].update(knotes)
        bfigs, bnotes = kut_bare(tests["vmexit"], WORK / "kut" / f"bare-{r}")
        runs["bare"].append(bfigs)
        notes["bare"].update(bnotes)
        log(f"vmexit round {r + 1}/{rounds}: Kestrel-SVM {figs}; bare QEMU {bfigs}")
    figs, knotes = kut_kestrel("svm", tests["vmexit_ipi"], esp, WORK / "kut" / "svm-ipi")
    runs["svm"].append(figs)
    notes["svm"].update(knotes)
    bfigs, bnotes = kut_bare(tests["vmexit_ipi"], WORK / "kut" / "bare-ipi")
    runs["bare"].append(bfigs)
    notes["bare"].update(bnotes)
    log(f"vmexit ipi, ple_round_robin: Kestrel-SVM {figs or knotes}; bare QEMU {bfigs or bnotes}")
    return runs, notes


def kut_bochs_lane(rounds, esp, ipi, timeout):
    """VMX: Bochs' TSC counts instructions (50 MHz) and vmexit.flat times each test for at
    least 2^30 TSC cycles, some 2 million exits for cpuid: on a loaded 2-core machine one
    figure takes 10-15 minutes, so this lane is the slow part (--vmx-timeout)."""
    tests = kut_tests()
    runs, notes = [], {}
    if not rounds:
        notes.update({t: "not run (--vmx-rounds 0)" for t in KUT_TESTS})
    for r in range(rounds):
        figs, knotes = kut_kestrel("vmx", tests["vmexit"], esp, WORK / "kut" / f"vmx-{r}",
                                    timeout)
        runs.append(figs)
        notes.update(knotes)
        log(f"vmexit round {r + 1}/{rounds}: Kestrel-VMX {figs}")
    if not ipi:
        notes.update({t: "not run (--vmx-ipi)" for t in KUT_SMP_TESTS})
        return runs, notes
    figs, knotes = kut_kestrel("vmx", tests["vmexit_ipi"], esp, WORK / "kut" / "vmx-ipi",
                                timeout)
    runs.append(figs)
    notes.update(knotes)
    log(f"vmexit ipi, ple_round_robin: Kestrel-VMX {figs or knotes}")
    return runs, notes


def medians(runs):
    """[{name: cycles}] -> {name: (median, [values])}."""
    vals = {}
    for figs in runs:
        for k, v in figs.items():
            vals.setdefault(k, []).append(v)
    return {k: (statistics.median(v), v) for k, v in vals.items()}


# ------------------------------------------------------------------ 3. Linux boot

def parse_stats(text, vm_name):
    """Kestrel's batch-end statistics of one VM: exits by reason, unbacked accesses and
    the top ports / MSRs / MMIO pages."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.match(rf"^vm \d+ \({re.escape(vm_name)}\): \d+ exits$", l)), None)
    out = {"total": 0, "reasons": {}, "unbacked": "", "ports": [], "msrs": [], "mmio": []}
    if start is None:
        return out
    out["total"] = int(re.search(r": (\d+) exits$", lines[start])[1])
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        m = re.match(r"^  ([a-z][a-z0-9-]*)\s+(\d+)$", line)
        if m:
            out["reasons"][m[1]] = int(m[2])
            continue
        if line.startswith("  unbacked memory:"):
            out["unbacked"] = line.strip()
            continue
        m = re.match(r"^  top (ports|MSRs|MMIO pages):(.*)$", line)
        if m:
            key = {"ports": "ports", "MSRs": "msrs", "MMIO pages": "mmio"}[m[1]]
            for item in m[2].split(","):
                f = item.split()
                if len(f) == 3:
                    out[key].append({"key": f[0], "dir": f[1], "count": int(f[2])})
                elif len(f) == 2:
                    out[key].append({"key": f[0], "dir": "", "count": int(f[1])})
    return out


def linux_direct(timeout, workdir):
    workdir.mkdir(parents=True, exist_ok=True)
    js = workdir / "direct.json"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "run-linux-direct.py"),
                           "--batch", "--quiet", "--append", "kestrel.poweroff", "--json", str(js),
                           "--log", str(workdir / "direct.log"), "--timeout", str(timeout),
                           "--", "-net", "none"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: direct Linux boot failed\n{proc.stderr}")
    return float(json.loads(js.read_text())["guest_uptime_at_init_s"])


def linux_pairs(pairs, timeout):
    out = []
    for i in range(pairs):
        wd = WORK / "linux" / f"pair-{i}"
        direct = linux_direct(timeout, wd)
        text = boot("svm", LINUX_VM, timeout)
        (wd / "kestrel.log").write_text(text)
        m = UPTIME.search(text)
        if not m:
            sys.exit("bench: no uptime line from the Linux boot under Kestrel")
        under = float(m[1])
        out.append({"direct_s": direct, "kestrel_s": under, "ratio": under / direct,
                    "stats": parse_stats(text, "linux")})
        log(f"Linux pair {i + 1}/{pairs}: direct {direct:.2f} s, Kestrel {under:.2f} s, "
            f"ratio {under / direct:.2f}")
    return out


# ------------------------------------------------------------------ 7. host SMP

def smp_boot(cpus, timeout, names=("a", "b")):
    """(the later VM's time in ms, {vm: its own time}) for victims on `cpus` host CPUs."""
    cfg = "".join(SMP_VM.format(name=n, kib=SMP_KIB) for n in names)
    text = boot("svm", cfg, timeout, smp=cpus)
    (WORK / "smp").mkdir(parents=True, exist_ok=True)
    (WORK / "smp" / f"smp{cpus}-{len(names)}vms.log").write_text(text)
    done = {m[1]: int(m[3]) for m in SMP_DONE.finditer(text)}
    if sorted(done) != sorted(names):
        sys.exit(f"bench: the victims on -smp {cpus} did not all finish cleanly")
    return max(done.values()), done


def smp_rounds(rounds, timeout):
    out = []
    for i in range(rounds):
        row = {}
        for cpus in SMP_CPUS:
            pair, done = smp_boot(cpus, timeout)
            row[f"pair_ms_{cpus}"] = pair
            if cpus == 1:     # fair sharing: both finish together
                row["even"] = min(done.values()) / max(done.values())
        for cpus in SMP_CPUS[1:]:
            row[f"speedup_{cpus}"] = row["pair_ms_1"] / row[f"pair_ms_{cpus}"]
        # Three on two CPUs: fair would be 1.5 CPU-times of work each.
        _, done = smp_boot(2, timeout, ("a", "b", "c"))
        row["three_even"] = min(done.values()) / max(done.values())
        out.append(row)
        log(f"smp round {i + 1}/{rounds}: " + ", ".join(
            f"-smp {c} {row[f'pair_ms_{c}'] / 1000:.1f} s" for c in SMP_CPUS))
    return out


# ------------------------------------------------------------------ 8. density

def density_boot(kind, timeout):
    if kind == "minimal":
        n, ok = 64, r"\(status 0\)"
        cfg = "".join(f"[vm m{i:02d}]\nmemory = 2M\nkernel = guests/minimal.elf\n"
                      "cmdline = ticker period_ms=1 ticks=1\n\n" for i in range(n))
    else:
        n, ok = DENSITY_LINUX, r"\(ACPI S5\)"
        cfg = "".join(LINUX_VM.replace("[vm linux]", f"[vm l{i:02d}]")
                      .replace("memory = 256M", "memory = 128M") + "\n" for i in range(n))
    text = boot("svm", cfg, timeout, smp=2, check=False)
    (WORK / "density").mkdir(parents=True, exist_ok=True)
    (WORK / "density" / f"{kind}.log").write_text(text)
    built = BUILT.search(text)
    done = len(re.findall(rf"^kestrel: vm \d+ \(\w+\) stopped: powered off by the guest {ok}$",
                          text, re.M))
    # The loader's line per refused VM (the final vms table repeats the reason).
    refused = len(set(re.findall(r'^kestrel: hv\.cfg:\d+: vm "(\w+)": memory \d+ MiB does not fit',
                                 text, re.M)))
    return {"configured": n, "built": int(built[1]) if built else 0, "completed": done,
            "refused_memory": refused, "hv_kib_per_vm": int(built[4]) if built else 0}


# ------------------------------------------------------------------ 4. virtio-blk

def io_boot(event_idx, passes, timeout):
    extra = "" if event_idx else "event-idx = off\n"
    text = boot("svm", IO_VM.format(extra=extra, passes=passes), timeout)
    m = IO_LINE.search(text)
    if not m:
        sys.exit("bench: no KESTREL-LINUX-BENCH-IO line from the virtio boot")
    n, size, blk_cs, mem_cs, direct_cs = (int(x) for x in m.groups())
    # Batch-end virtio counters: each notify is one exit (an MMIO write), each interrupt
    # one more (the guest's EOI to its xAPIC).
    q = re.search(r"virtio-blk \(pci\):.*\n    queue 0: size \d+ \w+, chains (\d+), "
                  r"notifies (\d+), interrupts (\d+)", text)
    if not q:
        sys.exit("bench: no virtio-blk counters at the end of the virtio boot")
    # Each pass reads the disk twice (through the page cache, then with O_DIRECT).
    return {"passes": n, "mib": n * size / 2**20, "blk_s": blk_cs / 100, "mem_s": mem_cs / 100,
            "direct_s": direct_cs / 100, "disk_mib": 2 * n * size / 2**20,
            "exits": int(q[2]) + int(q[3]), "chains": int(q[1])}


def io_rounds(rounds, timeout):
    out = {"on": [], "off": []}
    for i in range(rounds):
        for mode in ("on", "off"):
            short = io_boot(mode == "on", 1, timeout)
            long_ = io_boot(mode == "on", 1 + IO_EXTRA, timeout)
            mib = long_["disk_mib"] - short["disk_mib"]
            r = {"blk_mibs": long_["mib"] / long_["blk_s"],
                 "direct_mibs": long_["mib"] / long_["direct_s"],
                 "mem_mibs": long_["mib"] / long_["mem_s"],
                 "exits_per_mib": (long_["exits"] - short["exits"]) / mib,
                 "requests_per_mib": (long_["chains"] - short["chains"]) / mib}
            r["ratio"] = r["blk_mibs"] / r["mem_mibs"]
            r["direct_ratio"] = r["direct_mibs"] / r["mem_mibs"]
            out[mode].append(r)
            log(f"virtio round {i + 1}/{rounds}, EVENT_IDX {mode}: blk {r['blk_mibs']:.1f} "
                f"MiB/s, O_DIRECT {r['direct_mibs']:.1f} MiB/s, memory {r['mem_mibs']:.1f} "
                f"MiB/s, ratios {r['ratio']:.2f} and {r['direct_ratio']:.2f}, "
                f"{r['exits_per_mib']:.0f} exits/MiB")
    return out


# ------------------------------------------------------------------ 5. virtio-net

def virtio_counters(text, vm_name, device):
    """notifies + interrupts of every queue of one VM's virtio device (batch end)."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.match(rf"^vm \d+ \({re.escape(vm_name)}\): \d+ exits$", l)), None)
    total = 0
    if start is None:
        return None
    i = next((j for j in range(start + 1, len(lines)) if lines[j].startswith(f"  {device} (")),
             None)
    if i is None:
        return None
    for line in lines[i + 1:]:
        m = re.match(r"^    queue \d+: .*notifies (\d+), interrupts (\d+)$", line)
        if not m:
            break
        total += int(m[1]) + int(m[2])
    return total


def net_boot(event_idx, timeout):
    extra = "" if event_idx else "event-idx = off\n"
    cfg = (NET_VM.format(name="rx", extra=extra,
                         opts="kestrel.net=10.0.0.1/24 kestrel.netserve")
           + NET_VM.format(name="tx", extra=extra,
                           opts="kestrel.netlo kestrel.net=10.0.0.2/24 kestrel.netpeer=10.0.0.1 "
                                "kestrel.netsend=10.0.0.1"))
    text = boot("svm", cfg, timeout)
    send, lo = NET_RX.search(text), NET_LO.search(text)
    rx, tx = virtio_counters(text, "rx", "virtio-net"), virtio_counters(text, "tx", "virtio-net")
    if not send or not lo or rx is None or tx is None:
        sys.exit("bench: the virtio-net boot gave no transfer times or counters")
    lo_mib = int(lo[1]) / 2**20
    r = {"vm_mibs": NET_MIB / (int(send[1]) / 100), "lo_mibs": lo_mib / (int(lo[2]) / 100),
         "exits_per_mib": (rx + tx) / NET_MIB}
    r["ratio"] = r["vm_mibs"] / r["lo_mibs"]
    return r


def net_rounds(rounds, timeout):
    out = {"on": [], "off": []}
    for i in range(rounds):
        for mode in ("on", "off"):
            r = net_boot(mode == "on", timeout)
            out[mode].append(r)
            log(f"net round {i + 1}/{rounds}, EVENT_IDX {mode}: between VMs "
                f"{r['vm_mibs']:.2f} MiB/s, loopback {r['lo_mibs']:.2f} MiB/s, ratio "
                f"{r['ratio']:.2f}, {r['exits_per_mib']:.0f} virtio exits/MiB")
    return out


# ------------------------------------------------------------------ report

def machine():
    cpu = "unknown CPU"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def fmt_cycles(v):
    return f"{v:.0f}" if isinstance(v, float) else str(v)


PORT_NAMES = {0x3f8: "UART data", 0x3f9: "UART IER", 0x3fa: "UART IIR", 0x3fb: "UART LCR",
              0x3fc: "UART MCR", 0x3fd: "UART LSR", 0x3fe: "UART MSR", 0xcf8: "PCI config address",
              0xcfc: "PCI config data", 0x608: "ACPI PM timer", 0x70: "CMOS index",
              0x71: "CMOS data", 0x40: "PIT ch0", 0x43: "PIT mode", 0x61: "port B",
              0x20: "PIC1", 0x21: "PIC1 mask", 0xa0: "PIC2", 0xa1: "PIC2 mask", 0x80: "POST",
              0x600: "ACPI sleep", 0xf4: "debug-exit", 0x510: "fw_cfg selector",
              0x511: "fw_cfg data"}
MMIO_NAMES = {0xfee00000: "local APIC", 0xfec00000: "IOAPIC"}
MSR_NAMES = {0x1b: "APIC base", 0xc0000080: "EFER", 0x6e0: "TSC deadline", 0x10: "TSC",
             0x80b: "x2APIC EOI", 0x830: "x2APIC ICR", 0x838: "x2APIC timer count",
             0x832: "x2APIC LVT timer", 0x802: "x2APIC ID", 0x3b: "TSC adjust",
             0xc0000100: "FS base", 0xc0000101: "GS base", 0xc0000102: "kernel GS base",
             0x48: "SPEC_CTRL", 0x49: "PRED_CMD"}


def hot_text(items, names=None):
    out = []
    for it in items:
        label = f"{it['key']}{' ' + it['dir'] if it['dir'] else ''} {it['count']}"
        key = int(it["key"], 16)
        name = (names or {}).get(key)
        if names is MSR_NAMES and 0x400 <= key < 0x480:
            name = f"MC{(key - 0x400) // 4}_{('CTL', 'STATUS', 'ADDR', 'MISC')[key % 4]}"
        out.append(f"{label} ({name})" if name else label)
    return ", ".join(out) or "none"


def median_row(rounds):
    """Each figure's median over the rounds (a list of dicts with the same keys)."""
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def report(res, args):
    date = datetime.date.today().isoformat()
    lines = [f"Measured {date} on {machine()}."]
    if "exits" in res:
        lines += ["", f"Exit cost (minimal guest; {args.iters} exits per figure, median of "
                  "5 rounds):", "",
                  "| exit | backend (emulator) | full handler | empty-loop floor | full/floor |",
                  "|---|---|---:|---:|---:|"]
        for backend, rows in res["exits"].items():
            for name, full, floor in rows:
                lines.append(f"| {name} | {EMULATOR[backend]} | {full} cycles | "
                             f"{floor} cycles | {full / floor:.2f} |")
    if "kut" in res:
        k = res["kut"]
        svm, bare, vmx = medians(k["svm"]), medians(k["bare"]), medians(k["vmx"])
        lines += ["", "kvm-unit-tests `vmexit.flat`, TSC cycles per iteration as it prints "
                  f"them (QEMU: median of {args.kut_rounds} run(s), each Kestrel run followed "
                  f"by the bare one; Bochs: {args.vmx_rounds} run(s); `ipi` and "
                  "`ple_round_robin`: one run, 2 vCPUs):", "",
                  "| vmexit test | Kestrel SVM (QEMU TCG) | bare QEMU TCG | Kestrel/bare "
                  "| Kestrel VMX (Bochs) | bare Bochs |",
                  "|---|---:|---:|---:|---:|---|"]
        for t in (*KUT_TESTS, *KUT_SMP_TESTS):
            s = fmt_cycles(svm[t][0]) if t in svm else "—"
            b = fmt_cycles(bare[t][0]) if t in bare else "—"
            x = fmt_cycles(vmx[t][0]) if t in vmx else "—"
            ratio = "—"
            if t in svm and t in bare:
                r = svm[t][0] / bare[t][0]
                ratio = f"{r:.0f}" if r >= 10 else f"{r:.2f}"
            lines.append(f"| {t} | {s} | {b} | {ratio} | {x} | n/a ¹ |")
        lines += [""]
        why = {**{f"Kestrel SVM {t}": v for t, v in k["notes"]["svm"].items()},
               **{f"bare QEMU {t}": v for t, v in k["notes"]["bare"].items()},
               **{f"Kestrel VMX {t}": v for t, v in k["notes"]["vmx"].items()}}
        if why:
            lines.append("— no figure: " + "; ".join(f"{w}: {v}" for w, v in why.items()) + ".")
        lines += ["¹ Bochs cannot boot a Multiboot kernel without a bootloader: no bare "
                  "reference."]
    if "linux" in res:
        pairs = res["linux"]
        med = statistics.median(p["ratio"] for p in pairs)
        lines += ["", f"Linux 6.1 boot (QEMU TCG), uptime at init, {len(pairs)} pairs "
                  "(direct QEMU boot, then Kestrel SVM boot):", "",
                  "| pair | direct QEMU | under Kestrel (SVM) | ratio |", "|---:|---:|---:|---:|"]
        for i, p in enumerate(pairs, 1):
            lines.append(f"| {i} | {p['direct_s']:.2f} s | {p['kestrel_s']:.2f} s | "
                         f"{p['ratio']:.2f} |")
        lines.append(f"| median | {statistics.median(p['direct_s'] for p in pairs):.2f} s | "
                     f"{statistics.median(p['kestrel_s'] for p in pairs):.2f} s | "
                     f"**{med:.2f}** |")
        mp = sorted(pairs, key=lambda p: p["ratio"])[(len(pairs) - 1) // 2]
        st = mp["stats"]
        lines += ["", f"Exits during the Kestrel boot of the median pair ({st['total']} in "
                  "all): " + ", ".join(f"{k} {v}" for k, v in
                                       sorted(st["reasons"].items(), key=lambda kv: -kv[1])),
                  "", f"- top ports: {hot_text(st['ports'], PORT_NAMES)}",
                  f"- top MSRs: {hot_text(st['msrs'], MSR_NAMES)}",
                  f"- top MMIO pages: {hot_text(st['mmio'], MMIO_NAMES)}"]
    if "virtio" in res:
        v = res["virtio"]
        lines += ["", f"virtio-blk sequential read in a Linux guest (SVM, QEMU TCG; 16 MiB disk "
                  f"read {1 + IO_EXTRA} times through the page cache, dropped each time, and "
                  f"as often with O_DIRECT; dd, 1 MiB reads; median of {len(v['on'])} "
                  "rounds):", "",
                  "| EVENT_IDX | disk read, cached | disk read, O_DIRECT | copy in guest RAM "
                  "| cached/RAM | O_DIRECT/RAM | requests per MiB | virtio exits per MiB |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for mode in ("on", "off"):
            med = median_row(v[mode])
            lines.append(f"| {mode} | {med['blk_mibs']:.1f} MiB/s | {med['direct_mibs']:.1f} "
                         f"MiB/s | {med['mem_mibs']:.1f} MiB/s | {med['ratio']:.2f} "
                         f"| **{med['direct_ratio']:.2f}** | {med['requests_per_mib']:.1f} "
                         f"| {med['exits_per_mib']:.1f} |")
    if "net" in res:
        v = res["net"]
        lines += ["", f"virtio-net between two Linux VMs (SVM, QEMU TCG; 16 MiB over TCP, "
                  f"busybox nc running dd (64 KiB writes) and cat, timed by the receiver, "
                  f"against the same in the sender's loopback; median of "
                  f"{len(v['on'])} rounds):", "",
                  "| EVENT_IDX | VM to VM | loopback | VM/loopback | virtio exits per MiB |",
                  "|---|---:|---:|---:|---:|"]
        for mode in ("on", "off"):
            med = median_row(v[mode])
            lines.append(f"| {mode} | {med['vm_mibs']:.2f} MiB/s | {med['lo_mibs']:.2f} MiB/s | "
                         f"**{med['ratio']:.2f}** | {med['exits_per_mib']:.0f} |")
    if "smp" in res:
        rows = res["smp"]
        med = median_row(rows)
        lines += ["", f"Host CPUs (SVM, QEMU TCG multi-threaded, nothing else running): two "
                  f"CPU-bound VMs of 1 vCPU, each checking {SMP_KIB // 1024} MiB of patterns; "
                  f"the pair's time is the later VM's; median of {len(rows)} rounds:", "",
                  "| host CPUs | pair's time | speed-up over -smp 1 |", "|---:|---:|---:|"]
        for c in SMP_CPUS:
            sp = "1" if c == 1 else f"**{med[f'speedup_{c}']:.2f}**"
            lines.append(f"| {c} | {med[f'pair_ms_{c}'] / 1000:.1f} s | {sp} |")
        even = sorted(r["even"] for r in rows)
        lines += ["", f"Fairness on -smp 1 (both VMs on one CPU): the first VM's time over the "
                  f"second's, median {statistics.median(even):.3f} "
                  f"({even[0]:.3f}-{even[-1]:.3f}; 1 when they finish together).",
                  "", "Three such VMs on -smp 2 (placed two on one CPU, one on the other; the "
                  "balancer moves them every 100 ms so that run times stay even): the first "
                  f"VM's time over the last's, median {med['three_even']:.3f} (1 when they "
                  "finish together)."]
    if "density" in res:
        d = res["density"]
        lines += ["", "Density (SVM, QEMU TCG, 2 GiB machine, -smp 2, one boot each):", "",
                  "| guests | in hv.cfg | built | refused (memory) | ran to completion "
                  "| hypervisor memory a VM |", "|---|---:|---:|---:|---:|---:|"]
        for kind, label in (("minimal", "minimal, 2 MiB"), ("linux", "Linux, 128 MiB")):
            r = d[kind]
            lines.append(f"| {label} | {r['configured']} | {r['built']} | "
                         f"{r['refused_memory']} | **{r['completed']}** | "
                         f"{r['hv_kib_per_vm']} KiB |")
    if "trace" in res:
        t = res["trace"]
        lines += ["", "Exit trace compiled in but not recording, against a `make TRACE=0` "
                  f"build (full-handler cycles of part 1; {len(t['svm']['on'])} rounds a "
                  "backend, each booting the three in turn; the ratio of each round's "
                  "pair, and of their full/floor ratios, which take out a slow emulator; "
                  "Bochs's cycles are instructions, so its ratio does not move with the "
                  "host's load). The flight recorder (`trace [vm]`, the last exits) is on "
                  "by default; `flight-recorder = off` in hv.cfg leaves one test per exit:",
                  "", "| exit | backend | flight recorder | cycles, TRACE=1 / TRACE=0 "
                  "(medians) | ratio, median (min-max) | the same, each over its boot's "
                  "floor |", "|---|---|---|---:|---:|---:|"]
        for backend, label in (("svm", "SVM (QEMU TCG)"), ("vmx", "VMX (Bochs)")):
            runs = t[backend]
            for name in runs["on"][0]:
                for mode, flight in (("on", "on"), ("quiet", "off")):
                    pairs = list(zip(runs[mode], runs["off"]))
                    raw = sorted(on[name][0] / off[name][0] for on, off in pairs)
                    norm = sorted((on[name][0] / on[name][1]) / (off[name][0] / off[name][1])
                                  for on, off in pairs)
                    med_on = statistics.median(on[name][0] for on, _ in pairs)
                    med_off = statistics.median(off[name][0] for _, off in pairs)
                    lines.append(f"| {name} | {label} | {flight} | {med_on:.0f} / "
                                 f"{med_off:.0f} | **{statistics.median(raw):.3f}** "
                                 f"({raw[0]:.3f}-{raw[-1]:.3f}) | {statistics.median(norm):.3f} "
                                 f"({norm[0]:.3f}-{norm[-1]:.3f}) |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append",
                   choices=("exits", "kut", "linux", "virtio", "net", "trace", "smp",
                            "density"),
                   help="run only this part (repeatable; default: all)")
    p.add_argument("--net-rounds", type=int, default=3,
                   help="virtio-net rounds (2 boots each; default 3)")
    p.add_argument("--io-rounds", type=int, default=3,
                   help="virtio-blk rounds (4 boots each; default 3)")
    p.add_argument("--trace-rounds", type=int, default=5,
                   help="trace-cost rounds (2 boots each; default 5)")
    p.add_argument("--pairs", type=int, default=5, help="Linux boot pairs (default 5)")
    p.add_argument("--smp-rounds", type=int, default=3,
                   help="host-SMP rounds (3 boots each; default 3)")
    p.add_argument("--kut-rounds", type=int, default=3,
                   help="vmexit.flat runs per configuration on QEMU (default 3)")
    p.add_argument("--vmx-rounds", type=int, default=1,
                   help="vmexit.flat runs under Kestrel on Bochs (default 1: slow)")
    p.add_argument("--vmx-timeout", type=int, default=3600,
                   help="seconds per vmexit.flat boot on Bochs (default %(default)s)")
    p.add_argument("--vmx-ipi", action="store_true",
                   help="also `ipi` and `ple_round_robin` (2 vCPUs) under Kestrel on Bochs (slow)")
    p.add_argument("--iters", type=int, default=20000, help="exits per exit-cost measurement")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--json", default=os.path.join(REPO, "build", "bench.json"))
    args = p.parse_args()
    parts = set(args.only or ("exits", "kut", "linux", "virtio", "net", "trace", "smp",
                              "density"))
    start = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(ESP, ignore_errors=True)
    shutil.copytree(kut.BASE_ESP, ESP)
    esp = None
    esp0 = trace0_esp() if "trace" in parts else None
    if "kut" in parts:
        esp = kut.build_esp(kut_tests(), base_esp=ESP, out=WORK / "kut-esp")

    def qemu_lane():
        out = {}
        if "exits" in parts:
            out["exits"] = exit_cost("svm", args.iters, args.timeout)
        if "kut" in parts:
            out["kut"] = kut_qemu_lane(args.kut_rounds, esp)
        if "linux" in parts:
            out["linux"] = linux_pairs(args.pairs, args.timeout)
        if "virtio" in parts:
            out["virtio"] = io_rounds(args.io_rounds, args.timeout)
        if "net" in parts:
            out["net"] = net_rounds(args.net_rounds, args.timeout)
        if "trace" in parts:
            out["trace"] = trace_rounds("svm", esp0, args.trace_rounds, args.iters,
                                        args.timeout)
        return out

    def bochs_lane():
        out = {}
        if "exits" in parts:
            out["exits"] = exit_cost("vmx", args.iters, args.timeout)
        if "kut" in parts:
            out["kut"] = kut_bochs_lane(args.vmx_rounds, esp, args.vmx_ipi, args.vmx_timeout)
        if "trace" in parts:
            out["trace"] = trace_rounds("vmx", esp0, args.trace_rounds, args.iters,
                                        args.timeout)
        return out

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        bochs = pool.submit(bochs_lane) if parts & {"exits", "kut", "trace"} else None
        q = qemu_lane()
        b = bochs.result() if bochs else {}
    res = {}
    if "exits" in parts:
        res["exits"] = {"svm": q["exits"], "vmx": b["exits"]}
    if "kut" in parts:
        (qruns, qnotes), (bruns, bnotes) = q["kut"], b["kut"]
        res["kut"] = {"svm": qruns["svm"], "bare": qruns["bare"], "vmx": bruns,
                      "notes": {"svm": qnotes["svm"], "bare": qnotes["bare"], "vmx": bnotes}}
    if "linux" in parts:
        res["linux"] = q["linux"]
    if "virtio" in parts:
        res["virtio"] = q["virtio"]
    if "net" in parts:
        res["net"] = q["net"]
    if "trace" in parts:
        res["trace"] = {"svm": q["trace"], "vmx": b["trace"]}
    if "smp" in parts:      # alone: its -smp 4 boots want every host core
        res["smp"] = smp_rounds(args.smp_rounds, args.timeout)
    if "density" in parts:
        res["density"] = {k: density_boot(k, args.timeout) for k in ("minimal", "linux")}
    text = report(res, args)
    print(text)
    log(f"done in {time.monotonic() - start:.0f} s")
    with open(args.json, "w") as f:
        json.dump({"date": datetime.date.today().isoformat(), "machine": machine(),
                   "parts": sorted(parts), **res}, f, indent=1)


if __name__ == "__main__":
    main()
