#!/usr/bin/python3
"""Boot the Linux guest directly under QEMU (no hypervisor): the reference boot.

    run-linux-direct.py [--kernel FILE] [--initrd FILE] [--append EXTRA] [--log FILE]
                        [--timeout SEC] [--batch [--commands "CMD;CMD..."] | --interactive]
                        [--json FILE] [--accel tcg|kvm|auto] [--memory SIZE] [--smp N]
                        [--quiet] [--print-cmd] [-- QEMU ARGS...]
    run-linux-direct.py --milestones LOG [LOG...]

The images come from scripts/build-linux-guest.sh (default: build/linux/). The command is
  qemu-system-x86_64 -machine pc -cpu max -m 256M -nographic -no-reboot
      -kernel bzImage -initrd initramfs.cpio.gz
      -append "console=ttyS0 earlyprintk=ttyS0 panic=-1 EXTRA"
with COM1 on this program's stdio and copied to the log file (QEMU's chardev logfile=,
so the log holds exactly what the guest wrote). --kernel build/linux/vmlinux boots the
uncompressed ELF through its PVH note instead (QEMU supports that with -kernel).

Batch mode (default when stdin is not a TTY): no stdin; waits for the init marker
"KESTREL-LINUX-INIT: reached init" and the "KESTREL-LINUX-UPTIME:" line, then for the
shell prompt, types each --commands entry (split on ';') followed by an end marker that
carries its exit status, then types `poweroff -f` and waits for QEMU to exit. It reports
the wall time to the first serial output, to "Linux version", to the init marker, and the
guest's own uptime at init. The serial output is also shown on stdout (unless --quiet);
the summary goes to stderr, and with --json FILE to a JSON file.

Interactive mode: the serial console is on this terminal (Ctrl-A x quits QEMU, Ctrl-A c
the monitor; Ctrl-C goes to the guest), also written to the log file.

--milestones checks serial logs (of this script, or of a boot under the hypervisor) for
the boot milestones in MILESTONES, in order, after removing timestamps: exit 0 when every
required one is present and in order, 1 otherwise.

Exit status: 0 marker seen (batch: and the commands ran and `poweroff -f` ended QEMU),
1 the guest failed (QEMU exited before the marker, panic, no power-off), 124 timeout,
130 interrupted, 2 anything else (bad arguments, QEMU missing or failing to start).
"""
import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli import parser_and_extra  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST_DIR = os.path.join(REPO, "build", "linux")
QEMU = "qemu-system-x86_64"
BASE_APPEND = "console=ttyS0 earlyprintk=ttyS0 panic=-1"
MARKER = "KESTREL-LINUX-INIT: reached init"
UPTIME_RE = r"KESTREL-LINUX-UPTIME: ([0-9.]+)"
# PS1 from guest-tools/linux/init is '\u@\h:\w\$ ' (e.g. "root@kestrel-guest:~# ").
PROMPT_RE = r"@[\w.-]+:[^\r\n]*[#$] "
POWER_DOWN = r"reboot: Power down"
# Boot-log milestones: lines that every boot of this kernel + initramfs printed, in this
# order, in direct QEMU TCG boots (bzImage and PVH vmlinux, -smp 1 and 2); meant for
# comparing a boot under the hypervisor with this reference. Matched with re.search on lines with the "[    1.234567] " timestamp removed.
# (required, regex). Not required: lines that depend on what the platform offers (MADT, PCI
# root bridge in the DSDT, COM1 found through ACPI PnP, CMOS RTC, ACPI S5 power-off).
# Left out on purpose: the TSC lines (calibration against the PIT fails or not, and then
# runs late; "Refined TSC" is asynchronous), "Freeing initrd memory" (the initramfs is
# unpacked asynchronously), "Switched to clocksource" (tsc-early, hpet with
# -smp 2 under TCG, kvm-clock...), the duplicated console hand-over lines, KASLR lines.
MILESTONES = [
    (True, r"Linux version \S+ \("),      # not anchored: may follow firmware text
    (True, r"^Command line: "),
    (True, r"^BIOS-provided physical RAM map:"),
    (True, r"^NX \(Execute Disable\) protection: active"),
    (True, r"^ACPI: RSDP 0x"),
    (False, r"^ACPI: Using ACPI \(MADT\) for SMP configuration information"),
    (True, r"^smpboot: Allowing \d+ CPUs?, \d+ hotplug CPUs"),
    (True, r"^Kernel command line: "),
    (True, r"^Memory: \d+K/\d+K available"),
    (True, r"^NR_IRQS: \d+, nr_irqs: \d+"),
    (True, r"^printk: console \[ttyS0\] enabled"),
    (True, r"^ACPI: Core revision \d+"),
    (True, r"^APIC: Switch to symmetric I/O mode setup"),
    (True, r"^Calibrating delay loop"),
    (True, r"^smpboot: CPU0: "),
    (True, r"^smp: Brought up \d+ nodes?, \d+ CPUs?"),
    (True, r"^devtmpfs: initialized"),
    (True, r"^ACPI: Interpreter enabled"),
    (False, r"^PCI host bridge to bus 0000:00"),
    (True, r"^NET: Registered PF_INET protocol family"),
    (True, r"^Trying to unpack rootfs image as initramfs\.\.\."),
    (True, r"^Serial: 8250/16550 driver"),
    (False, r"ttyS0 at I/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A"),
    (False, r"^rtc_cmos \S+: registered as rtc0"),
    (True, r"^NET: Registered PF_INET6 protocol family"),
    (True, r"^Loading compiled-in X\.509 certificates"),
    (True, r"^Freeing unused kernel image \(initmem\) memory: \d+K"),
    (True, r"^Write protecting the kernel read-only data: \d+k"),
    (True, r"^Run /init as init process"),
    (True, r"^KESTREL-LINUX-INIT: reached init$"),
    (True, r"^KESTREL-LINUX-UPTIME: [0-9.]+$"),
    (False, r"^ACPI: PM: Preparing to enter system sleep state S5"),
    (False, r"^reboot: Power down"),
]
ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|c)")
STAMP_RE = re.compile(r"^\[\s*\d+\.\d+\] ")

