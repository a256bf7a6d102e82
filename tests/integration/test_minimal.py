"""The foundation, end to end: hv.efi under OVMF boots the project's minimal guests,
isolates the ones that misbehave, reports bad configuration and images, and answers on
its console. Every test runs on both backends: [svm] under QEMU, [vmx] under Bochs."""
import re
import shutil
import struct

import pytest

GUEST = "guests/minimal.elf"

# Every check the minimal guest runs (guest-tools/minimal/selftest.c); each must PASS in
# both VMs. A check that silently disappeared would fail here.
CHECKS_1_VCPU = ["cpuid-hypervisor-bit", "cpuid-signature", "cpuid-hides-svm-vmx",
                 "uart-scratch", "unbacked-port", "hypercall-version", "hypercall-unknown",
                 "hypercall-nop", "msr-tsc", "msr-unknown-gp", "exception-ud",
                 "shared-hw-insns", "timer",
                 "timer-busy", "timer-cancel", "lapic-oneshot", "lapic-periodic",
                 "lapic-relocate", "x2apic-tsc-deadline", "outside-ram", "ram-pattern"]
CHECKS_SMP = CHECKS_1_VCPU + ["smp", "nmi-sti-shadow", "nmi-pair"]
STI_NMIS_SENT = 500 + 20   # nmi-sti-shadow: STI_NMIS and STI_JMP_NMIS (guest-tools/minimal)

# How each backend reports the exits these tests provoke: (exit code, name) of the
# triple fault and of the guest's bad-insn (VMSAVE on AMD, VMXOFF on Intel), and how its
# state dump starts (svm/svm.c; vmx/vmx_exit.c and vmx/vmx.c).
EXITS = {"svm": {"shutdown": (0x7f, "SHUTDOWN"), "bad-insn": (0x83, "VMSAVE"),
                 "dump": "VMCB control: exitcode"},
         "vmx": {"shutdown": (0x2, "TRIPLE_FAULT"), "bad-insn": (0x1a, "VMXOFF"),
                 "dump": "VMCS exit: reason"}}


def vm(name, cmdline="selftest", memory="16M", vcpus=1, kernel=GUEST):
    return (f"[vm {name}]\nmemory = {memory}\nvcpus = {vcpus}\nkernel = {kernel}\n"
            f"cmdline = {cmdline}\n\n")


def guest_lines(r, name):
    return [l[len(name) + 3:] for l in r.lines if l.startswith(f"[{name}] ")]


def assert_selftest_passed(r, name, checks):
    lines = guest_lines(r, name)
    fails = [l for l in lines if l.startswith("FAIL")]
    assert not fails, f"{name}: {fails}\n{r.describe()}"
    for check in checks:
        assert f"PASS: {check}" in lines, f"{name}: no 'PASS: {check}'\n{r.describe()}"
    r.search(rf"^\[{name}\] selftest: {len(checks)} passed, 0 failed$")
    r.search(rf"^kestrel: vm \d+ \({name}\) stopped: powered off by the guest \(status 0\)$")


# The selftest boot runs on two host CPUs (issue 10). The vCPUs are placed round-robin,
# so beta's two vCPUs run on different CPUs: its smp check (INIT-SIPI, IPIs both ways)
# crosses CPUs. Not -smp 4 here: QEMU's four CPU threads beside Bochs on two cores
# lose their host CPU for tens of ms (a CI run saw beta's timer check wake 10 ms late
# and its timer-cancel fire, which now retries a cancel that returned after its
# deadline); -smp 4 runs in make soak and make bench.
HOST_CPUS = {"svm": 2, "vmx": 2}


def handoffs(r, name):
    """The `hand-offs:` figures of VM `name`'s stats (printed at the end in batch mode):
    (loans to IPI targets, of those handled within the loan, loans from PAUSE spins)."""
    m = r.search(rf"^vm \d+ \({name}\): \d+ exits$(?:\n  .*$)*?\n  hand-offs: (\d+) to IPI "
                 rf"targets \((\d+) handled the IPI within the loan\), (\d+) from PAUSE spins$")
    return tuple(int(x) for x in m.groups())


