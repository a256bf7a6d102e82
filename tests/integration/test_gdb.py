"""The gdb stub (issue 11, item 1; docs/gdb.md): Debian's gdb in batch mode on COM2
(the runner's --gdb-socket) against the minimal guest in ticker mode, with its ELF for
symbols. It attaches (the VM pauses), reads registers of both vCPUs, the control
registers (monitor sregs, and the same through the target description: $cr3,
$fs_base...) and memory at a symbol, guest-virtual and guest-physical
(monitor phys; compared with the ELF's bytes), breaks on timer_arm (called once a
tick), continues to it, steps one instruction, watches the tick count (ticker_count,
written once a tick: gdb's `watch`, a Z2 write watchpoint on the console's write-watch)
and continues to its next write, whose old and new value gdb shows, deletes the
watchpoint and lets two more ticks pass without a stop, sets a hardware breakpoint
(hbreak), a read watchpoint (rwatch: the tick's read of the count stops, its write does
not) and an access one (awatch: its write, then its read), and detaches; a second session
by hand sets a Z2 and reads the exact stop reply (T05watch:<addr>;thread:1;), removes
it, the same for a Z3 (T05rwatch:...), stops on the store to the count and steps over it with the Z2 in (the step's stop
reply names the watchpoint too; svm only), lets the guest run and stops it with Ctrl-C
(gdb's batch mode cannot); the guest then ticks on to its normal end. Linux (no
symbols: its vmlinux has none) is stopped at its first console line, its registers and
the code at RIP read, and gdb detaches; a second session, once /init printed where
KASLR put linux_banner and version_proc_show (/proc/kallsyms; Debian ships no real
System.map), reads the banner at its address, breaks on the function (the guest reads
/proc/version in a loop), continues to it, deletes the breakpoint and lets it boot on to
its power-off, which gdb sees as the end of the program. COM2 is on a Unix socket (--gdb-socket) for the minimal guest and on a
local TCP port (--gdb PORT, `target remote :PORT`) for Linux; the timeouts are scaled
for Bochs."""
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

import harness

# Enough ticks to outlast both sessions. Bochs skips the time its CPU idles, so there the
# ticks pass at emulation speed: 150 ran out during the second session (the VM powered
# off before the detach).
TICKS = {"svm": 150, "vmx": 500}


def config(backend):
    return ("[vm tick]\nmemory = 16M\nvcpus = 2\nkernel = guests/minimal.elf\n"
            f"cmdline = ticker period_ms=200 ticks={TICKS[backend]}\n")

GDB = shutil.which("gdb") or "/usr/bin/gdb"


def symbols(elf):
    """name -> address (nm)."""
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in out.splitlines()) if len(f) == 3}


def elf_bytes(elf, addr, size):
    """size bytes at virtual address addr from the ELF64's loadable segments."""
    data = Path(elf).read_bytes()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, off, vaddr, _, filesz, _, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and vaddr <= addr and addr + size <= vaddr + filesz:
            return data[off + addr - vaddr:off + addr - vaddr + size]
    raise AssertionError(f"{addr:#x} is not in a loaded segment of {elf}")


