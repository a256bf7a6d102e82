"""Helpers for the integration tests: boot an ESP under one of two backends,
"svm" (scripts/run-qemu.py: QEMU TCG, AMD SVM) or "vmx" (scripts/run-bochs.py: Bochs,
Intel VMX).

    boot_batch(config, backend=..., esp=..., workdir=..., timeout=...) -> Result
    InteractiveSession(config, backend=..., esp=..., workdir=...)  (context manager, pexpect)
    build_efi_app(source, out_efi, defines)                 (gnu-efi, for runner tests)

Tests normally use the fixtures of the same names in conftest.py, which fill in the
backend, the ESP (--esp / KESTREL_ESP) and a per-test tmp dir. Every timeout here is
multiplied by the environment variable KESTREL_TIMEOUT_SCALE (default 1), e.g. for slow
machines, and timeouts given for QEMU are multiplied by the backend's own scale (Bochs
is several times slower: KESTREL_VMX_TIMEOUT_SCALE, default 3).
"""
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "scripts" / "run-qemu.py"
BOCHS_RUNNER = REPO / "scripts" / "run-bochs.py"
PYTHON = "/usr/bin/python3"
DEFAULT_ESP = REPO / "build" / "esp"
PROMPT = r"kestrel> "
GUEST_LINE = re.compile(r"\[[\w.-]+\] ")   # a line a guest printed, with its VM's prefix
TIMEOUT_SCALE = float(os.environ.get("KESTREL_TIMEOUT_SCALE", "1"))
BOOT_TIMEOUT = 120 * TIMEOUT_SCALE      # OVMF alone needs 3.4-5.4 s under TCG
COMMAND_TIMEOUT = 30 * TIMEOUT_SCALE
# A console command answered within this while guests keep the CPUs busy (times the
# backend's scale): test_chaos, test_host_smp.
CONSOLE_LIMIT_S = 1.0
BATCH_TIMEOUT = 180 * TIMEOUT_SCALE
TAIL_LINES = 40
HANG_REPORT_LINES = 200


class Backend(NamedTuple):
    name: str           # "svm" or "vmx"
    runner: Path        # run-qemu.py or run-bochs.py: same options, same exit statuses
    scale: float        # timeout multiplier relative to QEMU TCG


BACKENDS = {"svm": Backend("svm", RUNNER, 1.0),
            "vmx": Backend("vmx", BOCHS_RUNNER,
                           float(os.environ.get("KESTREL_VMX_TIMEOUT_SCALE", "3")))}


def tail(text, n=TAIL_LINES):
    lines = text.splitlines()
    cut = f"[... {len(lines) - n} earlier lines ...]\n" if len(lines) > n else ""
    return cut + "\n".join(lines[-n:])


def clean_serial(text):
    """CR LF (and the CR CR LF a terminal makes of it) -> LF."""
    return re.sub(r"\r+\n", "\n", text)


class Result:
    """One batch boot: rc is the runner's exit status (0 pass, 1 fail, 2 other, 124 timeout);
    timeout is the one the runner was given (scaled for the backend)."""

    def __init__(self, rc, log_text, log_path, stderr, elapsed, backend=BACKENDS["svm"],
                 timeout=None):
        self.rc = rc
        self.backend = backend
        self.timeout = timeout
        self.log_text = log_text
        self.lines = log_text.splitlines()
        self.log_path = log_path
        self.stderr = stderr
        self.elapsed = elapsed

    def __repr__(self):
        return (f"<Result {self.backend.name} rc={self.rc} {self.elapsed:.1f}s "
                f"log={self.log_path}>")

    def hang_report(self):
        """The console's answers to run-qemu.py's state report after a timeout (from its
        `vms` on, without the guests' lines), or "" when there is none."""
        start = self.log_text.rfind("kestrel> vms\n")
        if self.rc != 124 or start < 0:
            return ""
        lines = [ln for ln in self.log_text[start:].splitlines() if not ln.startswith("[")]
        return "\n".join(lines[:HANG_REPORT_LINES])

    def describe(self):
        """rc, the runner's messages and the serial log's tail (and the state report of a
        run that timed out), for assertion messages."""
        report = self.hang_report()
        return (f"{self.backend.runner.name} exit status {self.rc} after "
                f"{self.elapsed:.1f} s\n"
                f"--- runner stderr ---\n{self.stderr.strip()}\n"
                f"--- serial log tail ({self.log_path}) ---\n{tail(self.log_text)}"
                + (f"\n--- state report after the timeout ---\n{report}" if report else ""))

    def assert_rc(self, expected):
        assert self.rc == expected, f"expected exit status {expected}\n{self.describe()}"

    def assert_ok(self):
        self.assert_rc(0)

    def search(self, pattern):
        """The first match of a regex in the serial log (MULTILINE), or AssertionError."""
        m = re.search(pattern, self.log_text, re.MULTILINE)
        assert m, f"{pattern!r} not in the serial log\n{self.describe()}"
        return m


