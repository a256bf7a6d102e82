#!/usr/bin/python3
"""Boot a Kestrel ESP under QEMU + OVMF.

    run-qemu.py [--esp DIR] [--config FILE] [--batch | --interactive] [--timeout SEC]
                [--log FILE] [--smp N] [--memory SIZE] [--console-socket PATH]
                [--gdb-socket PATH | --gdb PORT] [--print-cmd] [-- QEMU ARGS...]

Batch mode (default when stdin is not a TTY): the hv.cfg on the disk gets
"[hypervisor] batch = on"; the serial line goes to the log file and to stdout.
Interactive mode: the serial console is on this terminal (Ctrl-] x quits QEMU,
Ctrl-] h lists the other keys) and is also written to the log file. QEMU's escape key
is moved from Ctrl-A to Ctrl-] so that Ctrl-A reaches Kestrel, whose console switches
its input between VMs with Ctrl-A three times.

--console-socket PATH puts COM1 on a Unix socket for programs such as scripts/kestrelctl
(scripts/console_relay.py: one client at a time; the log file gets every byte, and what
Kestrel writes while no client is connected waits for the next one); the terminal then
gets QEMU's monitor in interactive mode, nothing in batch mode. --gdb-socket PATH adds COM2 on a
listening Unix socket, --gdb PORT on 127.0.0.1:PORT (`gdb -ex 'target remote :PORT'`); without
either the machine has no COM2.

A batch run that times out first gets a state report: the runner types `vms` and, for the
first eight VMs of hv.cfg, `regs`, `vcpu VM 0` and `trace VM` into the console (COM1 on
QEMU's stdin) and waits up to 15 s for the answers in the log. Not under Bochs (COM1 is a
file there).

Exit status: 0 the hypervisor reported success (it wrote 0x10 to port 0xf4, QEMU exit 33),
1 it reported a failure (0x11, QEMU exit 35), 124 timeout, 130 interrupted,
2 anything else (QEMU error, reset, killed). In interactive mode quitting QEMU
(Ctrl-] x, QEMU exit 0) is 0 too.
"""
import ctypes
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli import add_serial_socket_args, parser_and_extra  # noqa: E402
from console_relay import ConsoleRelay  # noqa: E402
from esp_image import make_disk_image  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVMF = "/usr/share/ovmf/OVMF.fd"
QEMU = "qemu-system-x86_64"
EXIT_PASS, EXIT_FAIL = (0x10 << 1) | 1, (0x11 << 1) | 1     # 33, 35
RC_PASS, RC_FAIL, RC_OTHER, RC_TIMEOUT, RC_INTERRUPTED = 0, 1, 2, 124, 130
KVM_CREATE_VM = 0xAE01
PR_SET_PDEATHSIG = 1


def log(msg):
    print(f"run-qemu: {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p, argv, extra = parser_and_extra(__doc__, argv)
    p.add_argument("--esp", metavar="DIR", default=os.path.join(REPO, "build", "esp"),
                   help="ESP directory (default: build/esp)")
    p.add_argument("--config", metavar="FILE", help="VM config that replaces the ESP's hv.cfg")
    p.add_argument("--log", metavar="FILE", help="serial log file (default: build/serial.log)")
    p.add_argument("--image", metavar="FILE", help="write the disk image here and keep it "
                   "(default: a temporary file, removed at exit)")
    p.add_argument("--timeout", type=float, metavar="SEC",
                   help="kill QEMU after SEC seconds (exit 124)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--interactive", dest="interactive", action="store_true",
                      default=None, help="console on the terminal (default if stdin is a TTY)")
    mode.add_argument("--batch", dest="interactive", action="store_false",
                      help="serial to the log and stdout; hv.cfg gets [hypervisor] batch = on")
    p.add_argument("--smp", type=int, default=1, metavar="N", help="CPUs (default: 1)")
    p.add_argument("--memory", default="2G", help="RAM, as for qemu -m (default: 2G)")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="auto: KVM when /dev/kvm is usable and the CPU has svm/vmx")
    add_serial_socket_args(p)
    p.add_argument("--print-cmd", action="store_true", help="print the QEMU command line")
    p.add_argument("--dry-run", action="store_true",
                   help="build the image and print the command, but do not run QEMU "
                   "(with --image to keep the image)")
    args = p.parse_args(argv)
    args.qemu_args = extra
    if args.interactive is None:
        args.interactive = sys.stdin.isatty()
    if args.log is None:
        args.log = os.path.join(REPO, "build", "serial.log")
    return args