def test_guests_pass_every_selfcheck(boot_batch, backend):
    """alpha (1 vCPU) and beta (2 vCPUs, one on each host CPU) pass every self-check;
    so does gamma, whose 2 vCPUs share host CPU 1 (`cpus = 1`). There the sender of
    each of nmi-sti-shadow's 520 NMIs lends its sibling the CPU until the NMI's handler
    has ended (its IRET: SVM's IRET intercept, VMX's NMI-window exit) and 200 us more
    (core/sched.c): most of those loans are counted as handled. Without the IRET report
    such a loan would run out its 2 ms unanswered. (beta's vCPUs start on two CPUs, but
    the balancer may put them together, so beta may lend too.)"""
    n = HOST_CPUS[backend]
    r = boot_batch(vm("alpha") + vm("beta", vcpus=2) + vm("gamma", vcpus=2) + "cpus = 1\n",
                   smp=n)
    r.assert_ok()
    r.search(rf"^kestrel: smp: {n} of {n} CPUs online \(listed by the firmware's MP services\)$")
    r.search(r"^kestrel: vm 0 \(alpha\) placed: vCPU 0 on CPU 0$")
    r.search(rf"^kestrel: vm 1 \(beta\) placed: vCPU 0 on CPU 1, vCPU 1 on CPU {2 % n}$")
    r.search(r"^kestrel: vm 2 \(gamma\) placed: vCPU 0 on CPU 1, vCPU 1 on CPU 1$")
    assert_selftest_passed(r, "alpha", CHECKS_1_VCPU)
    assert_selftest_passed(r, "beta", CHECKS_SMP)
    assert_selftest_passed(r, "gamma", CHECKS_SMP)
    r.search(r"^kestrel: batch mode: every VM ended well; powering off$")
    # The final state table lists every VM.
    r.search(r"^0\s+alpha\s+stopped\s+1\s+16M\s+\d+\s+powered off")
    r.search(r"^1\s+beta\s+stopped\s+2\s+16M\s+\d+\s+powered off")
    r.search(r"^2\s+gamma\s+stopped\s+2\s+16M\s+\d+\s+powered off")
    ipi, handled, pause = handoffs(r, "gamma")
    print(f"gamma: {ipi} hand-offs to IPI targets, {handled} handled, {pause} from PAUSE")
    # Not all: the end of the sender's slice cuts a loan short, and so does a handler
    # that outlasts 2 ms on a loaded host (seen: 497-519 of 520).
    assert handled >= STI_NMIS_SENT * 3 // 4, (ipi, handled, r.describe())


def test_sti_hlt_never_loses_its_wakeup(boot_batch, backend):
    """Three tickers arm a 1 ms timer and wait with STI; HLT, 3,000 times each. An exit
    between the STI and the HLT (another VM's timer) leaves the guest in STI's interrupt
    shadow; QEMU's TCG does not load that shadow at VMRUN, so an interrupt offered then was
    taken before the HLT and the guest halted for good (each of three runs hung one
    ticker or more within 1,700 ticks). The SVM backend offers nothing under a shadow over
    a HLT."""
    if backend != "svm":
        pytest.skip("QEMU's VMRUN is the case: VMX enters with the guest's interruptibility "
                    "state and asks for an interrupt-window exit (vmx_offer_irq)")
    ticks = 3000
    r = boot_batch("".join(vm(f"t{i}", f"ticker period_ms=1 ticks={ticks}", memory="8M")
                           for i in range(3)), timeout=120)
    r.assert_ok()
    for i in range(3):
        assert f"tick {ticks}" in guest_lines(r, f"t{i}"), r.describe()


def test_guest_output_is_prefixed_per_line(boot_batch):
    r = boot_batch(vm("a") + vm("b"))
    r.assert_ok()
    banners = [l for l in r.lines if "kestrel-minimal: vm" in l]
    assert len(banners) == 2, r.describe()
    for line in banners:
        assert re.match(r"^\[(a|b)\] kestrel-minimal: vm \1 id \d", line), line


def test_triple_fault_stops_only_that_vm(boot_batch, backend):
    code, name = EXITS[backend]["shutdown"]
    r = boot_batch(vm("good") + vm("crash", "triple-fault", memory="8M"))
    r.assert_rc(1)                  # not every VM ended well
    r.search(rf"^kestrel: vm 1 \(crash\) vcpu 0: triple fault \(shutdown\) "
             rf"\(exit {code:#x} {name}\)$")
    r.search(rf"^{EXITS[backend]['dump']} {code:#x} ")   # the VMCB / VMCS dump
    r.search(r"^  RIP [0-9a-f]{16} RFLAGS")            # and the guest registers
    r.search(r"^kestrel: vm 1 \(crash\) stopped: triple fault")
    assert not any("FAIL: triple-fault did not stop" in l for l in r.lines), r.describe()
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)


