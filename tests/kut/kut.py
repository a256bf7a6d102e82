#!/usr/bin/python3
"""kvm-unit-tests under Kestrel: run the x86 tests as Multiboot VMs and compare each
test's verdict with tests/kut/expectations.txt.

    kut.py run    [--backend svm|vmx|all] [--slow] [--parallel] [NAME...]
    kut.py record [--backend svm|vmx|all] [--parallel] [NAME...]
    kut.py list

`run` boots the tests (all of them, or the NAMEs; tests flagged slow for a backend only
with --slow or when named) and prints observed vs expected verdicts; exit status 1 when
any differs. `record` boots every test (or the NAMEs; slow ones too) and rewrites the
verdict columns of expectations.txt for the backends it ran, keeping the reasons and the
flags. A verdict already allowed by the line (`error/fail/timeout` allows any of three:
tests whose outcome is a race) leaves it as it is; any other replaces it. A test that
times out on a backend gets that backend's slow flag; flags are never removed by
`record` (it says when one may be stale). Changes are printed; a new non-pass line gets
the reason "TODO: <what was seen>", which the pytest suite refuses until someone writes
the reason. `list` prints the tests of unittests.cfg with their file, vCPUs and
arguments.

The tests come from build/kvm-unit-tests (`make kut`; $KUT_DIR overrides): its
x86/unittests.cfg gives each test's .flat file, vCPU count and arguments; nothing of it
is copied into the repository. Each test becomes one VM: `boot = multiboot` with
`testdev = on` (the pc-testdev its run script gives QEMU), the .flat as kernel, its
arguments as the command line, and an env file as the initrd (Multiboot module 0) with
NR_CPUS and MEMSIZE, which kvm-unit-tests reads instead of QEMU's fw_cfg.
Up to 8 VMs go in one boot (Kestrel's limit). Each VM's verdict comes from its own
serial lines and its stop line:

    pass     the test wrote 0 to the debug-exit port (port 0xf4)
    fail     it wrote another status (1: failures, 64: abort, ...)
    skip     it wrote 38 (every check skipped: kvm-unit-tests' 77 >> 1), or its .flat
             is not built (i386-only tests)
    error    Kestrel stopped it (triple fault, unhandled exit, ...) or did not start it
    timeout  it was still running when the boot's time ran out
    crash    the hypervisor itself died (an exception in Kestrel) while it was running

A boot in which the hypervisor crashes is cut short at once; if several tests were still
running, each of them is booted again alone, so only the culprit gets `crash`. Tests
expected to crash boot alone from the start, tests expected to time out boot together,
tests flagged long-<backend> (minutes of that backend) boot alone with their own budget.

The boots go through tests/integration/harness.py (runner arguments, backends and their
timeout scales: Bochs gets 3x), so `svm` runs QEMU TCG and `vmx` Bochs. Environment:
KUT_MEMORY (MiB per VM, default 128), KUT_TIMEOUT (seconds per boot on QEMU, default
60, plus KUT_TIMEOUT_PER_TEST, default 30, per VM in it; scaled for Bochs),
KUT_HANG_TIMEOUT and KUT_HANG_TIMEOUT_PER_TEST (60 and 10: the same for a boot of tests
that may time out), KUT_LONG_TIMEOUT (400: a long test's boot), KUT_MAX_VMS (VMs per boot, default 8), KUT_ESP (the ESP built here,
default build/kut-esp), KESTREL_ESP (the ESP whose EFI/ is copied, default build/esp),
KUT_HOST_SMP (host CPUs of the emulated machine, default 1: the verdicts in
expectations.txt are for one; with 2, xapic and x2apic finish on SVM).
"""
import argparse
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import harness  # noqa: E402

KUT_DIR = Path(os.environ.get("KUT_DIR") or REPO / "build" / "kvm-unit-tests")
KUT_ESP = Path(os.environ.get("KUT_ESP") or REPO / "build" / "kut-esp")
BASE_ESP = Path(os.environ.get("KESTREL_ESP") or harness.DEFAULT_ESP)
EXPECTATIONS = Path(__file__).resolve().with_name("expectations.txt")
RESULTS_DIR = REPO / "build" / "kut-results"

