"""The console for programs: scripts/kestrelctl drives a running Kestrel through the
runner's --console-socket (COM1 on a Unix socket), in JSON mode. A VM is listed, stopped,
destroyed, started again and rebooted through kestrelctl alone, `info` lists the physical
CPUs (the machine has two: the session runs with -smp 2 / Bochs count=2), and every line of the
serial log from `mode json` to `mode text` is checked against the schema in
docs/console-json.md, guest lines with quotes, backslashes and backspaces included. An
exit recording dumped through kestrelctl is read by scripts/kestrel-trace."""
import json
import re
import signal
import subprocess
import time

import pytest

import harness

KESTRELCTL = harness.REPO / "scripts" / "kestrelctl"
GUEST = "guests/minimal.elf"
# The spoof guest prints backspaces meant to erase its prefix; its cmdline, which it
# echoes, has quotes and backslashes.
HOSTILE_CMDLINE = r'spoof q"u\o"te\\x'
CONFIG = f"""
[vm tick]
memory = 8M
kernel = {GUEST}
cmdline = ticker period_ms=200
cpus = 1

[vm alpha]
memory = 16M
kernel = {GUEST}
cmdline = selftest

[vm hostile]
memory = 8M
kernel = {GUEST}
cmdline = {HOSTILE_CMDLINE}
autostart = no
"""

# The schema of docs/console-json.md: members every object of a type has, and those it
# may have, with their types.
COMMON = {"type": str, "seq": int}
SCHEMA = {
    "reply": ({"cmd": str, "output": str, "ok": bool},
              {"id": str, "error": str, "vms": list, "backend": str, "free_mib": int,
               "nmis": int, "mode": str, "cpus": list}),
    "log": ({"text": str}, {}),
    "line": ({"vm": int, "name": str, "text": str}, {"partial": bool}),
    "state": ({"vm": int, "name": str, "state": str, "starts": int, "resets": int},
              {"previous": str, "reason": str, "ended_well": bool}),
}
VM_ENTRY = {"id": int, "name": str, "state": str, "vcpus": int, "cpus": list,
            "memory_mib": int, "exits": int, "starts": int, "resets": int, "reason": str}
STATES = {"running", "paused", "stopped", "failed", "destroyed"}
CPU_ENTRY = {"id": int, "apic_id": int, "state": str, "console": bool, "vcpus": list}
CPU_STATES = {"absent", "starting", "booting", "online", "failed"}
SMP = 2


def has_type(value, kind):
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def check_members(obj, required, optional, what):
    for key, kind in required.items():
        assert key in obj, f"{what}: no {key!r}: {obj}"
    for key, value in obj.items():
        kind = required.get(key) or optional.get(key)
        assert kind is not None, f"{what}: unknown member {key!r}: {obj}"
        assert has_type(value, kind), f"{what}: {key!r} is not {kind.__name__}: {obj}"


def check_object(obj):
    """One object against the schema, with the rules the tables state."""
    assert isinstance(obj, dict), obj
    kind = obj.get("type")
    assert kind in SCHEMA, f"unknown type: {obj}"
    required, optional = SCHEMA[kind]
    check_members(obj, {**COMMON, **required}, optional, kind)
    if kind == "reply":
        assert ("error" in obj) == (not obj["ok"]), obj
        assert obj["ok"] == (re.search(r"^error: ", obj["output"], re.M) is None), obj
        for vm in obj.get("vms", []):
            check_members(vm, VM_ENTRY, {}, "vms entry")
            assert vm["state"] in STATES, vm
            assert len(vm["cpus"]) == vm["vcpus"], vm
        for cpu in obj.get("cpus", []):
            check_members(cpu, CPU_ENTRY, {}, "cpus entry")
            assert cpu["state"] in CPU_STATES, cpu
    if kind == "state":
        assert obj["state"] in STATES and obj.get("previous", "running") in STATES, obj
        live = obj["state"] in ("running", "paused")
        assert ("reason" in obj) == (not live) == ("ended_well" in obj), obj


def json_lines(data):
    """The objects in the serial log: every line from the first `mode json` reply to the
    `mode text` one must be a JSON object, ASCII, numbered from 0 without a gap."""
    lines = data.split(b"\n")
    start = next((i for i, l in enumerate(lines)
                  if l.startswith(b'{"type":"reply"') and b'"cmd":"mode json"' in l), None)
    assert start is not None, f"no `mode json` reply in {data[-2000:]!r}"
    objects = []
    for line in lines[start:]:
        line = line.rstrip(b"\r")
        assert line.isascii(), line
        obj = json.loads(line.decode("ascii"))
        check_object(obj)
        assert obj["seq"] == len(objects), (objects[-1:], obj)
        objects.append(obj)
        if obj["type"] == "reply" and obj["cmd"] == "mode text":
            return objects
    raise AssertionError("the log ends before `mode text`")


