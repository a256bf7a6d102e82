"""Fault containment (docs/containment.md): a guest fault stops only that VM, with the
reason in `vms` and on the serial line, and the others complete. Rows already tested
elsewhere are named in the table; the rest are here."""
import re

from test_minimal import CHECKS_1_VCPU, assert_selftest_passed, vm

CONTAINED = {
    "mmio-string": r"cannot emulate the access to guest-physical 0xfee00000: "
                   r"instruction \[f3 a5 [0-9a-f ]+\] not supported \(error -?\d+\)",
    "idt-unbacked": r"event delivery through guest-physical 0xd00000[0-9a-f]{2}, "
                    r"which is not RAM",
    "cli-hlt": r"every vCPU halted with interrupts disabled",
    "mwait": r"unhandled exit 0x[0-9a-f]+ \(MONITOR\)",
}


def test_guest_faults_stop_only_that_vm(boot_batch):
    cfg = vm("victim") + "".join(vm(mode, mode, memory="8M") for mode in CONTAINED)
    r = boot_batch(cfg)
    r.assert_rc(1)
    for i, (mode, why) in enumerate(CONTAINED.items(), start=1):
        r.search(rf"^kestrel: vm {i} \({mode}\) stopped: {why}$")
        r.search(rf"^{i}\s+{mode}\s+stopped\s+1\s+8M\s+\d+\s+{why[:12]}")  # final `vms`
        assert not re.search(rf"^\[{mode}\] FAIL", r.log_text, re.M), r.describe()
    assert_selftest_passed(r, "victim", CHECKS_1_VCPU)


def test_physical_nmi_does_not_stop_a_guest(interactive_session, backend):
    """An NMI to the physical CPU (QEMU's monitor `nmi`) is the host's: it is counted and
    the guest that was running goes on (it used to stop it, or halt the host)."""
    if backend != "svm":
        import pytest
        pytest.skip("Bochs has no way to send the machine an NMI from outside")
    with interactive_session(vm("ticker", "ticker period_ms=100 ticks=0", memory="8M")) as s:
        s.expect(r"\[ticker\] tick 3")
        s.child.send("\x1dc")                      # Ctrl-] c: QEMU's monitor
        s.expect(r"\(qemu\)")
        s.child.send("nmi\r")
        s.expect(r"\(qemu\)")
        s.child.send("\x1dc")                      # back to the serial console
        s.expect(r"\[ticker\] tick \d+")
        s.send_command("")
        out = s.command("info")
        assert re.search(r"[1-9]\d* physical NMIs taken", out), out
        out = s.command("vms")
        assert re.search(r"^0\s+ticker\s+running", out, re.M), out
        s.expect(r"\[ticker\] tick \d+")
