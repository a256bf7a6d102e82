"""Chaos: a hostile guest next to a victim, on both backends.

The chaos VM (guest-tools/chaos/, `chaos` mode) runs seeded random operations against
the hypervisor from two vCPUs: port I/O over every port, MMIO over the whole
guest-physical space (local APIC, IOAPIC, holes, the end of RAM, above 4 GiB, past the
physical address width), MSRs (known and random), CPUID, hypercalls, XSETBV, control and
debug registers, software interrupts and exceptions, exiting instructions with random
prefixes across page boundaries, APIC timer and IPI storms, INIT/SIPI (the other vCPU
comes back through a real-mode trampoline), and VM resets through the ACPI reset
register. Op i of vCPU n depends on (seed, n, i) alone: the seed reproduces a run,
`trace_from=` prints every op from one on. The victim (`victim` mode, two vCPUs) fills
its RAM with a pattern once and re-checks it forever, printing its progress.

Pass: no hypervisor exception, halt or hang; the chaos VM finishes all its ops without
an anomaly (something the platform must not do: guest-tools/chaos/ops.c lists the
checks) and powers off with status 0; the victim's pattern never changes and nothing
interrupts it; the victim keeps at least half of its solo speed (the median ratio of
neighbouring shared and solo windows, see paired_ratios; on svm only 0.1, see
MIN_SPEED_RATIO); `vms` on the console answers within a second (times the backend's
scale) throughout.

Solo speed: the chaos VM sleeps (every vCPU halted, so the victim runs alone) for
solo_ms before its first op and for pause_ms after every pause_every_ms of ops, in the
same boot, so the victim's solo and shared speeds are measured under the same host
load (other emulators on the machine move both). One physical CPU runs every vCPU round
robin: with its 2 vCPUs the victim's fair share beside the chaos VM (one busy vCPU, one
that mostly sleeps between bursts) is about 2/3; the test asks for 1/2.

Ops per run (measured on the project machine, 2 cores shared with other emulators,
victim beside): QEMU TCG (svm) 370-800 ops per wall second (450-850 per guest second),
Bochs (vmx) 700-880 per wall second (1200-1500 per emulated second), so 10^6 ops take
about 20-45 min on svm and 20-25 min on vmx (200k ops on svm and 300k on vmx passed). `make test` runs CHAOS_OPS[backend] (under a
minute of ops each, about 1 min 45 s per backend with the boot); `make soak`
(KESTREL_CHAOS_SOAK=1) runs SOAK_OPS = 10^6 on both, with more resets, and checks that
the known hypervisor bugs below still reproduce.

Known hypervisor bugs (found by this test; reported, not fixed here): each has an
AVOID_* bit in guest-tools/chaos/chaos.h that the runs set on the backend it affects,
so that they can find the next one, and a reproducer in KNOWN_BUGS that `make soak`
checks (if one stops reproducing, the bug is fixed: drop its bit).

Environment: KESTREL_CHAOS_SEED=N (default: a fixed seed per backend),
KESTREL_CHAOS_OPS=N, KESTREL_CHAOS_SOAK=1.
"""
import os
import re
import statistics
import time

import pexpect
import pytest

import harness

GUEST = "guests/chaos.elf"
SOAK = os.environ.get("KESTREL_CHAOS_SOAK") == "1"
CHAOS_OPS = {"svm": 30000, "vmx": 30000}
SOAK_OPS = 1_000_000
DEFAULT_SEED = {"svm": 1, "vmx": 2}
# The victim's share beside the chaos VM: about 2/3 (see above), 0.62-0.66 in every Bochs
# run. Bochs's clock counts instructions, so there the ratio is the scheduler's alone and
# a loss of share fails. QEMU's clock is the host's, and a second emulator on the two
# cores moves the victim's speed threefold within one window (0.38 to 1.1 GB/s seen):
# the median of neighbouring-window ratios was 0.39 to 0.88 over 8 runs with Bochs
# beside, single pairs 0.23 to 2.07. On svm the ratio is printed and only a starved
# victim fails (the brief: performance is measured in make bench, not asserted in
# timed tests).
MIN_SPEED_RATIO = {"svm": 0.1, "vmx": 0.5}
CONSOLE_LIMIT_S = harness.CONSOLE_LIMIT_S
POLL_S = 3.0                 # `vms` every few seconds