class SocketSession:
    """The runner in interactive mode with --console-socket: COM1 on
    workdir/console.sock for kestrelctl (QEMU's monitor on a pipe nobody writes)."""

    def __init__(self, config, backend, esp, workdir):
        self.workdir = workdir
        self.sock = workdir / "console.sock"
        self.backend = harness.BACKENDS[backend]
        self.args = harness.runner_args(esp, workdir, config,
                                        10 * harness.BOOT_TIMEOUT * self.backend.scale,
                                        backend=backend, smp=SMP)
        self.proc = None

    def __enter__(self):
        out = open(self.workdir / "runner.out", "wb")
        self.proc = subprocess.Popen(
            [harness.PYTHON, str(self.backend.runner), "--interactive", "--console-socket",
             str(self.sock), *self.args], stdin=subprocess.PIPE, stdout=out, stderr=out)
        out.close()
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        return False

    def ctl(self, *args, timeout=harness.COMMAND_TIMEOUT):
        """kestrelctl ARGS; returns (exit status, stdout, stderr)."""
        timeout *= self.backend.scale
        p = subprocess.run([harness.PYTHON, str(KESTRELCTL), "--socket", str(self.sock),
                            "--timeout", str(timeout), *args],
                           capture_output=True, text=True, timeout=timeout + 30)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        assert rc == 0, f"kestrelctl {' '.join(args)}: rc {rc}\n{out}{err}"
        return out

    def json(self, *args, **kw):
        """The reply (or, for wait, the VM) kestrelctl --json prints."""
        return json.loads(self.ok("--json", *args, **kw))

    def objects(self):
        """Every object of the JSON part of the serial log, checked."""
        return json_lines((self.workdir / "serial.log").read_bytes())


@pytest.fixture
def socket_session(request, tmp_path, backend):
    def session(config):
        workdir = tmp_path / "boot-1"
        workdir.mkdir()
        request.node.__dict__.setdefault("kestrel_logs", []).append(workdir / "serial.log")
        return SocketSession(config, backend, request.getfixturevalue("esp_dir"), workdir)
    return session


def vm_entry(s, name):
    reply = s.json("vms")
    return next(v for v in reply["vms"] if v["name"] == name)


def check_listing(s):
    """vms as text (the human table) and as JSON; info's fields."""
    out = s.ok("vms", timeout=harness.BOOT_TIMEOUT)
    assert re.search(r"^ID\s+NAME\s+STATE", out, re.M), out
    assert re.search(r"^0\s+tick\s+running\s.*\n    placed: vCPU 0 on CPU 1$", out, re.M), out
    reply = s.json("vms")
    assert reply["ok"] and reply["cmd"] == "vms", reply
    names = [(v["id"], v["name"]) for v in reply["vms"]]
    assert names == [(0, "tick"), (1, "alpha"), (2, "hostile")], reply
    hostile = reply["vms"][2]
    assert hostile["state"] == "stopped" and hostile["starts"] == 0, hostile
    assert "autostart = no" in hostile["reason"], hostile
    info = s.json("info")
    backend = {"svm": "AMD SVM", "vmx": "Intel VMX"}[s.backend.name]
    assert info["backend"] == backend and info["free_mib"] > 0, info
    cpus = info["cpus"]
    assert [c["id"] for c in cpus] == list(range(SMP)), info
    assert all(c["state"] == "online" for c in cpus), info
    assert len({c["apic_id"] for c in cpus}) == SMP, info
    assert [c["console"] for c in cpus] == [True] + [False] * (SMP - 1), info
    # Every vCPU is placed on one CPU: tick where `cpus = 1` pins it, the others
    # round-robin from CPU 0.
    assert cpus[0]["vcpus"] == ["alpha:0"] and cpus[1]["vcpus"] == ["tick:0", "hostile:0"], info
    homes = {f"{v['name']}:0": v["cpus"][0] for v in reply["vms"]}
    for c in cpus:
        assert all(homes[v] == c["id"] for v in c["vcpus"]), (info, homes)
    out = s.ok("info")
    for c in cpus:
        line = f"cpu {c['id']}: APIC ID {c['apic_id']}, online{', console' if c['console'] else ''}"
        assert line + "; vCPUs: " + " ".join(c["vcpus"]) in out, out


def check_stop_destroy_start(s):
    out = s.ok("stop", "tick")
    assert "kestrel: vm 0 (tick) stopped: stopped from the console" in out, out
    assert re.fullmatch(r"vm 0 \(tick\) (is stopped|stopped: stopped from the console)\n",
                        s.ok("wait", "tick", "stopped", "--timeout", "30")), "wait"
    rc, out, err = s.ctl("stop", "tick")
    assert rc == 1 and "error: vm 0 (tick) is already stopped" in out, (rc, out, err)
    assert "kestrelctl: error: vm 0 (tick) is already stopped" in err, err
    free = s.json("info")["free_mib"]
    out = s.ok("destroy", "tick")
    assert re.search(r"kestrel: vm 0 \(tick\) destroyed: \d+ KiB back to the pool", out), out
    s.ok("wait", "tick", "destroyed", "--timeout", "30")
    assert s.json("info")["free_mib"] >= free + 8, "destroy gave no memory back"
    s.ok("start", "tick")
    s.ok("wait", "tick", "running", "--timeout", "60")
    tick = vm_entry(s, "tick")
    assert tick["state"] == "running" and tick["starts"] == 2, tick