RC_OK, RC_GUEST, RC_OTHER, RC_TIMEOUT, RC_INTERRUPTED = 0, 1, 2, 124, 130
PR_SET_PDEATHSIG = 1


def log(msg):
    print(f"run-linux-direct: {msg}", file=sys.stderr, flush=True)


class Timeout(Exception):
    pass


def parse_args(argv):
    p, argv, extra = parser_and_extra(__doc__, argv)
    p.add_argument("--kernel", default=os.path.join(GUEST_DIR, "bzImage"),
                   help="bzImage, or vmlinux for a PVH boot (default: build/linux/bzImage)")
    p.add_argument("--initrd", default=os.path.join(GUEST_DIR, "initramfs.cpio.gz"),
                   help="initramfs (default: build/linux/initramfs.cpio.gz)")
    p.add_argument("--append", default="", metavar="EXTRA",
                   help=f"added to the kernel command line after '{BASE_APPEND}'")
    p.add_argument("--log", metavar="FILE", help="serial log (default: build/linux-direct.log)")
    p.add_argument("--timeout", type=float, metavar="SEC",
                   help="give up after SEC seconds (exit 124); batch default 300")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--interactive", dest="interactive", action="store_true", default=None,
                      help="console on the terminal (default if stdin is a TTY)")
    mode.add_argument("--batch", dest="interactive", action="store_false",
                      help="no stdin: boot, run --commands, poweroff -f, report timings")
    p.add_argument("--commands", default="", metavar="'CMD;CMD'",
                   help="batch: shell commands typed after the prompt, split on ';'")
    p.add_argument("--json", metavar="FILE", help="batch: write the results as JSON here")
    p.add_argument("--quiet", action="store_true", help="batch: do not copy the serial to stdout")
    p.add_argument("--memory", default="256M", help="RAM, as for qemu -m (default: 256M)")
    p.add_argument("--smp", type=int, default=1, metavar="N", help="CPUs (default: 1)")
    p.add_argument("--accel", choices=("tcg", "kvm", "auto"), default="tcg",
                   help="tcg (default, the reference), kvm, or auto (kvm if /dev/kvm opens)")
    p.add_argument("--print-cmd", action="store_true", help="print the QEMU command line")
    args = p.parse_args(argv)
    args.qemu_args = extra
    if args.interactive is None:
        args.interactive = sys.stdin.isatty()
    if args.interactive and (args.commands or args.json):
        p.error("--commands and --json need --batch")
    if args.log is None:
        args.log = os.path.join(REPO, "build", "linux-direct.log")
    if args.timeout is None and not args.interactive:
        args.timeout = 300.0
    args.command_list = [c.strip() for c in args.commands.split(";") if c.strip()]
    return args


def qemu_path(path):
    """A path as a QEMU option value: commas are doubled."""
    return str(path).replace(",", ",,")


def accel_args(choice):
    if choice == "auto":
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
            choice = "kvm"
        except OSError:
            choice = "tcg"
    if choice == "kvm":
        return ["-accel", "kvm", "-cpu", "host"], "KVM (-cpu host)"
    return ["-accel", "tcg", "-cpu", "max"], "TCG (-cpu max)"