# AVOID_* bits of guest-tools/chaos/chaos.h: name, backends, what happens, reproducer
# (the chaos cmdline that shows it, on a VM of its own) and the serial line it gives.
# None open. Fixed: 32 dr-spurious-db (vmx; "chaos seed=2 ops=12000 avoid=31" gave a #DB at
# an instruction the hypervisor emulates: Bochs saves the debug traps it had scheduled
# (TF's, a breakpoint's) with the exit in the VMCS's pending debug exceptions, which
# then came after the skip; vmx_skip_insn now clears them).
KNOWN_BUGS = {}


def avoid_bits(backend):
    return sum(bit for bit, bug in KNOWN_BUGS.items() if backend in bug[1])


def vm(name, cmdline, memory="16M", vcpus=1):
    return (f"[vm {name}]\nmemory = {memory}\nvcpus = {vcpus}\nkernel = {GUEST}\n"
            f"cmdline = {cmdline}\n\n")


# Pauses in guest milliseconds: Bochs's emulated second takes about three of ours.
PAUSES = {"svm": "pause_every_ms=8000 pause_ms=2500", "vmx": "pause_every_ms=3000 pause_ms=1500"}


def chaos_cmdline(backend, seed, ops, resets):
    return (f"chaos seed={seed} ops={ops} solo_ms=3000 {PAUSES[backend]} resets={resets} "
            f"avoid={avoid_bits(backend)}")


def reproduce_hint(backend, seed, cmdline):
    return (f"reproduce: KESTREL_CHAOS_SEED={seed} /usr/bin/python3 -m pytest "
            f"tests/integration/test_chaos.py -k '{backend}' (chaos cmdline: \"{cmdline}\"; "
            f"add trace_from=<op> to print every op from one on)")


def speed_windows(lines):
    """The victim's windows in order, each ("solo"|"shared", [rates in KiB/s]): the
    interval between two of its progress lines counts when both lie in the same solo
    window (chaos not started, or between `pause K` and `resume K`) or in the same
    shared one."""
    state, last, windows = "other", None, []
    for line in lines:
        if re.match(r"\[chaos\] chaos: (start|resume \d+)", line):
            state, last = "shared", None
            windows.append((state, []))
        elif re.match(r"\[chaos\] chaos: (pause \d+|solo window)", line):
            state, last = "solo", None
            windows.append((state, []))
        elif re.match(r"\[chaos\] chaos: (done|reset)|kestrel: vm \d+ \(chaos\) "
                      r"(stopped|restarts)", line):
            state, last = "other", None
        m = re.match(r"\[victim\] victim: t_ms=(\d+) checked_kib=(\d+)", line)
        if not m:
            continue
        point = (int(m.group(1)), int(m.group(2)))
        if last and point[0] > last[0] and state in ("solo", "shared"):
            windows[-1][1].append((point[1] - last[1]) * 1000 / (point[0] - last[0]))
        last = point
    return [w for w in windows if w[1]]


def paired_ratios(windows):
    """Shared speed over solo speed for each shared window and the solo window next to
    it (before and after). Under QEMU the victim's clock is the host's, so when another
    emulator takes the host's CPUs the victim checks less per guest millisecond, solo or
    shared alike; the load moves over tens of seconds, so windows next to each other see
    the same load and their ratio keeps the scheduler's share alone. (A CI run had solo
    windows at 2.3 GB/s before a Bochs test started beside it and 1.5 GB/s after, shared
    ones at 1.0 GB/s, all after: the medians over the whole run gave 0.49 and failed.)"""
    ratios = []
    for (kind_a, a), (kind_b, b) in zip(windows, windows[1:]):
        if {kind_a, kind_b} == {"solo", "shared"}:
            solo, shared = (a, b) if kind_a == "solo" else (b, a)
            ratios.append(statistics.median(shared) / statistics.median(solo))
    return ratios