def test_unhandled_instruction_stops_only_that_vm(boot_batch, backend):
    code, name = EXITS[backend]["bad-insn"]
    r = boot_batch(vm("bad", "bad-insn", memory="8M") + vm("good"))
    r.assert_rc(1)
    r.search(rf"^kestrel: vm 0 \(bad\) vcpu 0: unhandled exit {code:#x} \({name}\)$")
    r.search(rf"^{EXITS[backend]['dump']} {code:#x} ")
    r.search(rf"^kestrel: vm 0 \(bad\) stopped: unhandled exit {code:#x} \({name}\)$")
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)


def test_bad_config_entries_are_reported_and_others_start(boot_batch):
    cfg = (vm("sizeless", memory="12Q") + vm("good")
           + "[vm typo]\nmemroy = 8M\nkernel = guests/minimal.elf\n\n"
           + vm("missing", kernel="guests/no-such.elf", memory="8M")
           + "[vm good]\nmemory = 8M\nkernel = guests/minimal.elf\n")
    r = boot_batch(cfg)
    r.assert_rc(1)
    r.search(r'^kestrel: hv\.cfg:2: vm "sizeless": memory "12Q": expected a size like 64M$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "typo": .*memroy')
    r.search(r'^kestrel: vm "missing": cannot read kernel "guests/no-such\.elf": file not found$')
    r.search(r'^kestrel: hv\.cfg:\d+: .*duplicate.*"good"|^kestrel: hv\.cfg:\d+: vm "good".*')
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)
    r.search(r"^\d+\s+sizeless\s+failed\s")
    r.search(r"^\d+\s+missing\s+failed\s")


def test_corrupt_kernel_image_is_refused_with_the_failed_check(boot_batch, esp_dir, tmp_path):
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    elf = (esp / GUEST).read_bytes()
    (esp / "guests" / "notelf.bin").write_bytes(b"MZ" + elf[2:])
    (esp / "guests" / "truncated.elf").write_bytes(elf[:200])
    cfg = (vm("notelf", kernel="guests/notelf.bin", memory="8M")
           + vm("truncated", kernel="guests/truncated.elf", memory="8M") + vm("good"))
    r = boot_batch(cfg, esp=esp)
    r.assert_rc(1)
    r.search(r'^kestrel: vm 0 \(notelf\) not started: kernel "guests/notelf\.bin": '
             r'not an ELF file \(bad magic\)$')
    r.search(r'^kestrel: vm 1 \(truncated\) not started: kernel "guests/truncated\.elf": '
             r'segment at 0x[0-9a-f]+: data beyond the end of the file$')
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)


def relocated_elf(elf, paddr):
    """A copy of an ELF64 image whose first PT_LOAD segment asks for another address."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    out = bytearray(elf)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", out, at)[0] == 1:       # PT_LOAD
            struct.pack_into("<Q", out, at + 0x18, paddr)   # p_paddr
            return bytes(out)
    raise AssertionError("no PT_LOAD segment")


def test_kernel_that_does_not_fit_in_guest_ram(boot_batch, esp_dir, tmp_path):
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    (esp / "guests" / "high.elf").write_bytes(relocated_elf((esp / GUEST).read_bytes(),
                                                            0x40000000))
    r = boot_batch(vm("high", kernel="guests/high.elf") + vm("good"), esp=esp)
    r.assert_rc(1)
    r.search(r'^kestrel: vm 0 \(high\) not started: kernel "guests/high\.elf": '
             r'segment at 0x40000000 does not fit in guest RAM$')
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)


def test_guest_reset_restarts_the_vm(boot_batch):
    """A reset through the ACPI reset register restarts the VM from its images: RAM is
    cleared, CMOS RAM survives (the guest counts its boots there). A reset from an NMI
    handler with another NMI latched drops that NMI (the soak's chaos VM triple-faulted
    at its first instruction after such a reset: the NMI came before it had an IDT)."""
    r = boot_batch(vm("rb", "reboot") + vm("rbn", "reboot-nmi") + vm("good"))
    r.assert_ok()
    r.search(r"^\[rb\] reboot: boot 1$")
    r.search(r"^kestrel: vm 0 \(rb\) restarts \(reset by the guest, 1 so far\)$")
    r.search(r"^\[rb\] reboot: boot 2$")
    assert_selftest_passed(r, "rb", CHECKS_1_VCPU)
    r.search(r"^\[rbn\] reboot: resetting from the NMI handler, another NMI latched$")
    r.search(r"^kestrel: vm 1 \(rbn\) restarts \(reset by the guest, 1 so far\)$")
    r.search(r"^\[rbn\] reboot: boot 2$")
    assert_selftest_passed(r, "rbn", CHECKS_1_VCPU)
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)