def kvm_unusable_reason():
    """None when KVM can run a guest that itself uses SVM/VMX, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    except OSError as e:
        return f"/dev/kvm: cannot create a VM: {e.strerror}"
    finally:
        os.close(fd)
    with open("/proc/cpuinfo") as f:
        flags = next((line.split() for line in f if line.startswith("flags")), [])
    if "svm" not in flags and "vmx" not in flags:
        return "/dev/kvm works but the CPU has no svm/vmx flag (no nested virtualization)"
    return None


def accel_args(choice):
    """(QEMU arguments, description) for the chosen accelerator."""
    if choice == "auto":
        reason = kvm_unusable_reason()
        if reason is None:
            return ["-enable-kvm", "-cpu", "host"], "KVM (-enable-kvm -cpu host)"
        return ["-accel", "tcg", "-cpu", "max"], f"TCG (-cpu max); {reason}"
    if choice == "kvm":
        return ["-enable-kvm", "-cpu", "host"], "KVM (-enable-kvm -cpu host), forced"
    return ["-accel", "tcg", "-cpu", "max"], "TCG (-cpu max), forced"


def qemu_path(path):
    """A path as a QEMU option value: commas are doubled."""
    return str(path).replace(",", ",,")


def socket_chardev(ident, path):
    """A chardev listening on a Unix socket; QEMU starts without waiting for a client."""
    return ["-chardev", f"socket,id={ident},path={qemu_path(path)},server=on,wait=off"]


def serial_args(args):
    """COM1 (and COM2 with --gdb-socket or --gdb). COM1 on stdio with a log file, interactive mode
    muxing the monitor in (Ctrl-] c/x); or on a socket, the monitor alone on stdio."""
    com1 = console_args(args.interactive, args.log, args.relay_socket)
    if args.gdb_socket:
        com1 += socket_chardev("gdb0", args.gdb_socket) + ["-serial", "chardev:gdb0"]
    elif args.gdb is not None:
        com1 += ["-chardev", f"socket,id=gdb0,host=127.0.0.1,port={args.gdb},server=on,"
                 "wait=off", "-serial", "chardev:gdb0"]
    return com1


def console_args(interactive, log_path, relay):
    """relay: the socket of the runner's console relay, which QEMU connects to."""
    if relay:
        mon = ["-monitor", "stdio"] if interactive else []
        return (["-chardev", f"socket,id=con0,path={qemu_path(relay)}", "-serial",
                 "chardev:con0"] + mon)
    if interactive:
        return ["-chardev", f"stdio,id=con0,mux=on,logfile={qemu_path(log_path)}",
                "-serial", "chardev:con0", "-mon", "chardev=con0,mode=readline", "-echr", "0x1d"]
    return ["-chardev", f"stdio,id=con0,logfile={qemu_path(log_path)}",
            "-serial", "chardev:con0"]


