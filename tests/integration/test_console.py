"""The management console on the serial line: every command answers, errors are
clear, and pause / resume / stop control a running VM."""
import re

import pexpect

CONFIG = """
[vm tick]
memory = 8M
kernel = guests/minimal.elf
cmdline = ticker period_ms=200

[vm alpha]
memory = 16M
kernel = guests/minimal.elf
cmdline = selftest
"""


def ticks_within(session, seconds):
    """True if the ticker VM prints a tick within `seconds`."""
    try:
        session.child.expect(r"\[tick\] tick \d+", timeout=seconds)
        return True
    except pexpect.TIMEOUT:
        return False


def test_console_commands(interactive_session):
    with interactive_session(CONFIG) as s:
        s.expect(r"\[alpha\] selftest: \d+ passed, 0 failed")
        s.expect(r"kestrel: vm 1 \(alpha\) stopped: powered off by the guest \(status 0\)")
        s.expect(r"\[tick\] tick 3")

        out = s.command("help")
        for name in ("help", "info", "vms", "stats", "regs", "trace", "pause", "resume",
                     "stop"):
            assert re.search(rf"^  {name} ", out, re.M), out

        out = s.command("vms")
        assert re.search(r"^ID\s+NAME\s+STATE\s+VCPUS\s+MEMORY\s+EXITS", out, re.M), out
        assert re.search(r"^0\s+tick\s+running\s+1\s+8M\s+[1-9]\d*", out, re.M), out
        assert re.search(r"^1\s+alpha\s+stopped\s+1\s+16M\s+[1-9]\d*\s+powered off", out, re.M), out

        out = s.command("stats alpha")
        assert re.search(r"^vm 1 \(alpha\): \d+ exits", out, re.M), out
        for reason in ("cpuid", "io", "msr-read", "hypercall", "npf", "exception"):
            assert re.search(rf"^  {reason}\s+[1-9]\d*$", out, re.M), (reason, out)
        m = re.search(r"unbacked memory: (\d+) reads, (\d+) writes; unclaimed ports: "
                      r"(\d+) reads, (\d+) writes", out)
        assert m and all(int(n) > 0 for n in m.groups()[:3]), out

        out = s.command("regs tick")
        assert re.search(r"^vm 0 \(tick\) vcpu 0: (runnable|halted)", out, re.M), out
        assert re.search(r"RIP [0-9a-f]{16} RFLAGS [0-9a-f]{16}", out), out
        assert re.search(r"CR0 [0-9a-f]{16} CR2 [0-9a-f]{16} CR3 [0-9a-f]{16}", out), out

        out = s.command("trace tick")
        assert re.search(r"^TSC\s+VM\s+VCPU\s+REASON", out, re.M), out
        assert re.search(r"^[0-9a-f]{16} 0\s+0\s+(hlt|hypercall|interrupt)", out, re.M), out
        assert not re.search(r"^[0-9a-f]{16} 1 ", out, re.M), out   # only VM 0

        out = s.command("info")
        assert re.search(r"backend AMD SVM|backend Intel VMX", out), out


def test_console_errors(interactive_session):
    with interactive_session(CONFIG) as s:
        s.expect(r"\[tick\] tick 1")
        assert 'error: unknown command "bogus" (try `help`)' in s.command("bogus")
        assert 'error: no VM "nosuch" (see `vms`)' in s.command("stats nosuch")
        assert "error: usage: stats <vm>" in s.command("stats")
        assert "error: usage: vms" in s.command("vms extra")
        assert "error: vm 0 (tick) is running, not paused" in s.command("resume tick")


def test_pause_resume_stop(interactive_session):
    with interactive_session(CONFIG) as s:
        s.expect(r"\[tick\] tick 2")
        s.command("pause 0")
        assert re.search(r"^0\s+tick\s+paused", s.command("vms"), re.M)
        assert not ticks_within(s, 2.0), "a paused VM kept ticking"
        s.command("resume tick")
        assert ticks_within(s, 10), "the VM did not tick again after resume"
        out = s.command("stop tick")
        assert "kestrel: vm 0 (tick) stopped: stopped from the console" in out, out
        assert re.search(r"^0\s+tick\s+stopped\s.*stopped from the console", s.command("vms"), re.M)
        assert "error: vm 0 (tick) is already stopped" in s.command("stop tick")
        assert not ticks_within(s, 1.0), "a stopped VM kept ticking"