def qemu_command(args, accel):
    append = BASE_APPEND + (" " + args.append if args.append else "")
    if args.interactive:
        # COM1 and the monitor share the terminal (Ctrl-A c / Ctrl-A x); Ctrl-C is the guest's.
        serial = ["-chardev", f"stdio,id=con0,mux=on,signal=off,logfile={qemu_path(args.log)}",
                  "-serial", "chardev:con0", "-mon", "chardev=con0,mode=readline"]
    else:
        serial = ["-chardev", f"stdio,id=con0,signal=off,logfile={qemu_path(args.log)}",
                  "-serial", "chardev:con0", "-monitor", "none"]
    return ([QEMU, "-machine", "pc"] + accel +
            ["-m", args.memory, "-smp", str(args.smp), "-nographic", "-no-reboot",
             "-kernel", args.kernel, "-initrd", args.initrd, "-append", append]
            + serial + args.qemu_args)


def _die_with_parent():
    """In the child: get SIGTERM when this program dies, even by SIGKILL (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_interactive(cmd, timeout):
    proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent)
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait()
        log(f"TIMEOUT after {timeout:g} s: QEMU killed")
        return RC_TIMEOUT
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return RC_INTERRUPTED
    if status != 0:
        log(f"QEMU exited with status {status}")
        return RC_OTHER
    return RC_OK


class Batch:
    """Drives one batch boot through pexpect; fills self.result."""

    def __init__(self, args, cmd):
        import pexpect                      # python3-pexpect (Debian), /usr/bin/python3
        self.pexpect = pexpect
        self.args, self.cmd = args, cmd
        self.deadline = None
        self.child = None
        self.t0 = None
        self.result = {"kernel": os.path.abspath(args.kernel),
                       "initrd": os.path.abspath(args.initrd),
                       "append": cmd[cmd.index("-append") + 1], "log": os.path.abspath(args.log),
                       "qemu_command": shlex.join(cmd), "commands": []}

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def expect(self, patterns, what):
        """Wait for one of patterns (regexes); returns its index. EOF -> index len(patterns)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout(what)
        try:
            return self.child.expect(list(patterns) + [self.pexpect.EOF], timeout=left)
        except self.pexpect.TIMEOUT:
            raise Timeout(what) from None

    def guest_died(self, what):
        tail = (self.child.before or "")[-2000:]
        panic = re.search(r"Kernel panic[^\r\n]*", tail)
        self.result["error"] = (f"QEMU exited while waiting for {what}"
                                + (f" ({panic.group(0)})" if panic else ""))
        log(self.result["error"])
        return RC_GUEST

    def run(self):
        a = self.args
        self.t0 = time.monotonic()
        self.deadline = self.t0 + a.timeout
        self.child = self.pexpect.spawn(
            self.cmd[0], self.cmd[1:], encoding="utf-8", codec_errors="replace",
            echo=False, dimensions=(50, 500), preexec_fn=_die_with_parent,
            # pexpect trims its buffer, so a huge log never piles up in memory
            maxread=65536, searchwindowsize=None)
        if not a.quiet:
            self.child.logfile_read = sys.stdout
        r = self.result
        if self.expect([r"\S"], "the first serial output") == 1:
            return self.guest_died("the first serial output")
        r["t_first_output_s"] = self.now()
        if self.expect([r"Linux version (\S+)\s"], '"Linux version"') == 1:
            return self.guest_died('"Linux version"')
        r["t_linux_version_s"] = self.now()
        r["kernel_release"] = self.child.match.group(1)
        if self.expect([re.escape(MARKER)], "the init marker") == 1:
            return self.guest_died("the init marker")
        r["t_init_marker_s"] = self.now()
        if self.expect([UPTIME_RE], "the uptime line") == 1:
            return self.guest_died("the uptime line")
        r["guest_uptime_at_init_s"] = float(self.child.match.group(1))
        i = self.expect([PROMPT_RE, POWER_DOWN], "the shell prompt")
        if i == 2:
            return self.guest_died("the shell prompt")
        if i == 1:                                  # kestrel.poweroff on the command line
            return self.finish_poweroff(time.monotonic(), bool(a.command_list))
        r["t_prompt_s"] = self.now()
        for i, command in enumerate(a.command_list, 1):
            t = time.monotonic()
            # The end marker is typed as END-i-$? so only the shell's output has digits there.
            self.child.send(f"{command} ; echo KESTREL-CMD-END-{i}-$?\r")
            end_re = rf"KESTREL-CMD-END-{i}-(\d+)"
            if self.expect([end_re], f"command {i} ({command})") == 1:
                return self.guest_died(f"command {i} ({command})")
            text = self.child.before
            cut = text.find("$?")                 # drop the shell's echo of the typed line
            text = text[cut + 2:] if cut >= 0 else text
            output = text.replace("\r\n", "\n").replace("\r", "").strip("\n")
            r["commands"].append({"command": command, "status": int(self.child.match.group(1)),
                                  "seconds": round(time.monotonic() - t, 3), "output": output})
            if self.expect([PROMPT_RE], f"the prompt after command {i}") == 1:
                return self.guest_died(f"the prompt after command {i}")
        t = time.monotonic()
        self.child.send("poweroff -f\r")
        if self.expect([POWER_DOWN], "the power-off") == 1:
            return self.guest_died("the power-off")
        return self.finish_poweroff(t, False)

    def finish_poweroff(self, t, early):
        """After "reboot: Power down": wait for QEMU's exit and check its status."""
        r = self.result
        if self.expect([], "QEMU to exit after the power-off") != 0:
            raise Timeout("QEMU to exit after the power-off")
        self.child.close()
        r["t_poweroff_s"] = round(time.monotonic() - t, 3)
        r["t_total_s"] = self.now()
        r["qemu_status"] = self.child.exitstatus
        if self.child.exitstatus != 0:
            r["error"] = f"QEMU exited with status {self.child.exitstatus} after the power-off"
            log(r["error"])
            return RC_GUEST
        if early:
            r["error"] = "the guest powered off before the shell prompt (kestrel.poweroff?)"
            log(r["error"] + ": --commands not run")
            return RC_GUEST
        return RC_OK

    def stop(self):
        if self.child is not None and self.child.isalive():
            self.child.terminate(force=True)