def qemu_command(args, image, accel):
    return ([QEMU, "-machine", "pc", "-m", args.memory, "-smp", str(args.smp),
             "-bios", OVMF, "-drive", f"format=raw,file={qemu_path(image)}",
             "-nodefaults", "-vga", "none", "-display", "none", "-net", "none",
             "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
            + accel + serial_args(args) + args.qemu_args)


def map_status(status, interactive):
    """QEMU's exit status -> (our exit status, message or None)."""
    if status == EXIT_PASS:
        return RC_PASS, None
    if status == EXIT_FAIL:
        return RC_FAIL, "the hypervisor reported a failure (0x11 on port 0xf4)"
    if status == 0 and interactive:
        return RC_PASS, "QEMU quit"
    if status < 0:
        what = f"QEMU was killed by signal {-status} ({signal.Signals(-status).name})"
    elif status == 0:
        what = "QEMU exited with status 0 (a reset or power-off, not the isa-debug-exit port)"
    else:
        what = f"QEMU exited with status {status}"
    return RC_OTHER, f"{what}; expected 33 (pass) or 35 (fail) from port 0xf4"


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop(proc):
    """End QEMU: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with_parent():
    """In the child: get SIGTERM when run-qemu.py dies, even by SIGKILL (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


HANG_REPORT_VMS = 8         # the first VMs of the config get a state report on a timeout
HANG_REPORT_WAIT = 15       # seconds for the answers at most (they end with a prompt)


def hang_report_commands(config_path):
    """Console commands that show what each VM was doing when the run hung: the VM list,
    then for each of the first VMs in the config its registers, its vCPU 0 (control
    registers, events, local APIC) and its flight recorder (its last exits)."""
    try:
        with open(config_path) as f:
            names = re.findall(r"^\s*\[vm\s+([^\]\s]+)\s*\]", f.read(), re.MULTILINE)
    except OSError:
        names = []
    if not names:               # not a Kestrel configuration: nobody to ask
        return None
    cmds = ["vms"]
    for name in names[:HANG_REPORT_VMS]:
        cmds += [f"regs {name}", f"vcpu {name} 0", f"trace {name}"]
    return cmds


def hang_report(proc, cmds, log_path):
    """Types the commands into Kestrel's console (COM1 on QEMU's stdin) and waits for the
    prompt after the last one's output, so the log of a hung batch run says where each VM
    was. A hypervisor that does not answer is killed all the same after HANG_REPORT_WAIT."""
    try:
        with open(log_path, "rb") as f:
            text = f.read()
    except OSError:
        return
    if b"kestrel: console ready" not in text:     # nobody to ask (yet)
        return
    start = len(text)
    try:
        proc.stdin.write("".join(c + "\r" for c in cmds).encode())
        proc.stdin.flush()
    except OSError:
        return
    last = re.compile(r"kestrel> " + re.escape(cmds[-1]) + r"\r?\n(?:.*\n)*?kestrel> ")
    end = time.monotonic() + HANG_REPORT_WAIT
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.5)
        with open(log_path, "rb") as f:
            f.seek(start)
            if last.search(f.read().decode("ascii", "replace")):
                return


def run_qemu(cmd, interactive, timeout, report=None):
    """Run QEMU; returns our exit status. report: (console commands, log path) to send
    and wait for before killing a batch run that timed out."""
    stdin = None if interactive else subprocess.PIPE if report else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdin=stdin, preexec_fn=_die_with_parent)
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        if report:
            log(f"TIMEOUT after {timeout:g} s: asking Kestrel's console for each VM's state")
            hang_report(proc, *report)
        stop(proc)
        log(f"TIMEOUT: QEMU was still running after {timeout:g} s and has been killed")
        return RC_TIMEOUT
    except KeyboardInterrupt as e:
        # Ctrl-C reached QEMU too (same process group): give it a moment to quit itself.
        try:
            proc.wait(2)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pass
        stop(proc)
        log(f"interrupted ({e or 'SIGINT'}); QEMU stopped")
        return RC_INTERRUPTED
    rc, msg = map_status(status, interactive)
    if msg:
        log(msg)
    return rc


def start_relay(args):
    """--console-socket: QEMU's COM1 connects to args.relay_socket, relayed to the
    console socket."""
    if not args.console_socket:
        return None
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(args.relay_socket)
    listener.listen(1)
    relay = ConsoleRelay(args.console_socket, args.log, listener)
    relay.start()
    log(f"console on {args.console_socket} (serial log: {args.log})")
    return relay


def remove_gdb_socket(args):
    """QEMU leaves its listening socket's file behind."""
    if args.gdb_socket and not args.dry_run:
        try:
            os.unlink(args.gdb_socket)
        except FileNotFoundError:
            pass


def batch_report(args):
    """A batch run with COM1 on stdio gets the hang report (hang_report_commands)."""
    if args.interactive or args.console_socket:
        return None
    cmds = hang_report_commands(args.config or os.path.join(args.esp, "hv.cfg"))
    return (cmds, args.log) if cmds else None


def main(argv):
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    if shutil.which(QEMU) is None:
        log(f"{QEMU} not found: run `make setup` (bash scripts/setup.sh)")
        return RC_OTHER
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix="kestrel-qemu-")
    try:
        image = args.image or os.path.join(tmpdir, "disk.img")
        try:
            make_disk_image(args.esp, args.config, not args.interactive, image)
        except (OSError, RuntimeError) as e:
            log(f"cannot build the disk image: {e}")
            return RC_OTHER
        accel, desc = accel_args(args.accel)
        log(f"accelerator: {desc}")
        args.relay_socket = os.path.join(tmpdir, "com1.sock") if args.console_socket else None
        cmd = qemu_command(args, image, accel)
        if args.print_cmd or args.dry_run:
            print(shlex.join(cmd), file=sys.stderr, flush=True)
        if args.dry_run:
            return RC_PASS
        if args.interactive and not args.console_socket:
            log(f"serial log: {args.log}; Ctrl-] x quits QEMU, Ctrl-] h for help")
        relay = start_relay(args)
        try:
            return run_qemu(cmd, args.interactive, args.timeout, batch_report(args))
        finally:
            if relay:
                relay.stop()
    except KeyboardInterrupt:
        log("interrupted")
        return RC_INTERRUPTED
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        remove_gdb_socket(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