def config_file(config, workdir):
    """config: None (keep the ESP's hv.cfg), a path (Path, or a str naming a file), or
    the config text itself (written to workdir/hv.cfg). Returns a path or None."""
    if config is None:
        return None
    if isinstance(config, Path) or ("\n" not in config and os.path.isfile(config)):
        return Path(config)
    path = Path(workdir) / "hv.cfg"
    path.write_text(config)
    return path


def runner_args(esp, workdir, config, timeout, smp=1, memory="2G", qemu_args=(),
                bochsrc_lines=(), backend="svm"):
    """The runner's arguments (without --batch/--interactive) for one run in workdir.
    qemu_args go to run-qemu.py only, bochsrc_lines (extra bochsrc lines) to run-bochs.py
    only, so a test can tune both backends."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    args = ["--esp", str(esp), "--log", str(workdir / "serial.log"),
            "--image", str(workdir / "disk.img"), "--timeout", str(timeout),
            "--smp", str(smp), "--memory", str(memory)]
    cfg = config_file(config, workdir)
    if cfg is not None:
        args += ["--config", str(cfg)]
    extra = qemu_args if backend == "svm" else bochsrc_lines
    if extra:
        args += ["--", *extra]
    return args


def boot_batch(config, *, backend="svm", esp=DEFAULT_ESP, workdir, timeout=BATCH_TIMEOUT,
               **kw):
    """Boot once in batch mode and wait for the end; timeout is for QEMU and gets scaled
    for the backend. The serial output also goes to this process's stdout (pytest
    captures it); the runner's messages are echoed to stderr."""
    be = BACKENDS[backend]
    timeout = timeout * be.scale
    args = runner_args(esp, workdir, config, timeout, backend=backend, **kw)
    start = time.monotonic()
    proc = subprocess.run([PYTHON, str(be.runner), "--batch", *args],
                          stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=timeout + 60)
    elapsed = time.monotonic() - start
    sys.stderr.write(proc.stderr)
    log_path = Path(workdir) / "serial.log"
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return Result(proc.returncode, clean_serial(log_text), log_path, proc.stderr, elapsed,
                  be, timeout)