BACKENDS = tuple(harness.BACKENDS)                 # ("svm", "vmx")
VERDICTS = ("pass", "fail", "skip", "error", "timeout", "crash")
# Flags: left out of the default (CI) run on both backends / on one; for tests that
# hang until the boot's timeout, or cost minutes on Bochs for little information.
# long-<backend>: finishes, but needs minutes of that backend: booted alone with
# LONG_TIMEOUT, so it neither runs out a group's budget nor slows the group's tests.
FLAGS = ("slow", *(f"slow-{b}" for b in BACKENDS), *(f"long-{b}" for b in BACKENDS))
MAX_VMS = int(os.environ.get("KUT_MAX_VMS", "8"))  # Kestrel: "too many VMs (at most 8)"
# QEMU's default, which kvm-unit-tests assumes: at 64M smap/pku/pks cannot reserve their
# 32 MiB at 32 MiB, sieve cannot malloc 100 MB, apic's sti_loop touches pages up to
# 128M. (unittests.cfg's larger -m values are for tests that skip here anyway.) Guest
# RAM costs boot time: under Bochs, Kestrel's loader takes ~17 s longer for 8 VMs of
# 128M than of 64M.
MEMORY_MIB = int(os.environ.get("KUT_MEMORY", "128"))
# Seconds of QEMU time for one boot: OVMF + Kestrel + every VM in it, time-sliced on one
# CPU (so the budget grows with the number of VMs); harness scales it for Bochs.
BOOT_TIMEOUT = float(os.environ.get("KUT_TIMEOUT", "60"))
TIMEOUT_PER_TEST = float(os.environ.get("KUT_TIMEOUT_PER_TEST", "30"))
# Boots of tests expected to (possibly) hang: everything that ends at all ends within
# 40 s of QEMU time (sieve excepted), so waiting longer only costs time.
HANG_TIMEOUT = float(os.environ.get("KUT_HANG_TIMEOUT", "60"))
HANG_TIMEOUT_PER_TEST = float(os.environ.get("KUT_HANG_TIMEOUT_PER_TEST", "10"))
# A test flagged long-<backend>, booted alone (apic.flat on one host CPU: 141 s of QEMU).
LONG_TIMEOUT = float(os.environ.get("KUT_LONG_TIMEOUT", "400"))
HOST_MEMORY = "2G"                                 # the emulated machine's RAM
SKIP_STATUS = 77 >> 1                              # report_summary() when all skipped
VM_NAME_MAX = 31
RC_TIMEOUT, RC_INTERRUPTED = 124, 130              # the runners' exit statuses


# ------------------------------------------------------------------ unittests.cfg

@dataclass
class KutTest:
    name: str
    file: str
    smp: int = 1
    args: str = ""
    arch: str = ""
    extra: dict = field(default_factory=dict)      # qemu_params, groups, accel, check, ...

    @property
    def flat(self):
        return KUT_DIR / "x86" / self.file

    @property
    def built(self):
        return self.flat.is_file()

    def not_built_reason(self):
        arch = f" (arch = {self.arch})" if self.arch and self.arch != "x86_64" else ""
        return f"{self.file} is not built by ./configure --arch=x86_64{arch}"


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _expand_args(args):
    """unittests.cfg arguments go through the shell in run_tests.sh; the only expansion
    they use is `date +%s` (kvmclock_test)."""
    return args.replace("`date +%s`", str(int(time.time())))