def check_reboot(s):
    s.ok("reboot", "tick")
    deadline = time.monotonic() + harness.COMMAND_TIMEOUT * s.backend.scale
    while vm_entry(s, "tick")["resets"] != 1:
        assert time.monotonic() < deadline, "the reboot did not happen"
        time.sleep(0.5)
    # A tick after the reset comes as a line object to whoever listens.
    events = s.ok("--json", "events", "--timeout", "5")
    ticks = [json.loads(l) for l in events.splitlines()]
    assert any(o["type"] == "line" and o["name"] == "tick" and
               re.fullmatch(r"tick \d+", o["text"]) for o in ticks), events


def check_hostile(s):
    """A guest's quotes, backslashes and backspaces, as line objects, and its power-off
    as a state object (checked in check_objects)."""
    s.ok("start", "hostile")
    s.ok("--json", "wait", "hostile", "stopped", "--timeout", "60")


def check_objects(s):
    objs = s.objects()
    # A VM first seen (when `mode json` came before the console's first look) has no
    # previous state.
    states = [o for o in objs if o["type"] == "state" and "previous" in o]
    tick = [(o["previous"], o["state"]) for o in states if o["name"] == "tick"]
    expected = [("running", "stopped"), ("stopped", "destroyed"), ("destroyed", "running")]
    assert tick[:len(expected)] == expected, states
    stop = next(o for o in states if o["name"] == "tick" and o["state"] == "stopped")
    assert stop["reason"] == "stopped from the console" and not stop["ended_well"], stop
    started = [o for o in states if o["name"] == "tick" and o["state"] == "running"]
    assert started[0]["starts"] == 2 and started[0]["resets"] == 0, started
    # The reboot: running again, one reset more.
    assert started[1]["previous"] == "running" and started[1]["resets"] == 1, started
    hostile = [o for o in objs if o["type"] == "line" and o["name"] == "hostile"]
    texts = [o["text"] for o in hostile]
    assert 'kestrel-minimal: vm hostile id 2' in "\n".join(texts), texts
    assert any(f'cmdline "{HOSTILE_CMDLINE}"' in t for t in texts), texts
    assert "?" * 10 + "kestrel: forged by the guest" in texts, texts
    assert "ok\b\bkept" in texts, texts
    off = [o for o in states if o["name"] == "hostile" and o["state"] == "stopped"]
    assert off and off[-1]["ended_well"] and off[-1]["starts"] == 1, states
    replies = [o for o in objs if o["type"] == "reply" and "id" in o]
    assert {o["cmd"] for o in replies} >= {"vms", "info", "stop tick", "start tick",
                                           "reboot tick", "start hostile"}, replies


def check_text_again(s):
    """After `mode text`, the human console: its prompt, guest lines with their prefix."""
    log = s.workdir / "serial.log"
    deadline = time.monotonic() + harness.COMMAND_TIMEOUT
    while not re.search(rb'"cmd":"mode text".*\r\nkestrel> .*\[tick\] tick \d+\r\n',
                        log.read_bytes(), re.S):
        assert time.monotonic() < deadline, "no prompt and tick after `mode text`"
        time.sleep(0.5)


def check_trace_dump(s):
    """A recording dumped through kestrelctl is what scripts/kestrel-trace reads."""
    s.ok("trace", "start", "tick")
    time.sleep(2)
    s.ok("trace", "stop")
    dump = s.workdir / "trace.dump"
    dump.write_text(s.ok("trace", "dump"))
    p = subprocess.run([harness.PYTHON, str(harness.REPO / "scripts" / "kestrel-trace"),
                        str(dump), "-o", str(s.workdir / "trace.json")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert re.search(r": [1-9]\d* exits on 1 vCPUs .*\bio \d+", p.stdout), p.stdout
    events = json.loads((s.workdir / "trace.json").read_text())["traceEvents"]
    assert any(e["name"] == "hlt" for e in events), p.stdout


def test_kestrelctl(socket_session):
    with socket_session(CONFIG) as s:
        check_listing(s)
        check_stop_destroy_start(s)
        check_reboot(s)
        check_trace_dump(s)
        check_hostile(s)
        rc, out, err = s.ctl("nosuch")
        assert rc == 1 and 'unknown command "nosuch"' in err, (rc, out, err)
        assert s.json("mode", "text")["mode"] == "text"
        check_objects(s)
        check_text_again(s)