class InteractiveSession:
    """The runner with --interactive under pexpect, the console on a pseudo-terminal.

        with InteractiveSession(cfg, backend="vmx", esp=esp, workdir=tmp) as s:
            s.read_until_prompt()              # waits for the boot (BOOT_TIMEOUT)
            out = s.command("help")            # text printed before the next prompt

    Every timeout (given or default) is multiplied by the backend's scale."""

    def __init__(self, config=None, *, backend="svm", esp=DEFAULT_ESP, workdir, timeout=None,
                 **kw):
        self.backend = BACKENDS[backend]
        self.workdir = Path(workdir)
        timeout = (timeout or 10 * BOOT_TIMEOUT) * self.backend.scale
        self.args = runner_args(esp, workdir, config, timeout, backend=backend, **kw)
        self.log_path = self.workdir / "serial.log"
        self.output = io.StringIO()     # everything read from the terminal
        self.child = None
        self.rc = None
        self.booted = False

    def __enter__(self):
        import pexpect
        self.child = pexpect.spawn(PYTHON, [str(self.backend.runner), "--interactive",
                                            *self.args],
                                   encoding="utf-8", codec_errors="replace", echo=False,
                                   timeout=self.backend.scale * COMMAND_TIMEOUT,
                                   dimensions=(50, 200))
        self.child.logfile_read = self.output
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _fail(self, what):
        raise AssertionError(f"{what}\n--- console tail ---\n"
                             f"{tail(clean_serial(self.output.getvalue()))}") from None

    def expect(self, pattern, timeout=None):
        """Wait for a regex on the console; returns the re.Match. The first wait defaults
        to BOOT_TIMEOUT, later ones to COMMAND_TIMEOUT."""
        import pexpect
        if timeout is None:
            timeout = COMMAND_TIMEOUT if self.booted else BOOT_TIMEOUT
        timeout *= self.backend.scale
        try:
            self.child.expect(pattern, timeout=timeout)
        except pexpect.TIMEOUT:
            self._fail(f"no {pattern!r} on the console within {timeout:g} s")
        except pexpect.EOF:
            self._fail(f"console closed ({self.backend.runner.name} exit status "
                       f"{self.wait()}) while waiting for {pattern!r}")
        self.booted = True
        return self.child.match

    def send_command(self, cmd):
        """Type one line on the console (ended by CR, as the Enter key sends)."""
        self.child.send(cmd + "\r")

    def read_until_prompt(self, timeout=None):
        """The console text (line ends cleaned) from the last match to the next prompt."""
        self.expect(PROMPT, timeout)
        return clean_serial(self.child.before)

    def command(self, cmd, timeout=None):
        """send_command + read_until_prompt: the text the command printed. The console
        echoes what is typed (after redrawing its prompt if guest output came in
        between), so the command's output starts after the echoed line."""
        import pexpect
        echo = re.escape(cmd) + r"[ \t]*\r*\n"
        self.send_command(cmd)
        self.expect(echo, timeout)
        out = self.read_until_prompt(timeout)
        # Guest output that came in after the echo and before Enter was read
        # breaks the line too: then all we have is guest lines, and the
        # prompt is redrawn with the typed command, which runs after it.
        while out.strip() and all(GUEST_LINE.match(l) for l in out.strip().splitlines()):
            try:
                self.child.expect(echo, timeout=1)
            except pexpect.TIMEOUT:
                break      # the command printed nothing itself
            out = self.read_until_prompt(timeout)
        return out

    def quit(self, timeout=15):
        """Ctrl-] x (quit the emulator); returns the runner's exit status."""
        if self.rc is None and self.child.isalive():
            self.child.send("\x1dx")
        return self.wait(timeout)

    def wait(self, timeout=COMMAND_TIMEOUT):
        """Wait for the runner to end (killing it after timeout); its exit status."""
        import pexpect
        if self.rc is not None:
            return self.rc
        try:
            self.child.expect(pexpect.EOF, timeout=timeout)
        except pexpect.TIMEOUT:
            self.child.terminate(force=True)
        self.child.close()
        self.rc = self.child.exitstatus
        return self.rc

    def close(self):
        if self.child is not None and self.rc is None:
            self.quit()


def build_efi_app(source, out_efi, defines=()):
    """Compile and link one C file into an EFI application with gnu-efi."""
    out_efi = Path(out_efi)
    obj, so = out_efi.with_suffix(".o"), out_efi.with_suffix(".so")
    cflags = ["-Wall", "-Wextra", "-Werror", "-O2", "-ffreestanding", "-fno-stack-protector",
              "-fpic", "-fshort-wchar", "-mno-red-zone", "-maccumulate-outgoing-args",
              "-DGNU_EFI_USE_MS_ABI", "-I/usr/include/efi", "-I/usr/include/efi/x86_64"]
    sections = [".text", ".sdata", ".data", ".dynamic", ".dynsym", ".rel", ".rela",
                ".rel.*", ".rela.*", ".reloc"]
    cmds = [["gcc", *cflags, *[f"-D{d}" for d in defines], "-c", str(source), "-o", str(obj)],
            ["ld", "-nostdlib", "-znocombreloc", "-shared", "-Bsymbolic",
             "-T", "/usr/lib/elf_x86_64_efi.lds", "/usr/lib/crt0-efi-x86_64.o", str(obj),
             "-o", str(so), "-L/usr/lib", "-lefi", "-lgnuefi"],
            ["objcopy", *[a for s in sections for a in ("-j", s)],
             "--target", "efi-app-x86_64", "--subsystem=10", str(so), str(out_efi)]]
    for cmd in cmds:
        subprocess.run(cmd, check=True)
    return out_efi