def load_tests(kut_dir=None):
    """The tests of x86/unittests.cfg, in file order: {name: KutTest}."""
    cfg = Path(kut_dir or KUT_DIR) / "x86" / "unittests.cfg"
    if not cfg.is_file():
        raise FileNotFoundError(f"{cfg} missing: run `make kut` (builds kvm-unit-tests "
                                f"into build/kvm-unit-tests)")
    tests, cur = {}, None
    for lineno, raw in enumerate(cfg.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if m:
            cur = {"name": m.group(1)}
            tests[cur["name"]] = cur
            continue
        key, eq, value = line.partition("=")
        if cur is None or not eq:
            raise ValueError(f"{cfg}:{lineno}: cannot parse {raw!r}")
        cur[key.strip()] = value.strip()
    out = {}
    for name, d in tests.items():
        d = dict(d)
        d.pop("name")
        out[name] = KutTest(name=name, file=d.pop("file"), smp=int(d.pop("smp", "1")),
                            args=_expand_args(_unquote(d.pop("test_args", ""))),
                            arch=d.pop("arch", ""), extra=d)
    return out


# ------------------------------------------------------------------ expectations.txt

HEADER = """\
# kvm-unit-tests under Kestrel: the verdict expected for every test of
# build/kvm-unit-tests/x86/unittests.cfg on each backend (svm: QEMU TCG, vmx: Bochs).
# Checked by tests/kut/test_kut.py (make kut-test): a different verdict, better or
# worse, fails the test. See tests/kut/kut.py for what each verdict means.
#
#   test  svm-verdict  vmx-verdict  [flags]  [# reason]
#
# verdicts: pass fail skip error timeout crash (tests/kut/kut.py says what each means);
# a/b/c: any of these (a race decides). Flags slow, slow-svm, slow-vmx: left out of the
# default run on both backends / on one (they hang until the boot's timeout, or cost
# minutes on Bochs); `make kut-test KUT_SLOW=1` runs them too. long-svm, long-vmx: the
# test needs minutes of that backend and boots alone. Every non-pass needs a reason.
# `make kut-record` rewrites the verdicts (keeps the reasons and flags).
"""


@dataclass
class Expectation:
    name: str
    verdicts: dict                 # backend -> verdict (or "?" when never recorded)
    flags: list = field(default_factory=list)
    reason: str = ""

    def allowed(self, backend):
        """The verdicts accepted on a backend."""
        return self.verdicts.get(backend, "?").split("/")

    def slow_on(self, backend):
        return "slow" in self.flags or f"slow-{backend}" in self.flags

    def long_on(self, backend):
        return f"long-{backend}" in self.flags


def load_expectations(path=EXPECTATIONS):
    """{name: Expectation} in file order."""
    out = {}
    if not Path(path).exists():
        return out
    for lineno, raw in enumerate(Path(path).read_text().splitlines(), 1):
        body, _, reason = raw.partition("#")
        words = body.split()
        if not words:
            continue
        where = f"{path}:{lineno}"
        if len(words) < 1 + len(BACKENDS):
            raise ValueError(f"{where}: expected `name {' '.join(BACKENDS)} [flags]`")
        name, verdicts, flags = words[0], words[1:1 + len(BACKENDS)], words[1 + len(BACKENDS):]
        for v in (x for v in verdicts for x in v.split("/")):
            if v not in VERDICTS and v != "?":
                raise ValueError(f"{where}: unknown verdict {v!r} (one of {', '.join(VERDICTS)})")
        for f in flags:
            if f not in FLAGS:
                raise ValueError(f"{where}: unknown flag {f!r} (one of {', '.join(FLAGS)})")
        if name in out:
            raise ValueError(f"{where}: {name} listed twice")
        out[name] = Expectation(name, dict(zip(BACKENDS, verdicts)), flags, reason.strip())
    return out


def write_expectations(exps, path=EXPECTATIONS):
    rows = [(e.name, *[e.verdicts.get(b, "?") for b in BACKENDS], " ".join(e.flags), e.reason)
            for e in exps.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(BACKENDS) + 2)]
    lines = []
    for r in rows:
        cols = "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths))
        lines.append((cols + ("  # " + r[-1] if r[-1] else "")).rstrip())
    Path(path).write_text(HEADER + "\n" + "\n".join(lines) + "\n")


# ------------------------------------------------------------------ the ESP

def memory_mib(test):
    return MEMORY_MIB


def env_name(test):
    return f"kut/env-{test.smp}cpu-{memory_mib(test)}m.txt"


