"""Debian's Linux (bzImage + busybox initramfs) under Kestrel: it reaches init, a person
can use its shell from the console, `poweroff` stops only that VM, it runs next to a
minimal guest, and its boot log shows the same milestones as a direct QEMU boot."""
import datetime
import difflib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALLOWLIST = Path(__file__).with_name("linux_boot_allowlist.txt")
CTRL_A3 = "\x01\x01\x01"

LINUX_VM = """
[vm linux]
memory = 256M
boot = linux
kernel = guests/bzImage
initrd = guests/initramfs.cpio.gz
cmdline = console=ttyS0 {extra}
"""
MINIMAL_VM = """
[vm minimal]
memory = 16M
kernel = guests/minimal.elf
cmdline = selftest
"""


def direct_module():
    spec = importlib.util.spec_from_file_location("run_linux_direct",
                                                  REPO / "scripts" / "run-linux-direct.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def linux_images(esp_dir):
    if not (esp_dir / "guests" / "bzImage").is_file():
        pytest.skip("no guests/bzImage on the ESP: `make` builds it from Debian packages")


def assert_reached_init_milestone(out):
    """/init's first act, the boot milestone 0x60 on port 0x440, is in `stats` once, after
    the VM started and before now (the time since it started, on the header line)."""
    head = re.search(r"boot milestones \(port 0x440\): (\d+) recorded, 0 dropped; "
                     r"started +([\d.]+) ms ago", out)
    assert head, out
    marks = re.findall(r"^ +0x60 userspace +reached init +([\d.]+) ms  tsc [0-9a-f]{16}$",
                       out, re.M)
    assert len(marks) == 1, out
    assert 0 < float(marks[0]) < float(head.group(2)), out


def test_linux_shell_through_the_console_next_to_a_minimal_guest(interactive_session, backend):
    with interactive_session(MINIMAL_VM + LINUX_VM.format(extra="")) as s:
        s.expect(r"\[minimal\] selftest: \d+ passed, 0 failed", timeout=300)
        s.expect(r"\[linux\] KESTREL-LINUX-INIT: reached init", timeout=300)
        s.expect(r"\[linux\] Enter 'help' for a list of built-in commands", timeout=60)
        assert_reached_init_milestone(s.command("stats linux"))
        out = s.command("stats minimal")          # its kmain's first act, before it stopped
        assert re.search(r"^ +0x40 kernel +kernel entry +\d+\.\d{3} ms  tsc [0-9a-f]{16}$",
                         out, re.M), out
        s.child.send(CTRL_A3)
        s.expect(r"kestrel: console input goes to vm 1 \(linux\)")
        s.expect(r"\[linux\] .*# ")                         # the shell's prompt
        s.child.send("uname -a\r")
        s.expect(r"\[linux\] Linux \S+ 6\.1\.\S+ .*x86_64")
        s.child.send("cat /proc/interrupts\r")
        s.expect(r"\[linux\] \s+\d+:\s+\d+\s+IO-APIC\s+4-edge\s+ttyS0")
        s.expect(r"\[linux\] LOC:\s+\d+")
        s.child.send("date -u +%Y-%m-%dT%H\r")
        # The guest clock starts from the RTC and may lag the host's (Bochs
        # runs its clock by instruction count), so accept any day it could
        # show: from two hours ago up to now.
        now = datetime.datetime.utcnow()
        days = {f"{t:%Y-%m-%d}" for t in (now - datetime.timedelta(hours=2), now)}
        s.expect(rf"\[linux\] ({'|'.join(days)})T\d\d")
        s.child.send("poweroff -f\r")
        s.expect(r"kestrel: vm 1 \(linux\) stopped: powered off by the guest \(ACPI S5\)")
        s.expect(r"kestrel: console input goes to the hypervisor")
        out = s.command("vms")
        assert re.search(r"^0\s+minimal\s+stopped\s.*powered off", out, re.M), out
        assert re.search(r"^1\s+linux\s+stopped\s.*ACPI S5", out, re.M), out


def smp_vm(vcpus, protocol="linux"):
    cfg = LINUX_VM.format(extra="kestrel.smp kestrel.poweroff").replace(
        "memory = 256M", f"memory = 256M\nvcpus = {vcpus}")
    if protocol == "pvh":
        cfg = cfg.replace("boot = linux", "boot = pvh").replace("guests/bzImage",
                                                                 "guests/vmlinux")
    return cfg


def assert_smp_guest(r, vcpus, name="linux", vm_id=0):
    """Every vCPU came up through INIT/SIPI, ran one of the parallel busy loops (its
    user+system time grew), and the guest powered off."""
    r.assert_ok()
    r.search(rf"^\[{name}\] \[ *[\d.]+\] smp: Brought up 1 node, {vcpus} CPUs$")
    r.search(rf"^\[{name}\] KESTREL-LINUX-CPUS: online 0-{vcpus - 1} nproc {vcpus}$")
    busy = dict(re.findall(rf"^\[{name}\] KESTREL-LINUX-CPU-BUSY: cpu(\d+) (\d+)$",
                           r.log_text, re.M))
    assert sorted(busy) == [str(c) for c in range(vcpus)], r.describe()
    idle = [c for c, jiffies in busy.items() if int(jiffies) == 0]
    assert not idle, f"{name}: CPUs {idle} ran none of the parallel work\n{r.describe()}"
    r.search(rf"^kestrel: vm {vm_id} \({name}\) stopped: powered off by the guest \(ACPI S5\)$")


def test_linux_smp_boots_runs_parallel_work_and_powers_off(boot_batch, backend):
    """A 4-vCPU bzImage boot: the APs wait for SIPI and Linux starts them."""
    assert_smp_guest(boot_batch(smp_vm(4), timeout=400), 4)


def test_smp_linux_guests_spread_over_host_cpus(boot_batch, backend):
    """Issue 10: a minimal guest and two 2-vCPU Linux guests on four host CPUs (QEMU
    -smp 4; Bochs with two; make soak): the five vCPUs are placed round-robin, so
    each Linux has its two vCPUs on different CPUs and every CPU runs guest code. Each
    Linux starts its second CPU (INIT-SIPI across host CPUs), runs a busy loop on both
    and powers off; the minimal guest's selftest passes beside them."""
    if os.environ.get("KESTREL_SOAK") != "1":
        pytest.skip("make soak only: it needs the machine's cores to itself (in make test, "
                    "with Bochs beside it on 2 cores, QEMU's 4 CPU threads were starved "
                    "and Linux reported soft lockups); host SMP is tested in make test "
                    "with the minimal guests (test_minimal.py, test_host_smp.py)")
    n = {"svm": 4, "vmx": 2}[backend]
    cfg = MINIMAL_VM + "".join(
        smp_vm(2).replace("[vm linux]", f"[vm {name}]") for name in ("linux-a", "linux-b"))
    r = boot_batch(cfg, timeout=400, smp=n)
    r.search(rf"^kestrel: smp: {n} of {n} CPUs online ")
    r.search(rf"^kestrel: vm 1 \(linux-a\) placed: vCPU 0 on CPU {1 % n}, vCPU 1 on CPU {2 % n}$")
    r.search(rf"^kestrel: vm 2 \(linux-b\) placed: vCPU 0 on CPU {3 % n}, vCPU 1 on CPU {4 % n}$")
    r.search(r"^\[minimal\] selftest: \d+ passed, 0 failed$")
    for vm_id, name in ((1, "linux-a"), (2, "linux-b")):
        assert_smp_guest(r, 2, name, vm_id)


def test_pvh_vmlinux_smp_boots_and_powers_off(boot_batch, backend):
    assert_smp_guest(boot_batch(smp_vm(2, "pvh"), timeout=400), 2)


def test_pvh_needs_the_entry_note(boot_batch, esp_dir, tmp_path):
    import shutil
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    cfg = (LINUX_VM.format(extra="").replace("boot = linux", "boot = pvh")
           .replace("guests/bzImage", "guests/minimal.elf") + MINIMAL_VM)
    r = boot_batch(cfg, esp=esp)
    r.assert_rc(1)
    r.search(r'^kestrel: vm 0 \(linux\) not started: kernel "guests/minimal\.elf": '
             r'no PVH entry note \(XEN_ELFNOTE_PHYS32_ENTRY\)$')
    r.search(r"^\[minimal\] selftest: \d+ passed, 0 failed$")


def test_bad_bzimage_is_refused_and_others_run(boot_batch, esp_dir, tmp_path):
    import shutil
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    image = bytearray((esp / "guests" / "bzImage").read_bytes())
    image[0x202:0x206] = b"NoHd"                        # the "HdrS" magic
    (esp / "guests" / "broken.bzImage").write_bytes(bytes(image))
    (esp / "guests" / "tiny.bzImage").write_bytes(bytes(image[:0x100]))
    cfg = (LINUX_VM.format(extra="").replace("[vm linux]", "[vm broken]")
           .replace("guests/bzImage", "guests/broken.bzImage")
           + LINUX_VM.format(extra="").replace("[vm linux]", "[vm tiny]")
           .replace("guests/bzImage", "guests/tiny.bzImage") + MINIMAL_VM)
    r = boot_batch(cfg, esp=esp)
    r.assert_rc(1)
    r.search(r'^kestrel: vm 0 \(broken\) not started: kernel "guests/broken\.bzImage": '
             r'not a bzImage \(no 0xAA55 boot flag and "HdrS" header\)$')
    r.search(r'^kestrel: vm 1 \(tiny\) not started: kernel "guests/tiny\.bzImage": '
             r'too short for a Linux setup header \(256 bytes\)$')
    r.search(r"^\[minimal\] selftest: \d+ passed, 0 failed$")


def load_allowlist():
    rules = []
    for line in ALLOWLIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rx, _, why = line.partition("  #")
            rules.append((re.compile(rx.strip()), why.strip()))
    return rules


def milestones(lines, mod, allow):
    """(index, text) of each milestone in order, as run-linux-direct.py matches them,
    without the allowlisted ones."""
    found, pos = [], 0
    for i, (_required, rx) in enumerate(mod.MILESTONES):
        pat = re.compile(rx)
        hit = next((k for k in range(pos, len(lines)) if pat.search(lines[k])), None)
        if hit is None or any(a.search(lines[hit]) for a, _ in allow):
            continue
        found.append((i, lines[hit]))
        pos = hit + 1
    return found


def test_boot_log_matches_a_direct_qemu_boot(boot_batch, backend, tmp_path):
    mod = direct_module()
    direct_log = tmp_path / "direct.log"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "run-linux-direct.py"),
                           "--batch", "--quiet", "--append", "kestrel.poweroff",
                           "--log", str(direct_log), "--timeout", "300", "--", "-net", "none"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = boot_batch(LINUX_VM.format(extra="kestrel.poweroff"), timeout=300)
    r.assert_ok()
    guest = "\n".join(l[len("[linux] "):] for l in r.lines if l.startswith("[linux] "))
    allow = load_allowlist()
    want = milestones(mod.normalise(direct_log.read_text(errors="replace")), mod, allow)
    got = milestones(mod.normalise(guest), mod, allow)
    required = {i for i, (req, _) in enumerate(mod.MILESTONES) if req}
    assert required <= {i for i, _ in want}, "the reference boot lacks required milestones"
    if [i for i, _ in want] != [i for i, _ in got]:
        diff = difflib.unified_diff([t for _, t in want], [t for _, t in got],
                                    "direct QEMU boot", "under Kestrel", lineterm="", n=1)
        pytest.fail("boot milestones differ:\n" + "\n".join(diff))
    # Second check: no kernel complaint under Kestrel that the direct boot of the same
    # kernel does not print (an MSR the virtual CPU advertises but faults on, a warning
    # from a device model, ...), compared by message with times and addresses removed.
    extra = (complaints(guest, EMULATOR_WARNINGS.get(backend, ()))
             - complaints(direct_log.read_text(errors="replace")))
    assert not extra, "kernel complaints only under Kestrel:\n" + "\n".join(sorted(extra))