def wait_for(log, pattern, proc, timeout):
    """Waits until the serial log matches; returns the match."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(pattern, log.read_text(errors="replace") if log.exists() else "", re.M)
        if m:
            return m
        assert proc.poll() is None, f"the runner ended early (rc {proc.returncode})"
        time.sleep(0.5)
    raise AssertionError(f"no {pattern!r} in the serial log within {timeout} s")


LINUX_CONFIG = """
[vm linux]
memory = 256M
boot = linux
kernel = guests/bzImage
initrd = guests/initramfs.cpio.gz
cmdline = console=ttyS0 kestrel.gdb kestrel.poweroff
"""


def run_gdb(elf, sock, commands, timeout=120):
    """gdb -batch on the socket (a path, or a TCP port on 127.0.0.1); elf None: no
    symbols, the architecture set by hand."""
    # remotetimeout: under Bochs, running Linux, replies were seen to take longer than
    # gdb's default 2 s.
    args = [GDB, "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set remotetimeout 30"]
    if elf is None:
        args += ["-ex", "set architecture i386:x86-64"]
    args += ["-ex", f"target remote {':' if isinstance(sock, int) else ''}{sock}"]
    for c in commands:
        args += ["-ex", c]
    proc = subprocess.run(args + ([str(elf)] if elf else []), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc.stdout


def start_runner(backend, esp_dir, tmp_path, config, sock, timeout=harness.BATCH_TIMEOUT):
    """COM2 on the Unix socket sock, or with an int on that TCP port (--gdb PORT)."""
    be = harness.BACKENDS[backend]
    args = harness.runner_args(esp_dir, tmp_path, config, timeout * be.scale, backend=backend)
    com2 = ["--gdb", str(sock)] if isinstance(sock, int) else ["--gdb-socket", str(sock)]
    return subprocess.Popen([harness.PYTHON, str(be.runner), "--batch", *com2, *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checksum(payload):
    return f"{sum(payload.encode()) & 0xff:02x}"


class RawSession:
    """The protocol by hand, for what gdb's batch mode cannot do (Ctrl-C)."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""

    def send(self, payload):
        self.sock.sendall(f"${payload}#{checksum(payload)}".encode())

    def reply(self):
        """The next packet's payload (acks skipped; its checksum checked), acked."""
        while True:
            m = re.search(rb"\$([^#]*)#([0-9a-f]{2})", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                payload = m.group(1).decode()
                assert m.group(2).decode() == checksum(payload), m.group(0)
                self.sock.sendall(b"+")
                return payload
            data = self.sock.recv(4096)
            assert data, "the stub closed the connection"
            self.buf += data

    def close(self):
        self.sock.close()


def store_to(elf, name):
    """The address of the one instruction that stores to the symbol (objdump)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    found = re.findall(rf"^ +([0-9a-f]+):\s+mov\s+%\w+,.*<{name}>$", out, re.M)
    assert len(found) == 1, found
    return int(found[0], 16)


def interrupt_running(sock, watch, store):
    """Attach; a write watchpoint (Z2) on the 8 bytes at `watch`, continue: the stop
    reply names it; removed (z2); the same for a read watchpoint (Z3, rwatch). A breakpoint on the store to it (`store`), continue
    to it, the breakpoint out, the watchpoint in and one step (vCont;s:1: the other
    vCPU held, as gdb's scheduler-locking asks): the step's stop reply names the
    watchpoint. Continue, Ctrl-C: the stop reply says SIGINT; then detach.
    The replies in order."""
    s = RawSession(sock)

    def ask(pkt):
        s.send(pkt)
        return s.reply()

    try:
        first = ask("?")
        vcont = ask("vCont?")
        z2 = ask(f"Z2,{watch:x},8")
        hit = ask("c")
        unz2 = ask(f"z2,{watch:x},8")
        read = [ask(p) for p in (f"Z3,{watch:x},8", "c", f"z3,{watch:x},8")]
        step = [ask(p) for p in (f"Z0,{store:x},1", "c", f"z0,{store:x},1",
                                 f"Z2,{watch:x},8", "vCont;s:1", f"z2,{watch:x},8")]
        s.send("c")
        # Not long: Bochs skips the time its CPU idles, and the ticker idles between
        # ticks, so it would soon be at its end.
        time.sleep(0.5)
        s.sock.sendall(b"\x03")
        stop = s.reply()
        s.send("D")
        detach = s.reply()
    finally:
        s.close()
    return first, vcont, z2, hit, unz2, read, step, stop, detach


def values(out, name):
    """The values of `echo NAME=` markers followed by a print (p/x)."""
    return [int(v, 16) for v in re.findall(rf"^{name}=\$\d+ = (0x[0-9a-f]+)$", out, re.M)]


def test_gdb_minimal(backend, esp_dir, tmp_path):
    elf = Path(esp_dir) / "guests" / "minimal.elf"
    syms = symbols(elf)
    target = syms["timer_arm"]
    sock = tmp_path / "gdb.sock"
    log = tmp_path / "serial.log"
    scale = harness.BACKENDS[backend].scale
    runner = start_runner(backend, esp_dir, tmp_path, config(backend), sock)
    try:
        wait_for(log, r"^\[tick\] tick 3\r?$", runner, harness.BOOT_TIMEOUT * scale)
        start = time.monotonic()
        out = run_gdb(elf, sock, [
            "echo RIP=", "p/x $rip", "info symbol $rip",
            "info threads", "thread 2", "echo RIP2=", "p/x $rip", "thread 1",
            "monitor help", "monitor sregs",
            "echo FS_BASE=", "p/x $fs_base", "echo GS_BASE=", "p/x $gs_base",
            "echo CR0=", "p/x $cr0", "echo CR3=", "p/x $cr3", "echo CR4=", "p/x $cr4",
            "echo EFER=", "p/x $efer", "echo CR8=", "p/x $cr8", "info registers fs_base",
            "x/16xb ticker_run",
            "echo @PHYS\\n", "monitor phys on", f"x/8xb {syms['ticker_run']:#x}",
            "x/8xb 0x1000000", "monitor phys off", "echo @VIRT\\n",
            f"break *{target:#x}", "continue", "echo HIT=", "p/x $rip",
            "stepi", "echo STEP=", "p/x $rip", "delete",
            "echo @WATCH\\n", "watch ticker_count", "continue", "echo WRIP=", "p/x $rip",
            "echo COUNT=", "p/x ticker_count", "delete", "echo @UNWATCHED\\n",
            f"break *{target:#x}", "ignore 3 2", "continue", "echo COUNT2=", "p/x ticker_count",
            "echo TICK=", "p/x $rip", "delete",
            "echo @HW\\n", f"hbreak *{target:#x}", "continue", "echo HW=", "p/x $rip",
            "echo HWCOUNT=", "p/x ticker_count", "continue", "echo HW=", "p/x $rip",
            "echo HWCOUNT=", "p/x ticker_count", "delete",
            "echo @RWATCH\\n", "rwatch ticker_count", "continue", "echo RRIP=", "p/x $rip",
            "delete", "echo @AWATCH\\n", "awatch ticker_count", "continue", "continue",
            "delete", "echo @END\\n",
            "detach"], timeout=120 * scale)
        gdb_seconds = time.monotonic() - start
        print(out)
        ticks_before = len(re.findall(r"^\[tick\] tick ", log.read_text(errors="replace"),
                                      re.M))
        # On vmx under Bochs (no monitor trap flag) the step is a TF over a store the
        # hypervisor emulates: the #DB Bochs had scheduled for it must not reach the guest.
        replies = interrupt_running(sock, syms["ticker_count"], store_to(elf, "ticker_count"))
        rc = runner.wait(timeout=harness.BATCH_TIMEOUT * scale)
    finally:
        if runner.poll() is None:
            runner.kill()
    text = harness.clean_serial(log.read_text(errors="replace"))
    lo = min(a for n, a in syms.items() if n in ("_start", "kmain", "ticker_run"))
    rip, = values(out, "RIP")
    assert "in section .text" in out and rip >= lo, out
    assert re.search(r"^\* 1 +Thread 1 ", out, re.M) and re.search(r"^  2 +Thread 2 ", out,
                                                                    re.M), out
    assert len(values(out, "RIP2")) == 1, out
    virt_part, phys_part = out.split("@PHYS\n", 1)
    phys_part = phys_part.split("@VIRT\n", 1)[0]
    assert "(debugging vm 0 tick, guest-virtual addresses)" in out, out
    # monitor sregs: the guest's own page tables (guest-tools/minimal/paging.c).
    sregs = re.search(r"^vcpu 0: cr0 (0x[0-9a-f]+) cr2 0x[0-9a-f]+ cr3 (0x[0-9a-f]+) "
                      r"cr4 (0x[0-9a-f]+) efer (0x[0-9a-f]+)$", out, re.M)
    assert sregs, out
    cr0, cr3, cr4, efer = (int(v, 16) for v in sregs.groups())
    assert cr3 & ~0xfff == syms["boot_pml4"] and cr0 & 0x80000001 == 0x80000001, out
    assert cr4 & 0x20 and efer & 0x500 == 0x500, out             # PAE; LME, LMA
    # The target description's registers (qXfer:features:read:target.xml) are what
    # monitor sregs says of thread 1 (vCPU 0).
    bases = re.search(r"^  fs_base (0x[0-9a-f]+) gs_base (0x[0-9a-f]+) ", out, re.M)
    assert bases, out
    assert values(out, "FS_BASE") == [int(bases.group(1), 16)], out
    assert values(out, "GS_BASE") == [int(bases.group(2), 16)], out
    assert (values(out, "CR0"), values(out, "CR3")) == ([cr0], [cr3]), out
    assert (values(out, "CR4"), values(out, "EFER")) == ([cr4], [efer]), out
    assert len(values(out, "CR8")) == 1, out
    assert re.search(r"^fs_base +0x[0-9a-f]+ +\d+$", out, re.M), out
    # monitor phys on: guest-physical (the image is loaded where it is linked); the
    # end of its 16 MiB of RAM is the end of what can be read.
    assert "(debugging vm 0 tick, guest-physical addresses)" in out, out
    phys = re.findall(r"^0x[0-9a-f]+ <ticker_run>:\s+((?:0x[0-9a-f]{2}\s*){8})$", phys_part,
                      re.M)
    assert len(phys) == 1, out
    assert bytes(int(b, 16) for b in phys[0].split()) == elf_bytes(elf, syms["ticker_run"], 8)
    assert "Cannot access memory at address 0x1000000" in phys_part, out
    dump = re.findall(r"^0x[0-9a-f]+ <ticker_run(?:\+\d+)?>:\s+((?:0x[0-9a-f]{2}\s*)+)$",
                      virt_part, re.M)
    got = bytes(int(b, 16) for line in dump for b in line.split())
    assert got == elf_bytes(elf, syms["ticker_run"], 16), out
    assert values(out, "HIT") == [target], out
    step, = values(out, "STEP")
    assert step != target, out
    assert "detached" in out, out
    # gdb's watch: a hardware watchpoint (Z2), hit after the write (RIP past the MOV,
    # in ticker_run) with the old and the new count; deleted, two more ticks and
    # their writes pass and the next stop is the breakpoint.
    watch_part = out.split("@WATCH\n", 1)[1].split("@UNWATCHED\n", 1)[0]
    assert "Hardware watchpoint 2: ticker_count" in watch_part, out
    old_new = re.search(r"^Old value = (\d+)\nNew value = (\d+)$", watch_part, re.M)
    assert old_new and int(old_new.group(2)) == int(old_new.group(1)) + 1, out
    wrip, = values(out, "WRIP")
    tr_lo, tr_hi = syms["ticker_run"], min(a for a in syms.values() if a > syms["ticker_run"])
    assert tr_lo < wrip < tr_hi, (hex(wrip), out)
    assert values(out, "COUNT") == [int(old_new.group(2))], out
    assert values(out, "COUNT2") == [int(old_new.group(2)) + 2], out
    assert values(out, "TICK") == [target], out
    # hbreak: a hardware breakpoint (Z1: the page of timer_arm loses its execute right in
    # the nested tables; the rest of the page runs a step at a time with it back). Two
    # stops at timer_arm, one tick apart (the page also holds timer_wait's `sti; hlt`,
    # stepped as one: see step_over in core/watch.c).
    hw_part = out.split("@HW\n", 1)[1]
    assert re.search(rf"^Hardware assisted breakpoint 4 at {target:#x}", hw_part, re.M), out
    assert values(out, "HW") == [target, target], out
    first, second = values(out, "HWCOUNT")
    assert second == first + 1, out
    # rwatch (Z3): the page of ticker_count loses every right; the tick's write passes
    # (emulated, not a read), its read back stops, RIP past the load, with the value
    # read. awatch (Z4): the next tick's write (old and new value), then its read.
    rw_part = out.split("@RWATCH\n", 1)[1].split("@AWATCH\n", 1)[0]
    assert re.search(r"^Thread 1 hit Hardware read watchpoint 5: ticker_count\n\n"
                     r"Value = (\d+)$", rw_part, re.M), out
    read_value = int(re.search(r"^Value = (\d+)$", rw_part, re.M).group(1))
    assert read_value == second + 1, (read_value, second, out)
    rrip, = values(out, "RRIP")
    assert tr_lo < rrip < tr_hi and rrip != wrip, (hex(rrip), out)
    aw_part = out.split("@AWATCH\n", 1)[1].split("@END\n", 1)[0]
    hits = re.findall(r"^Thread 1 hit Hardware access \(read/write\) watchpoint 6: "
                      r"ticker_count\n\n"
                      r"((?:Old value = \d+\nNew value = \d+)|(?:Value = \d+))$", aw_part, re.M)
    assert hits == [f"Old value = {read_value}\nNew value = {read_value + 1}",
                    f"Value = {read_value + 1}"], out
    assert "SIGTRAP" not in out, out
    # The same by hand: the exact stop reply (E.3) with the watched address.
    first, vcont, z2, hit, unz2, read, step, stop, detach = replies
    assert (first, z2, unz2) == ("T05thread:1;", "OK", "OK"), replies
    assert vcont == "vCont;c;C;s;S", replies
    assert hit == f"T05watch:{syms['ticker_count']:x};thread:1;", replies
    assert read == ["OK", f"T05rwatch:{syms['ticker_count']:x};thread:1;", "OK"], replies
    # A step over the store: the same stop reply, RIP past the store.
    assert step == ["OK", "T05thread:1;", "OK", "OK", hit, "OK"], replies
    assert (stop, detach) == ("T02thread:1;", "OK"), replies
    # Attached and detached twice; the guest ran on to its end and ended well.
    assert text.count("kestrel: gdb attached to vm 0 (tick)") == 2, harness.tail(text)
    assert "kestrel: gdb detached from vm 0 (tick)" in text, harness.tail(text)
    assert re.search(rf"^\[tick\] tick {TICKS[backend]}$", text, re.M), harness.tail(text)
    assert ticks_before < TICKS[backend], ticks_before
    assert rc == 0, (rc, harness.tail(text))
    print(f"gdb session: {gdb_seconds:.1f} s")


def test_gdb_linux(backend, esp_dir, tmp_path):
    if backend == "vmx" and os.environ.get("KESTREL_SOAK") != "1":
        pytest.skip("make soak only: a Linux boot under Bochs takes 5 minutes of make test; "
                    "gdb on VMX is tested on the minimal guest, gdb on Linux on SVM")
    esp = Path(esp_dir) / "guests"
    if not (esp / "bzImage").is_file():
        pytest.skip("no guests/bzImage on the ESP: `make` builds it from Debian packages")
    version = (harness.REPO / "build" / "linux" / "VERSION").read_text().strip()
    sock = free_port()           # the runner's --gdb PORT, as docs/gdb.md shows it
    log = tmp_path / "serial.log"
    scale = harness.BACKENDS[backend].scale
    runner = start_runner(backend, esp_dir, tmp_path, LINUX_CONFIG, sock, timeout=300)
    try:
        # Session 1, at the first console line: registers and code, then detach.
        wait_for(log, r"^\[linux\] \[ *[\d.]+\] ", runner, harness.BOOT_TIMEOUT * scale)
        early = run_gdb(None, sock, ["echo RIP=", "p/x $rip", "echo CS=", "p/x $cs",
                                     "x/8xb $pc", "x/2i $pc", "detach"], timeout=120 * scale)
        print(early)
        # Session 2, once /init printed where KASLR put the symbols: the banner read at
        # its address, a breakpoint on version_proc_show (the guest reads /proc/version
        # in a loop), continue to it, the breakpoint deleted, continue to the power-off.
        syms = wait_for(log, r"^\[linux\] KESTREL-LINUX-SYMS:(.*)$", runner, 60 * scale)
        addr = dict(re.findall(r" (\w+) ([0-9a-f]+)", syms.group(1)))
        banner, func = int(addr["linux_banner"], 16), int(addr["version_proc_show"], 16)
        out = run_gdb(None, sock, [f"x/s {banner:#x}", f"break *{func:#x}", "continue",
                                   "echo HIT=", "p/x $pc", "delete", "continue"],
                      timeout=300 * scale)
        print(out)
        rc = runner.wait(timeout=300 * scale)
    finally:
        if runner.poll() is None:
            runner.kill()
    text = harness.clean_serial(log.read_text(errors="replace"))
    rip, = values(early, "RIP")
    assert rip >= 0xffffffff80000000, early          # in the kernel, mid-boot
    assert values(early, "CS") == [0x10], early       # __KERNEL_CS
    code = re.findall(r"^0x[0-9a-f]+:\s+((?:0x[0-9a-f]{2}\s*){8})$", early, re.M)
    assert len(code) == 1 and f"=> {rip:#x}:" in early, early
    assert "[Inferior 1 (Remote target) detached]" in early, early
    # The banner through the guest's page tables, as the kernel has it.
    assert re.search(rf'^{banner:#x}:\s+"Linux version {re.escape(version)} ', out, re.M), out
    # Stopped at the function's first byte, by the breakpoint (not a Ctrl-C or a step).
    assert re.search(rf"^Breakpoint 1, {func:#x} in ", out, re.M), out
    assert values(out, "HIT") == [func], out
    # Deleted, the guest ran on: the rest of its loop, init, its power-off, which ends
    # the program for gdb (W00) and the run well.
    assert "[Inferior 1 (Remote target) exited normally]" in out, out
    attach = text.index("kestrel: gdb attached to vm 0 (linux)")
    assert text.find("KESTREL-LINUX-INIT: reached init") > attach, harness.tail(text)
    assert "KESTREL-LINUX-GDB: read /proc/version 40 times" in text, harness.tail(text)
    assert text.count("kestrel: gdb attached to vm 0 (linux)") == 2, harness.tail(text)
    assert rc == 0, (rc, harness.tail(text))