def build_esp(tests, base_esp=None, out=None):
    """build/kut-esp: EFI/ from the Kestrel ESP, kut/*.flat and the env files. The .flat
    files are stripped (symbols and debug info: vmx.flat 1.1 MB -> 0.26 MB), as the
    firmware reads the ESP slowly under Bochs. Rebuilt only when its inputs changed; a
    lock keeps concurrent builders (xdist workers) apart."""
    base = Path(base_esp or BASE_ESP)
    out = Path(out or KUT_ESP)
    efi = base / "EFI" / "BOOT" / "BOOTX64.EFI"
    if not efi.is_file():
        raise FileNotFoundError(f"{efi} missing: run `make` first")
    files = {"EFI/BOOT/BOOTX64.EFI": efi}
    files.update({f"kut/{t.file}": t.flat for t in tests.values() if t.built})
    envs = {env_name(t): f"NR_CPUS={t.smp}\nMEMSIZE={memory_mib(t)}\n" for t in tests.values()}
    stamp_text = json.dumps({"strip": True, "files": {k: [str(p), p.stat().st_size, p.stat().st_mtime_ns]
                                       for k, p in sorted(files.items())},
                             "envs": envs}, sort_keys=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / (out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = out / ".stamp"
        if stamp.is_file() and stamp.read_text() == stamp_text:
            return out
        tmp = out.parent / (out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, src in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            if rel.endswith(".flat"):
                subprocess.run(["strip", "--strip-all", "-o", str(tmp / rel), str(src)],
                               check=True)
            else:
                shutil.copy2(src, tmp / rel)
        for rel, text in envs.items():
            (tmp / rel).write_text(text)
        (tmp / ".stamp").write_text(stamp_text)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out


# ------------------------------------------------------------------ one boot

@dataclass
class Verdict:
    verdict: str
    detail: str = ""
    lines: list = field(default_factory=list)      # the test's own serial lines
    seconds: float = None                          # from boot start to its stop line
    log: str = ""                                  # the serial log of its boot

    def describe(self, n=25):
        out = [f"{self.verdict}: {self.detail}" if self.detail else self.verdict]
        if self.seconds is not None:
            out.append(f"stopped {self.seconds:.0f} s into the boot")
        if self.log:
            out.append(f"serial log: {self.log}")
        if self.lines:
            out.append(f"--- its serial lines ({len(self.lines)}; last {n}) ---")
            out += self.lines[-n:]
        return "\n".join(out)


def vm_names(tests):
    """A VM name per test (Kestrel: 1-31 of [A-Za-z0-9_.-], unique ignoring case)."""
    names, seen = {}, set()
    for i, t in enumerate(tests):
        n = re.sub(r"[^A-Za-z0-9_.-]", "_", t.name)[:VM_NAME_MAX]
        if n.lower() in seen:
            n = f"{n[:VM_NAME_MAX - 4]}~{i}"
        seen.add(n.lower())
        names[t.name] = n
    return names


def config_text(tests, names):
    out = []       # the runner adds "[hypervisor] batch = on"
    for t in tests:
        out += [f"[vm {names[t.name]}]",
                f"memory = {memory_mib(t)}M",
                f"vcpus = {t.smp}",
                "boot = multiboot",
                "testdev = on",            # QEMU's pc-testdev, which kvm-unit-tests assumes
                f"kernel = kut/{t.file}",
                f"initrd = {env_name(t)}"]
        # QEMU's -kernel (like GRUB) starts the Multiboot command line with the kernel's
        # name, and kvm-unit-tests takes it as argv[0]; Kestrel passes only `cmdline`.
        out.append(f'cmdline = "{" ".join(filter(None, ["kut/" + t.file, t.args]))}"')
        out.append("")
    return "\n".join(out)


def _die_with_parent():
    """In the runner: SIGTERM (it then stops its emulator) when we die (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


TIMELINE_RE = re.compile(r"^(?:kestrel: |BdsDxe: starting|\*\*\* ).*$", re.M)
CRASH_RE = re.compile(r"^\*\*\* hypervisor exception|^kestrel: halted$", re.M)
STATUS_RE = re.compile(r"^debug-exit port: status (-?\d+)$")
SUMMARY_RE = re.compile(r"^SUMMARY: .*")
NOTABLE_RE = re.compile(r"^(FAIL|SKIP|ABORT)|Unhandled exception|assert fail")


class Boot:
    """One batch boot of a group of tests, watched while it runs: each VM's stop line is
    timed, and a hypervisor crash ends the boot at once."""

    def __init__(self, backend, tests, esp, workdir, timeout=None, host_smp=None):
        self.backend = harness.BACKENDS[backend]
        self.host_smp = host_smp or int(os.environ.get("KUT_HOST_SMP", "1"))
        self.tests = list(tests)
        self.names = vm_names(self.tests)
        self.esp = esp
        self.workdir = Path(workdir)
        n = len(self.tests)
        base = timeout if timeout is not None else BOOT_TIMEOUT + TIMEOUT_PER_TEST * n
        self.timeout = base * harness.TIMEOUT_SCALE * self.backend.scale
        self.stop_times = {}
        self.ready_at = None                       # Kestrel's console: VMs about to start
        self.crashed = False
        self.rc = None
        self.elapsed = 0.0

    def run(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = harness.runner_args(self.esp, self.workdir,
                                   config_text(self.tests, self.names), self.timeout,
                                   memory=HOST_MEMORY, backend=self.backend.name,
                                   smp=self.host_smp)
        log_path = self.workdir / "serial.log"
        log_path.unlink(missing_ok=True)
        start = time.monotonic()
        with open(self.workdir / "runner.out", "w") as out:
            proc = subprocess.Popen([harness.PYTHON, str(self.backend.runner), "--batch", *args],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=out, start_new_session=True,
                                    preexec_fn=_die_with_parent)
            try:
                self._watch(proc, log_path, start)
            finally:
                if proc.poll() is None:
                    self._end(proc)
        self.rc = proc.returncode
        self.elapsed = time.monotonic() - start
        (self.workdir / "timeline.txt").write_text(
            "".join(line + "\n" for line in getattr(self, "timeline", [])))
        self.text = harness.clean_serial(log_path.read_text(errors="replace")
                                         if log_path.exists() else "")
        return self

    def _watch(self, proc, log_path, start):
        seen = 0
        crash_at = None
        timeline, timeline_end = [], 0            # when each hypervisor line appeared
        self.timeline = timeline
        stop_re = re.compile(r"^kestrel: vm \d+ \((\S+)\) (?:stopped|not started): ", re.M)
        while proc.poll() is None:
            time.sleep(0.5)
            now = time.monotonic() - start
            try:
                text = log_path.read_text(errors="replace")
            except FileNotFoundError:
                text = ""
            for m in stop_re.finditer(text, max(0, seen - 200)):
                self.stop_times.setdefault(m.group(1), now)
            for m in TIMELINE_RE.finditer(text, max(0, seen - 200)):
                if m.start() >= timeline_end:
                    timeline.append(f"{now:7.1f} {m.group(0)}")
                    timeline_end = m.end()
            seen = len(text)
            if self.ready_at is None and "kestrel: console ready" in text:
                self.ready_at = now
            if crash_at is None and CRASH_RE.search(text):
                crash_at = now
                self.crashed = True
            # Let the register dump reach the log, then stop the emulator.
            if crash_at is not None and (now - crash_at > 3 or "kestrel: halted" in text):
                self._end(proc)
                return
            if now > self.timeout + 90:             # the runner's own --timeout failed
                self._end(proc)
                return

    @staticmethod
    def _end(proc):
        """SIGTERM the runner (it stops its emulator), SIGKILL its group if it lingers."""
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def verdicts(self):
        """{test name: Verdict} from the serial log."""
        lines = self.text.splitlines()
        powered_off = any(line.startswith("kestrel: batch mode:") for line in lines)
        out = {}
        for t in self.tests:
            vm = self.names[t.name]
            own, prefix = [], f"[{vm}]"
            stop = notstart = cfgerr = None
            for line in lines:
                if line.startswith(prefix):
                    own.append(line[len(prefix):].removeprefix(" "))
                m = re.match(rf"^kestrel: vm \d+ \({re.escape(vm)}\) (stopped|not started): (.*)$",
                             line)
                if m:
                    if m.group(1) == "stopped":
                        stop = m.group(2)
                    else:
                        notstart = m.group(2)
                m = re.match(rf'^hv\.cfg:\d+: vm "{re.escape(vm)}": (.*)$', line)
                if m and cfgerr is None:
                    cfgerr = m.group(1)
            summary = next((x for x in own if SUMMARY_RE.match(x)), "")
            v = Verdict("error", lines=own, seconds=self.stop_times.get(vm),
                        log=str(self.workdir / "serial.log"))
            if stop is not None:
                m = STATUS_RE.match(stop)
                if m:
                    st = int(m.group(1))
                    v.verdict = ("pass" if st == 0 else "skip" if st == SKIP_STATUS
                                 else "fail")
                    why = [x.strip() for x in own if NOTABLE_RE.search(x)]
                    v.detail = "; ".join(filter(None, [f"status {st}", summary] + why[:3]))
                else:
                    v.detail = f"stopped by Kestrel: {stop}"
            elif notstart is not None:
                v.detail = f"not started: {notstart}"
            elif cfgerr is not None:
                v.detail = f"config: {cfgerr}"
            elif self.crashed:
                crash = next((x for x in lines if x.startswith("*** hypervisor exception")),
                             "hypervisor crash")
                v.verdict, v.detail = "crash", crash.strip("* ")
            elif not powered_off and self.rc in (RC_TIMEOUT, RC_INTERRUPTED, None):
                v.verdict = "timeout"
                v.detail = (f"still running after {self.timeout:.0f} s "
                            f"({len(self.tests)} VMs in the boot)")
            elif not powered_off:
                v.detail = f"boot ended without power-off (runner status {self.rc})"
            else:
                v.detail = "no stop line for this VM"
            out[t.name] = v
        return out


# ------------------------------------------------------------------ a whole suite

def plan(tests, backend, expectations):
    """[(group, timeout)]: groups of at most MAX_VMS tests, expected crashes alone, tests
    flagged long-<backend> alone (LONG_TIMEOUT), tests that may time out together
    (HANG_TIMEOUT and HANG_TIMEOUT_PER_TEST), the rest in file order (timeout None: the
    Boot's default). A backend never recorded takes the other's verdicts as a hint."""
    crash, long, hang, rest = [], [], [], []
    for t in tests:
        e = expectations.get(t.name)
        want = set(e.allowed(backend)) if e else {"?"}
        if e and want == {"?"}:
            want = {v for b in BACKENDS for v in e.allowed(b)} - {"?"} or {"?"}
        (crash if want == {"crash"} else long if e and e.long_on(backend) else
         hang if "timeout" in want else rest).append(t)
    chunks = [(rest[i:i + MAX_VMS], None) for i in range(0, len(rest), MAX_VMS)]
    chunks += [(hang[i:i + MAX_VMS], HANG_TIMEOUT + HANG_TIMEOUT_PER_TEST * len(hang[i:i + MAX_VMS]))
               for i in range(0, len(hang), MAX_VMS)]
    chunks += [([t], LONG_TIMEOUT) for t in long]
    chunks += [([t], None) for t in crash]
    return chunks


def run_suite(backend, names=None, *, expectations=None, workdir=None, esp=None,
              log=print):
    """Boot the named tests (default: all) on one backend; {name: Verdict}. Tests whose
    .flat is missing get `skip` without a boot."""
    tests = load_tests()
    names = list(tests) if names is None else list(names)
    unknown = [n for n in names if n not in tests]
    if unknown:
        raise KeyError(f"not in unittests.cfg: {', '.join(unknown)}")
    expectations = load_expectations() if expectations is None else expectations
    esp = build_esp(tests, base_esp=esp)
    workdir = Path(workdir or RESULTS_DIR / backend)
    shutil.rmtree(workdir, ignore_errors=True)
    results = {}
    for n in names:
        if not tests[n].built:
            results[n] = Verdict("skip", tests[n].not_built_reason())
    todo = [tests[n] for n in names if n not in results]
    counter = [0]

    def boot(group, timeout=None):
        counter[0] += 1
        b = Boot(backend, group, esp, workdir / f"boot-{counter[0]:02d}", timeout).run()
        vs = b.verdicts()
        ready = f", VMs from {b.ready_at:.0f} s" if b.ready_at is not None else ""
        log(f"kut[{backend}] boot {counter[0]}: {len(group)} VM(s) in {b.elapsed:.0f} s{ready}"
            f"{' (hypervisor crash)' if b.crashed else ''}: "
            + ", ".join(f"{t.name}={vs[t.name].verdict}" for t in group))
        return b, vs

    start = time.monotonic()
    for group, timeout in plan(todo, backend, expectations):
        b, vs = boot(group, timeout)
        suspects = [t for t in group if vs[t.name].verdict == "crash"]
        if b.crashed and len(suspects) > 1:
            log(f"kut[{backend}] hypervisor crash with {len(suspects)} tests running: "
                f"booting each alone")
            for t in suspects:
                vs[t.name] = boot([t])[1][t.name]
        results.update(vs)
    log(f"kut[{backend}] {len(todo)} tests in {counter[0]} boots, "
        f"{time.monotonic() - start:.0f} s")
    save_results(backend, results)
    return {n: results[n] for n in names}


def save_results(backend, results):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{backend}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update({n: {"verdict": v.verdict, "detail": v.detail, "seconds": v.seconds,
                    "log": v.log} for n, v in results.items()})
    path.write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")


def run_backends(backends, names, parallel, **kw):
    """{backend: {name: Verdict}}; the backends one after the other, or in threads."""
    out = {}
    names = names if isinstance(names, dict) else {b: names for b in backends}
    if not parallel:
        for b in backends:
            out[b] = run_suite(b, names[b], **kw)
        return out
    errors = []

    def one(b):
        try:
            out[b] = run_suite(b, names[b], **kw)
        except BaseException as e:   # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=one, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


# ------------------------------------------------------------------ command line

def record(results, tests):
    """Merge observed verdicts into expectations.txt; returns the changes (lines)."""
    exps = load_expectations()
    merged, changes = {}, []
    for name in tests:
        old = exps.get(name) or Expectation(name, {b: "?" for b in BACKENDS})
        new = Expectation(name, dict(old.verdicts), list(old.flags), old.reason)
        notes = []
        for b, res in results.items():
            if name not in res:
                continue
            got = res[name].verdict
            if got not in old.allowed(b):
                new.verdicts[b] = got
                notes.append(f"{b} {old.verdicts.get(b, '?')} -> {got}")
            if got == "timeout" and "timeout" not in old.allowed(b) and not new.slow_on(b):
                new.flags.append(f"slow-{b}")
                notes.append(f"flagged slow-{b}")
            elif got != "timeout" and f"slow-{b}" in new.flags and \
                    "timeout" not in new.allowed(b):
                notes.append(f"no timeout on {b} now: is slow-{b} still wanted?")
        if all(v == "pass" for v in new.verdicts.values()):
            new.reason = ""
        elif not new.reason:
            new.reason = "TODO: " + "; ".join(
                f"{b}: {res[name].detail}" for b, res in results.items()
                if name in res and res[name].verdict != "pass")[:300]
        if name not in exps:
            notes.insert(0, "new")
        if notes:
            changes.append(f"{name}: " + ", ".join(notes))
        merged[name] = new
    for name in exps:
        if name not in tests:
            changes.append(f"{name}: dropped (not in unittests.cfg)")
    write_expectations(merged)
    return changes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("run", "record", "list"))
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--backend", default="all", choices=[*BACKENDS, "all"])
    p.add_argument("--slow", action="store_true", help="run: include the slow tests")
    p.add_argument("--parallel", action="store_true",
                   help="both backends at the same time (two emulators)")
    args = p.parse_intermixed_args(argv)
    tests = load_tests()
    if args.command == "list":
        for t in tests.values():
            built = "" if t.built else "  (not built)"
            print(f"{t.name:42} {t.file:22} smp={t.smp} {t.args!r}{built}")
        return 0
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    exps = load_expectations()
    names = args.names or None
    if args.command == "run" and names is None and not args.slow:
        names = {b: [n for n in tests if not (n in exps and exps[n].slow_on(b))]
                 for b in backends}
    results = run_backends(backends, names, args.parallel, expectations=exps,
                           log=lambda m: print(m, flush=True))
    if args.command == "record":
        changes = record(results, tests)
        print(f"{EXPECTATIONS}: {len(changes)} change(s)")
        for c in changes:
            print("  " + c)
        return 0
    bad = 0
    for name in tests:
        cols = []
        for b in backends:
            v = results[b].get(name)
            if v is None:
                continue
            e = exps.get(name)
            ok = e is not None and v.verdict in e.allowed(b)
            mark = "" if ok else f" (expected {e.verdicts.get(b, '?') if e else '?'})"
            bad += not ok
            secs = f" {v.seconds:.0f}s" if v.seconds is not None else ""
            cols.append(f"{b}={v.verdict}{secs}{mark}")
        if cols:
            print(f"{name:42} " + "  ".join(cols))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