def run_chaos(interactive_session, backend, seed, ops, resets):
    """One boot: victim and chaos VM, the console polled all along. Returns (serial log
    lines, console latencies, the chaos VM's `stats`, elapsed seconds of chaos)."""
    be = harness.BACKENDS[backend]
    cmdline = chaos_cmdline(backend, seed, ops, resets)
    cfg = (vm("victim", "victim report_ms=500", memory="16M", vcpus=2)
           + vm("chaos", cmdline, memory="32M", vcpus=2))
    # Budget: the rate above with a wide margin, resets and pauses included.
    rate = 200 if backend == "svm" else 300    # ops per wall second, with margin
    budget = 60 + ops / rate * 1.5 + resets * 10
    latencies = []
    end_re = (r"kestrel: vm \d+ \(chaos\) stopped: [^\r\n]*|\*\*\* hypervisor exception"
              r"|kestrel: halted")
    with interactive_session(cfg, timeout=budget + harness.BOOT_TIMEOUT * 2) as s:
        s.expect(r"\[chaos\] chaos: start seed=")
        start = time.monotonic()
        while True:
            try:
                s.child.expect(end_re, timeout=POLL_S * be.scale)
                break
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                s._fail(f"the emulator ended during the chaos run\n"
                        f"{reproduce_hint(backend, seed, cmdline)}")
            if time.monotonic() - start > budget * be.scale:
                dump = s.command("regs chaos") + s.command("trace chaos")
                s._fail(f"the chaos VM did not finish its {ops} ops within "
                        f"{budget * be.scale:.0f} s (hang?)\n{dump}\n"
                        f"{reproduce_hint(backend, seed, cmdline)}")
            t = time.monotonic()
            out = s.command("vms", timeout=30)
            latencies.append(time.monotonic() - t)
            # The end line may come while the poll reads (then it is in its output).
            if re.search(end_re, out) or re.search(r"^\d+\s+chaos\s+(stopped|failed)\s", out,
                                                   re.M):
                break
        elapsed = time.monotonic() - start
        for _ in range(2):
            t = time.monotonic()
            vms = s.command("vms", timeout=30)
            latencies.append(time.monotonic() - t)
        stats = s.command("stats chaos", timeout=30)
        s.quit()
    text = harness.clean_serial(s.log_path.read_text(errors="replace"))
    return text, latencies, vms, stats, elapsed, cmdline


