#!/usr/bin/python3
"""Boot a Kestrel ESP under Bochs (Intel VMX) + OVMF.

    run-bochs.py [--esp DIR] [--config FILE] [--batch | --interactive] [--timeout SEC]
                 [--log FILE] [--bochs-log FILE] [--image FILE] [--cpu MODEL] [--ips N]
                 [--smp N] [--memory SIZE] [--console-socket PATH]
                 [--gdb-socket PATH | --gdb PORT]
                 [--print-cmd] [--dry-run] [-- BOCHSRC LINES...]

Batch mode (default when stdin is not a TTY): the hv.cfg on the disk gets
"[hypervisor] batch = on"; Bochs writes COM1 to the log file, which is copied to stdout.
Bochs exits with status 1 whatever happens, so the verdict comes from the serial log:
"kestrel: batch mode: every VM ended well; powering off" is a pass, "kestrel: batch mode:
some VMs did not end well; powering off" a failure; Bochs is stopped about 1 s after it.
Interactive mode: COM1 reaches this terminal through a TCP socket (Bochs connects to this
script) and is also written to the log file. Ctrl-] x quits Bochs, Ctrl-] Ctrl-] sends a
Ctrl-], Ctrl-C interrupts (exit 130). Bochs's own debugger is not reachable.

--console-socket PATH puts COM1 on a Unix socket, as run-qemu.py does: Bochs connects
COM1 to this script over TCP (Bochs 2.7 has no Unix socket mode) and
scripts/console_relay.py serves PATH (one client at a time; the log file gets every byte;
what comes while no client is connected waits for the next one). The verdict still comes
from the log; the terminal gets the serial output, and no keys. --gdb-socket PATH adds
COM2, relayed the same way, and --gdb PORT the same on 127.0.0.1:PORT (without either
the machine has no COM2).

Bochs's log (--bochs-log, default: the serial log's name with .bochs.log) is kept: its
"VMENTER FAIL" / "VMFAIL" lines explain failed VM entries. Extra arguments after "--" are
appended to the generated bochsrc, one line each. The display is VNC (rfb) without a
client: Bochs takes the first free port in 5900-5949 itself, so runs can go in parallel.

Exit status: 0 the hypervisor reported success, 1 it reported a failure, 124 no verdict
line before the timeout, 130 interrupted, 2 anything else (Bochs ended without a verdict
line; the tails of its output and log are printed). Quitting with Ctrl-] x is 0.
"""
import importlib.util
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from esp_image import make_disk_image  # noqa: E402
from console_relay import ConsoleRelay  # noqa: E402