COMPLAINT = re.compile(r"WARNING:|unchecked MSR access|Call Trace|BUG:|Oops|"
                       r"general protection|RIP: ")
# Warnings the emulator's CPU model causes, whoever runs on it; each with the reason.
EMULATOR_WARNINGS = {
    # Bochs's corei7_skylake_x reports a leaf 0xD size for XCR0 0xe7 (AVX-512) that
    # differs from the sum of its own component offsets; Kestrel passes leaf 0xD through.
    "vmx": ("XSAVE consistency problem",
            # A Skylake model without SPEC_CTRL (not emulated, docs/cpu-model.md): Linux
            # says RETBleed is unmitigated; the direct reference boot is QEMU's AMD model.
            "RETBleed: WARNING"),
}


def complaints(log, allowed=()):
    """The kernel's warning, oops and bad-MSR lines, without timestamps and numbers; a
    line, or a whole "cut here" ... "end trace" report, naming an allowed text is dropped."""
    lines, kept, block = log.splitlines(), [], None
    for line in lines:
        if "[ cut here ]" in line:
            block = [line]
        elif block is not None:
            block.append(line)
            if "---[ end trace" in line:
                if not any(a in l for l in block for a in allowed):
                    kept += block
                block = None
        elif not any(a in line for a in allowed):
            kept.append(line)
    kept += block or []
    out = set()
    for line in kept:
        if COMPLAINT.search(line):
            line = re.sub(r"^.*?\[ *\d+\.\d+\] ", "", line)
            out.add(re.sub(r"0x[0-9a-f]+|[0-9a-f]{8,}|\+0x[0-9a-f]+/0x[0-9a-f]+", "N", line))
    return out


