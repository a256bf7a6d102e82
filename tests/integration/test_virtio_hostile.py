"""A malicious virtio driver (issue 9, "hostile queues"): the minimal guest's virtio-hostile
mode (guest-tools/minimal/virtio_hostile.c) breaks the split-virtqueue rules of its
virtio-rng one case at a time. Each case must end in DEVICE_NEEDS_RESET with the reason on
the console, nothing written to guest RAM, and a working device after a reset; the VM
keeps running, and a neighbour VM finishes its self-checks. Runs on both backends."""
import re

from test_minimal import CHECKS_1_VCPU, assert_selftest_passed, guest_lines, vm

# Each hostile case of the guest, in its order, with the reason hypervisor/virtio gives.
OUTSIDE = "buffer outside guest RAM"
BAD_TABLE = "indirect table empty, of a partial descriptor, or outside guest RAM"
MISALIGNED = "misaligned ring (descriptors 16, avail 2, used 4 bytes)"
REASONS = {
    "vq-desc-outside-ram": OUTSIDE,
    "vq-desc-addr-wraps": OUTSIDE,
    "vq-desc-past-ram-end": OUTSIDE,
    "vq-desc-in-bar": OUTSIDE,
    "vq-chain-loop": "loop in a descriptor chain",
    "vq-chain-longer-than-queue": "loop in a descriptor chain",
    "vq-chain-link-past-table": "chain link past the descriptor table",
    "vq-head-past-table": "avail ring names a descriptor past the table",
    "vq-readable-after-writable": "device-readable buffer after a device-writable one",
    "vq-indirect-nested": "nested indirect table",
    "vq-indirect-len-partial": BAD_TABLE,
    "vq-indirect-len-zero": BAD_TABLE,
    "vq-indirect-in-bar": BAD_TABLE,
    "vq-indirect-with-next": "indirect descriptor with NEXT set",
    "vq-indirect-loop": "loop in an indirect chain",
    "vq-indirect-link-past-table": "indirect chain link past its table",
    "vq-indirect-too-long": "chain longer than 128 buffers",
    "vq-indirect-not-negotiated": "indirect descriptor, not negotiated",
    "vq-avail-idx-jump": "avail index moved by more than the queue size",
    "vq-desc-misaligned": MISALIGNED,
    "vq-used-misaligned": MISALIGNED,
    "vq-desc-table-past-ram-end": "descriptor table outside guest RAM",
    "vq-avail-ring-past-ram-end": "available ring outside guest RAM",
    "vq-used-ring-past-ram-end": "used ring outside guest RAM",
    "vq-desc-table-in-bar": "descriptor table outside guest RAM",
    "vq-size-not-pow2": "queue size is not a power of 2 up to 32768",
    "vq-size-above-max": "queue size above the maximum offered",
}
# A valid layout the walker once refused (virtio 1.2, 2.7.5.3.2: direct descriptors, then
# one indirect one): served, no reset.
CHECKS = ["virtio-rng-probe", "virtio-rng-request", *REASONS, "vq-direct-then-indirect",
          "vq-ram-canary"]


def reasons_by_check(r, name):
    """{check or note: [needs-reset reasons printed since the previous one]}: the
    hypervisor prints the reason during the guest's notify or queue_enable, before the
    guest's result line for that case."""
    pending, seen = [], {}
    reset = re.compile(rf"^kestrel: vm \d+ \({re.escape(name)}\): virtio-rng needs reset: "
                       r"(.*)$")
    mark = re.compile(rf"^\[{re.escape(name)}\] (?:(?:PASS|FAIL|SKIP): ([\w-]+)|"
                      r"virtio-hostile: note: ([\w-]+))")
    for line in r.lines:
        if m := reset.match(line):
            pending.append(m.group(1))
        elif m := mark.match(line):
            seen[m.group(1) or m.group(2)] = pending
            pending = []
    return seen


def test_hostile_virtqueues_only_reset_the_device(boot_batch):
    cfg = vm("hostile", "virtio-hostile").rstrip() + "\nrng = on\n\n" + vm("neighbour")
    r = boot_batch(cfg)
    r.assert_ok()
    assert "*** hypervisor exception" not in r.log_text, r.describe()
    lines = guest_lines(r, "hostile")
    fails = [l for l in lines if l.startswith("FAIL")]
    assert not fails, f"hostile: {fails}\n{r.describe()}"
    assert [l[6:] for l in lines if l.startswith("PASS: ")] == CHECKS, r.describe()
    r.search(rf"^\[hostile\] selftest: {len(CHECKS)} passed, 0 failed$")
    r.search(r"^kestrel: vm \d+ \(hostile\) stopped: powered off by the guest \(status 0\)$")
    seen = reasons_by_check(r, "hostile")
    for check in CHECKS:
        want = [REASONS[check]] if check in REASONS else []
        assert seen.get(check) == want, \
            f"{check}: needs-reset lines {seen.get(check)}, want {want}\n{r.describe()}"
    assert_selftest_passed(r, "neighbour", CHECKS_1_VCPU)
    r.search(r"^kestrel: batch mode: every VM ended well; powering off$")