def test_chaos_guest_beside_a_victim(interactive_session, backend):
    seed = int(os.environ.get("KESTREL_CHAOS_SEED") or DEFAULT_SEED[backend])
    ops = int(os.environ.get("KESTREL_CHAOS_OPS") or (SOAK_OPS if SOAK else CHAOS_OPS[backend]))
    resets = 10 if SOAK else 2
    scale = harness.BACKENDS[backend].scale
    text, latencies, vms, stats, elapsed, cmdline = run_chaos(
        interactive_session, backend, seed, ops, resets)
    lines = text.splitlines()
    hint = reproduce_hint(backend, seed, cmdline)
    tail = harness.tail(text, 60)

    for bad in (r"\*\*\* hypervisor exception", r"^kestrel: halted"):
        assert not re.search(bad, text, re.M), f"{bad!r} in the serial log\n{hint}\n{tail}"
    anomalies = [l for l in lines if l.startswith("[chaos] chaos: ANOMALY")
                 or l.startswith("[chaos] chaos:   log ")]
    assert not anomalies, ("the chaos VM saw anomalies:\n" + "\n".join(anomalies[:60])
                           + f"\n{hint}")
    done = re.search(r"^\[chaos\] chaos: done seed=\d+ ops=(\d+) others=(\d+) ms=(\d+) "
                     r"paused_ms=(\d+) rate=(\d+) anomalies=0 resets=(\d+)", text, re.M)
    assert done, f"no clean 'chaos: done' line\n{hint}\n{tail}"
    assert re.search(r"^kestrel: vm \d+ \(chaos\) stopped: powered off by the guest "
                     r"\(status 0\)$", text, re.M), f"{hint}\n{tail}"
    assert int(done.group(6)) == resets, f"{resets} resets expected\n{tail}"

    # The victim: running, unchanged, never interrupted.
    assert re.search(r"^0\s+victim\s+running\s", vms, re.M), vms
    errors = [l for l in lines if l.startswith("[victim] victim: ERROR")]
    assert not errors, "the victim's pattern changed:\n" + "\n".join(errors) + f"\n{hint}"
    # The log is read while the victim prints: a last line without its newline is cut.
    whole = lines if text.endswith("\n") else lines[:-1]
    progress = [l for l in whole if l.startswith("[victim] victim: t_ms=")]
    assert progress, f"the victim printed no progress\n{tail}"
    stray = [l for l in progress if not re.search(r" errors=0 stray_events=0 ", l)]
    assert not stray, f"the victim saw errors or stray events: {stray[:3]}\n{hint}"

    # Its speed beside the chaos against its speed alone, in the same boot.
    windows = speed_windows(whole)
    solo = [r for kind, rates in windows if kind == "solo" for r in rates]
    shared = [r for kind, rates in windows if kind == "shared" for r in rates]
    ratios = paired_ratios(windows)
    # At least the first solo window and the shared one after it: on svm a run whose ops
    # between resets take less than pause_every_ms never pauses (a CI run: 6.6 s a boot).
    assert ratios, (windows, tail)
    ratio = statistics.median(ratios)
    # The console: every poll answered in time.
    worst = max(latencies)
    print(f"\nchaos[{backend}] seed {seed}: {done.group(1)} ops (+{done.group(2)} on the "
          f"other vCPU), {done.group(5)} ops/s of guest time, {elapsed:.0f} s wall "
          f"({int(done.group(1)) / elapsed:.0f} ops/s wall); victim {statistics.median(solo):.0f}"
          f" KiB/s alone, {statistics.median(shared):.0f} beside (ratio {ratio:.2f}); "
          f"console worst {worst:.2f} s over {len(latencies)} polls\n{stats}")
    assert ratio >= MIN_SPEED_RATIO[backend], (
        f"the victim kept {ratio:.2f} of its solo speed (median of neighbouring windows' "
        f"ratios {[round(r, 2) for r in ratios]}; windows {windows})\n{hint}")
    assert worst <= CONSOLE_LIMIT_S * scale, (
        f"`vms` took {worst:.2f} s (limit {CONSOLE_LIMIT_S * scale:.1f} s): {latencies}\n{hint}")


@pytest.mark.skipif(not SOAK, reason="make soak (KESTREL_CHAOS_SOAK=1) only")
def test_known_hypervisor_bugs_still_reproduce(interactive_session, backend):
    """Each known bug's reproducer, one VM each, in one boot: each must still show (a
    serial line; for the NMI livelock, whose vCPUs can print nothing, the VM's exit
    count by reason). When one does not, the bug is fixed: drop its AVOID_* bit from
    KNOWN_BUGS (the runs stop leaving those ops out)."""
    bugs = {bit: bug for bit, bug in KNOWN_BUGS.items() if backend in bug[1]}
    if not bugs:
        pytest.skip(f"no known bug on {backend}")
    cfg = "".join(vm(name, cmd, memory="32M", vcpus=2) for name, _, _, cmd, _ in bugs.values())
    scale = harness.BACKENDS[backend].scale
    pending = {name: (what, cmd, pattern) for name, _, what, cmd, pattern in bugs.values()}
    with interactive_session(cfg) as s:
        s.expect(r"kestrel> ")
        deadline = time.monotonic() + 600 * scale
        while pending and time.monotonic() < deadline:
            time.sleep(10)
            s.command("vms", timeout=60)          # also reads what the VMs printed
            text = harness.clean_serial(s.output.getvalue())
            for name, (what, cmd, pattern) in list(pending.items()):
                if pattern.startswith("stats:"):
                    reason, least = pattern[6:].split(">")
                    m = re.search(rf"^  {reason}\s+(\d+)\s*$", s.command(f"stats {name}", timeout=60),
                                  re.M)
                    if m and int(m.group(1)) > int(least):
                        del pending[name]
                elif re.search(pattern, text, re.M):
                    del pending[name]
        s.quit()
    assert not pending, ("known bugs that no longer reproduce (fixed? then drop their "
                         "AVOID bit in tests/integration/test_chaos.py):\n"
                         + "\n".join(f"{n} ({c}): {w}" for n, (w, c, _) in pending.items()))