def _load_run_qemu():
    spec = importlib.util.spec_from_file_location("run_qemu", os.path.join(HERE, "run-qemu.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


run_qemu = _load_run_qemu()     # shared: exit statuses, OVMF, signal and child helpers
RC_PASS, RC_FAIL, RC_OTHER = run_qemu.RC_PASS, run_qemu.RC_FAIL, run_qemu.RC_OTHER
RC_TIMEOUT, RC_INTERRUPTED = run_qemu.RC_TIMEOUT, run_qemu.RC_INTERRUPTED
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli import add_serial_socket_args, parser_and_extra  # noqa: E402

REPO = os.path.dirname(HERE)
BOCHS = "bochs"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
DEFAULT_CPU = "corei7_skylake_x"
DEFAULT_IPS = 50_000_000
VERDICTS = {b"kestrel: batch mode: every VM ended well; powering off": RC_PASS,
            b"kestrel: batch mode: some VMs did not end well; powering off": RC_FAIL}
GRACE = 1.0             # seconds of output still copied after the verdict line
POLL = 0.1
ESCAPE = b"\x1d"   # Ctrl-]: Ctrl-A belongs to Kestrel's console
TAIL = 20
raw_terminal = False    # set while the terminal is in raw mode: lines need CR LF


def log(msg):
    print(f"run-bochs: {msg}", file=sys.stderr, end="\r\n" if raw_terminal else "\n",
          flush=True)


def parse_args(argv):
    p, argv, extra = parser_and_extra(__doc__, argv)
    p.add_argument("--esp", metavar="DIR", default=os.path.join(REPO, "build", "esp"),
                   help="ESP directory (default: build/esp)")
    p.add_argument("--config", metavar="FILE", help="VM config that replaces the ESP's hv.cfg")
    p.add_argument("--log", metavar="FILE", help="serial log file (default: build/serial.log)")
    p.add_argument("--bochs-log", metavar="FILE",
                   help="Bochs's own log (default: the serial log's name + .bochs.log)")
    p.add_argument("--image", metavar="FILE", help="write the disk image here and keep it "
                   "(default: a temporary file, removed at exit)")
    p.add_argument("--timeout", type=float, metavar="SEC",
                   help="stop Bochs after SEC seconds without a verdict line (exit 124)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--interactive", dest="interactive", action="store_true",
                      default=None, help="console on the terminal (default if stdin is a TTY)")
    mode.add_argument("--batch", dest="interactive", action="store_false",
                      help="serial to the log and stdout; hv.cfg gets [hypervisor] batch = on")
    p.add_argument("--cpu", metavar="MODEL", default=DEFAULT_CPU,
                   help=f"Bochs CPU model, see `bochs --help cpu` (default: {DEFAULT_CPU})")
    p.add_argument("--ips", type=int, default=DEFAULT_IPS, metavar="N",
                   help="emulated instructions per emulated second; the guest TSC runs at "
                   f"this rate (default: {DEFAULT_IPS}, about the real speed)")
    p.add_argument("--smp", type=int, default=1, metavar="N", help="CPUs (default: 1)")
    p.add_argument("--memory", default="2G", help="RAM, e.g. 512M or 2G (default: 2G)")
    add_serial_socket_args(p)
    p.add_argument("--print-cmd", action="store_true",
                   help="print the bochsrc and the Bochs command line")
    p.add_argument("--dry-run", action="store_true",
                   help="build the image, print the bochsrc and command, but do not run Bochs")
    args = p.parse_args(argv)
    args.bochsrc_lines = extra
    if args.interactive is None:
        args.interactive = sys.stdin.isatty()
    if args.log is None:
        args.log = os.path.join(REPO, "build", "serial.log")
    if args.bochs_log is None:
        args.bochs_log = os.path.splitext(args.log)[0] + ".bochs.log"
    args.memory_mib = memory_mib(p, args.memory)
    return args


def memory_mib(parser, text):
    """'2G' / '512M' / '512' (MiB) -> MiB."""
    m = re.fullmatch(r"(\d+)([MG]?)B?", text.strip().upper())
    if not m:
        parser.error(f"--memory {text!r}: expected a size like 512M or 2G")
    return int(m[1]) << (10 if m[2] == "G" else 0)


def bochsrc(args, image, serial_lines):
    """The bochsrc text; serial_lines are the com1: (and com2:) lines."""
    lines = [f"romimage: file={run_qemu.OVMF}",
             f"vgaromimage: file={VGABIOS}",
             "pci: enabled=1, chipset=i440fx",
             f"cpu: model={args.cpu}, count={args.smp}, ips={args.ips}",
             f"memory: guest={args.memory_mib}, host={args.memory_mib}",
             f'ata0-master: type=disk, mode=flat, path="{image}"',
             "boot: disk",
             'display_library: rfb, options="timeout=0"',
             "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
             *serial_lines,
             "port_e9_hack: enabled=1",
             "clock: sync=none, time0=local",
             f'log: "{args.bochs_log}"',
             "panic: action=fatal",
             *args.bochsrc_lines]
    return "\n".join(lines) + "\n"


class SerialWatch:
    """Copies serial output to stdout (and a log file, if given), finds the verdict line
    and reports when the first line and the first "kestrel:" line arrived."""

    def __init__(self, start, log_file=None):
        self.start, self.log_file = start, log_file
        self.partial = b""
        self.verdict = self.verdict_at = None
        self.first_line = self.first_kestrel = False

    def _line(self, line):
        line = line.rstrip(b"\r")
        now = time.monotonic()
        if not self.first_line:
            self.first_line = True
            log(f"first serial line (OVMF) after {now - self.start:.1f} s")
        if not self.first_kestrel and line.startswith(b"kestrel:"):
            self.first_kestrel = True
            log(f"first 'kestrel:' line after {now - self.start:.1f} s")
        if self.verdict is None and line in VERDICTS:
            self.verdict, self.verdict_at = VERDICTS[line], now

    def feed(self, data):
        if not data:
            return
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        if self.log_file:
            self.log_file.write(data)
            self.log_file.flush()
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            self._line(line)


class FileSource:
    """Batch mode: the bytes Bochs appended to the serial log since the last read."""

    def __init__(self, path):
        self.path, self.pos = path, 0

    def read(self, wait):
        time.sleep(wait)
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return b""
        self.pos += len(data)
        return data

    def close(self):
        pass


class TerminalBridge:
    """Interactive mode: COM1 is a TCP connection that Bochs opens to `listener`; this
    terminal is in raw mode (Ctrl-C still raises SIGINT). read() forwards typed keys to
    the guest and returns its output, or None after Ctrl-] x."""

    def __init__(self, listener):
        global raw_terminal
        self.listener, self.conn, self.escape = listener, None, False
        self.fd, self.saved = sys.stdin.fileno(), None
        self.inputs = [self.fd]
        if os.isatty(self.fd):
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd)
            mode = termios.tcgetattr(self.fd)
            mode[3] |= termios.ISIG
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
            raw_terminal = True

    def close(self):
        global raw_terminal
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            raw_terminal = False
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()

    def _keys(self, keys):
        """Keys to send; None for Ctrl-] x. Ctrl-] Ctrl-] sends one Ctrl-]."""
        out = bytearray()
        for key in keys:
            key = bytes([key])
            if self.escape:
                self.escape = False
                if key in b"xX":
                    return None
                if key == ESCAPE:
                    out += key
            elif key == ESCAPE:
                self.escape = True
            else:
                out += key
        return bytes(out)

    def read(self, wait):
        if self.conn is None:
            if select.select([self.listener], [], [], wait)[0]:
                self.conn, _ = self.listener.accept()
                self.inputs.append(self.conn)
            return b""
        ready = select.select(self.inputs, [], [], wait)[0]
        if self.fd in ready:
            keys = os.read(self.fd, 1024)
            if not keys:
                self.inputs.remove(self.fd)         # stdin closed: output only
            elif (keys := self._keys(keys)) is None:
                return None
            else:
                self.conn.sendall(keys)
        data = self.conn.recv(65536) if self.conn in ready else b""
        if self.conn in ready and not data:
            self.inputs.remove(self.conn)           # Bochs closed it: it is ending
        return data


def watch(proc, source, serial, timeout):
    """Copy serial output until the verdict (plus GRACE), Bochs's end, the timeout or
    Ctrl-] x. Returns our exit status; Bochs is left running."""
    deadline = serial.start + timeout if timeout else None
    while True:
        data = source.read(POLL)
        if data is None:
            log("Ctrl-] x: stopping Bochs")
            return RC_PASS
        serial.feed(data)
        now = time.monotonic()
        if serial.verdict is not None and now - serial.verdict_at >= GRACE:
            return serial.verdict
        if proc.poll() is not None:
            serial.feed(source.read(0) or b"")
            if serial.verdict is not None:
                return serial.verdict
            log(f"Bochs ended (status {proc.returncode}) after {now - serial.start:.1f} s "
                "without a verdict line")
            return RC_OTHER
        if deadline is not None and now >= deadline:
            log(f"TIMEOUT: no verdict line after {timeout:g} s; stopping Bochs")
            return RC_TIMEOUT


def stop(proc):
    """End Bochs: SIGINT (its debugger stops the simulation and quits cleanly, removing
    the image's lock), then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail_file(path, n=TAIL):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def report_bochs(args, console, rc):
    """Print the Bochs log's VM-entry failures; after an unexplained end, the tails of
    Bochs's output and log too."""
    vmfail = [l for l in tail_file(args.bochs_log, 100000) if "VMFAIL" in l or "VMENTER" in l]
    for line in vmfail[-10:]:
        log(f"bochs log: {line}")
    if rc == RC_OTHER:
        for what, path in (("output", console), ("log", args.bochs_log)):
            log(f"--- tail of Bochs's {what} ({path}) ---")
            for line in tail_file(path):
                print(line, file=sys.stderr)
        sys.stderr.flush()


def socket_client(port):
    """A TCP listener for Bochs and the bochsrc line that connects `port` to it."""
    listener = socket.create_server(("127.0.0.1", 0))
    return listener, (f"{port}: enabled=1, mode=socket-client, "
                      f"dev=localhost:{listener.getsockname()[1]}")


def serial_setup(args):
    """(bochsrc serial lines, the terminal's listener or None, [(socket path, log path,
    listener)] to relay)."""
    terminal, relays = None, []
    if args.console_socket:
        listener, line = socket_client("com1")
        relays.append((args.console_socket, args.log, listener))
    elif args.interactive:
        terminal, line = socket_client("com1")
    else:
        line = f'com1: enabled=1, mode=file, dev="{args.log}"'
    lines = [line]
    if args.gdb_socket or args.gdb is not None:
        listener, line = socket_client("com2")
        relays.append((args.gdb_socket or args.gdb, os.devnull, listener))
        lines.append(line)
    return lines, terminal, relays


def start_bochs(args, tmpdir, image):
    """Write the bochsrc, start Bochs; returns (process, serial source, log file or None,
    relays)."""
    serial_lines, terminal, relays = serial_setup(args)
    rc_path, cont = os.path.join(tmpdir, "bochsrc"), os.path.join(tmpdir, "cont")
    with open(rc_path, "w") as f:
        f.write(bochsrc(args, image, serial_lines))
    with open(cont, "w") as f:
        f.write("c\n")
    cmd = [BOCHS, "-q", "-f", rc_path, "-rc", cont]
    if args.print_cmd or args.dry_run:
        print(f"--- {rc_path} ---\n{bochsrc(args, image, serial_lines)}---\n"
              f"{shlex.join(cmd)}", file=sys.stderr, flush=True)
    if args.dry_run:
        for s in [terminal] + [r[2] for r in relays]:
            if s:
                s.close()
        return None, None, None, []
    for path in (args.log, image + ".lock"):     # stale: a new image, a new log
        if os.path.exists(path):
            os.unlink(path)
    relays = [ConsoleRelay(*r) for r in relays]
    for relay in relays:
        relay.start()
    with open(os.path.join(tmpdir, "bochs.out"), "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, preexec_fn=run_qemu._die_with_parent)
    if terminal:
        log_file = open(args.log, "wb")
        return proc, TerminalBridge(terminal), log_file, relays
    return proc, FileSource(args.log), None, relays


def run(args, tmpdir, image):
    proc, source, log_file, relays = start_bochs(args, tmpdir, image)
    if proc is None:
        return RC_PASS
    serial = SerialWatch(time.monotonic(), log_file)
    rc = RC_INTERRUPTED
    try:
        rc = watch(proc, source, serial, args.timeout)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'SIGINT'}); stopping Bochs")
    finally:
        stop(proc)
        source.close()
        if log_file:
            log_file.close()
        for relay in relays:
            relay.stop()
    report_bochs(args, os.path.join(tmpdir, "bochs.out"), rc)
    return rc


def main(argv):
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, run_qemu._raise_interrupt)
    if shutil.which(BOCHS) is None:
        log(f"{BOCHS} not found: run `make setup` (bash scripts/setup.sh)")
        return RC_OTHER
    for path in (args.log, args.bochs_log):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix="kestrel-bochs-")
    try:
        image = os.path.abspath(args.image or os.path.join(tmpdir, "disk.img"))
        try:
            make_disk_image(args.esp, args.config, not args.interactive, image)
        except (OSError, RuntimeError) as e:
            log(f"cannot build the disk image: {e}")
            return RC_OTHER
        log(f"Bochs CPU model {args.cpu}, {args.smp} CPU(s), {args.memory_mib} MiB, "
            f"ips {args.ips}; Bochs log: {args.bochs_log}")
        if args.console_socket and not args.dry_run:
            log(f"console on {args.console_socket} (serial log: {args.log})")
        elif args.interactive and not args.dry_run:
            log(f"serial log: {args.log}; Ctrl-] x quits Bochs")
        return run(args, tmpdir, image)
    except KeyboardInterrupt:
        log("interrupted")
        return RC_INTERRUPTED
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