MULTIBOOT_VM = """
[vm mb]
memory = 16M
boot = multiboot
kernel = guests/multiboot-hello.elf
cmdline = hello world
"""


def test_multiboot_kernel_runs_as_under_qemu_kernel(boot_batch, esp_dir, tmp_path):
    """The same ELF32 image QEMU's -kernel boots prints the same line under Kestrel and
    leaves through the debug-exit port with status 0."""
    elf = esp_dir / "guests" / "multiboot-hello.elf"
    direct = subprocess.run(["qemu-system-x86_64", "-nographic", "-no-reboot", "-m", "16M",
                             "-accel", "tcg", "-kernel", str(elf), "-append", "hello world",
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert direct.returncode == 1, direct.stdout[-2000:]      # status 0 -> (0 << 1) | 1
    assert re.search(r'multiboot-hello: magic ok, cmdline "\S*multiboot-hello\.elf hello world", '
                     r'mem_upper 0x[0-9A-F]{8} KiB', direct.stdout), direct.stdout[-2000:]
    r = boot_batch(MULTIBOOT_VM + MINIMAL_VM)
    r.assert_ok()
    r.search(r'^\[mb\] multiboot-hello: magic ok, cmdline "hello world", '
             r'mem_upper 0x00003C00 KiB$')                    # 16 MiB - 1 MiB, in KiB
    r.search(r"^kestrel: vm 0 \(mb\) stopped: debug-exit port: status 0$")


def test_multiboot_without_header_is_refused(boot_batch):
    r = boot_batch(MULTIBOOT_VM.replace("multiboot-hello.elf", "minimal.elf") + MINIMAL_VM)
    r.assert_rc(1)
    r.search(r'^kestrel: vm 0 \(mb\) not started: kernel "guests/minimal\.elf": '
             r'no Multiboot header in its first 8 KiB$')


def test_linux_guests_side_by_side(boot_batch, backend):
    """Two default kernels and Debian's cloud flavour at once (three kernels setting up
    their FPU/XSAVE state on one CPU used to make the hypervisor take a #GP: security
    review finding 4): each reaches init and powers off."""
    def named(name, kernel):
        return (LINUX_VM.format(extra="kestrel.poweroff").replace("[vm linux]", f"[vm {name}]")
                .replace("guests/bzImage", kernel))
    cfg = (named("linux-a", "guests/bzImage") + named("linux-b", "guests/bzImage")
           + named("cloud", "guests/bzImage-cloud"))
    r = boot_batch(cfg, timeout=400)
    r.assert_ok()
    for i, name in enumerate(("linux-a", "linux-b", "cloud")):
        r.search(rf"^\[{name}\] KESTREL-LINUX-INIT: reached init$")
        r.search(rf"^kestrel: vm {i} \({name}\) stopped: powered off by the guest \(ACPI S5\)$")
    r.search(r"^\[cloud\] \[ *[\d.]+\] Linux version \S+-cloud-amd64 ")