def report(r):
    def s(key):
        return f"{r[key]:.2f} s" if key in r else "-"
    log(f"kernel {r.get('kernel_release', '?')}: first serial output {s('t_first_output_s')}, "
        f"'Linux version' {s('t_linux_version_s')}, init marker {s('t_init_marker_s')}, "
        f"prompt {s('t_prompt_s')} (wall, from QEMU start); guest uptime at init "
        f"{s('guest_uptime_at_init_s')}; total {s('t_total_s')}")
    for c in r["commands"]:
        log(f"command {c['command']!r}: status {c['status']}, {c['seconds']:.2f} s, "
            f"{len(c['output'].splitlines())} lines")


def normalise(text):
    """Serial log -> lines without ANSI escapes, CRs, timestamps; repeats collapsed."""
    out = []
    for line in ANSI_RE.sub("", text).replace("\r", "").split("\n"):
        line = STAMP_RE.sub("", line).rstrip()
        if line and (not out or out[-1] != line):
            out.append(line)
    return out


def check_milestones(path):
    """Print the milestone lines of one serial log; True if every required one is there,
    in order. A milestone is searched for after the previous one found."""
    with open(path, errors="replace") as f:
        lines = normalise(f.read())
    ok, pos = True, 0
    print(f"== {path}")
    for required, rx in MILESTONES:
        pat = re.compile(rx)
        hit = next((i for i in range(pos, len(lines)) if pat.search(lines[i])), None)
        if hit is not None:
            print(f"  ok       {lines[hit][:100]}")
            pos = hit + 1
            continue
        earlier = any(pat.search(line) for line in lines[:pos])
        what = "OUT OF ORDER" if earlier else "MISSING"
        if required:
            ok = False
        print(f"  {what if required else 'absent':8} /{rx}/" + ("" if required else " (optional)"))
    return ok


def main(argv):
    if argv and argv[0] == "--milestones":
        if len(argv) < 2:
            log("usage: run-linux-direct.py --milestones LOG [LOG...]")
            return RC_OTHER
        results = [check_milestones(p) for p in argv[1:]]
        return RC_OK if all(results) else RC_GUEST
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    if shutil.which(QEMU) is None:
        log(f"{QEMU} not found: run `make setup` (package qemu-system-x86)")
        return RC_OTHER
    for what, path in (("kernel", args.kernel), ("initrd", args.initrd)):
        if not os.path.isfile(path):
            log(f"{what} {path} not found: run scripts/build-linux-guest.sh build/linux")
            return RC_OTHER
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    accel, desc = accel_args(args.accel)
    cmd = qemu_command(args, accel)
    log(f"accelerator: {desc}; serial log: {args.log}")
    if args.print_cmd:
        print(shlex.join(cmd), file=sys.stderr, flush=True)
    if args.interactive:
        log("Ctrl-A x quits QEMU, Ctrl-A h for help; `poweroff -f` in the guest powers off")
        return run_interactive(cmd, args.timeout)

    batch = Batch(args, cmd)
    try:
        rc = batch.run()
    except Timeout as e:
        batch.result["error"] = f"timeout ({args.timeout:g} s) waiting for {e}"
        log(f"TIMEOUT: {args.timeout:g} s passed waiting for {e}; QEMU killed")
        rc = RC_TIMEOUT
    except KeyboardInterrupt:
        log("interrupted")
        rc = RC_INTERRUPTED
    finally:
        batch.stop()
        if not args.quiet:
            sys.stdout.write("\n")
            sys.stdout.flush()
    batch.result["status"] = rc
    report(batch.result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(batch.result, f, indent=2)
            f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
