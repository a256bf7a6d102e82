"""Scale: one configuration of 64 minimal VMs (the limit, docs/config.md) with 4 vCPUs
each, 256 vCPUs, boots in one QEMU run, and every VM runs to completion with its own
output; a 65th section gets the loader's "too many VMs". Each guest takes the shortest
workload (one 1 ms tick) in 2 MiB of RAM, but for the last two, which run the
self-checks with their 4 vCPUs. The hypervisor's own memory per VM beyond
guest RAM is read from the boot log. QEMU has 16 ASIDs, so 49 VMs share one with
another VM (core/vm.c vm_tag): each must still see only its own memory. SVM only: Bochs
would take many minutes for the 64 boots; the tag sharing is SVM's alone."""
import re

import pytest

from test_minimal import CHECKS_SMP, GUEST, assert_selftest_passed

NR_VMS = 64            # HV_MAX_VMS (include/hv/bootinfo.h)
VCPUS = 4
OVERHEAD_GOAL_KIB = 512
# The last VMs run the self-checks instead: their APs start, and they check their RAM
# and what lies outside it while sharing an address-space tag with another VM.
SELFTEST = 2
TICKER = "memory = 2M\ncmdline = ticker period_ms=1 ticks=1"
SELFTEST_LINES = "memory = 16M\ncmdline = selftest"


def scale_config(n):
    """n sections of 6 lines each, then [hypervisor]."""
    vms = "".join(f"[vm g{i:02d}]\nvcpus = {VCPUS}\nkernel = {GUEST}\n"
                  f"{SELFTEST_LINES if NR_VMS - SELFTEST <= i < NR_VMS else TICKER}\n\n"
                  for i in range(n))
    return vms + "[hypervisor]\nbatch = on\n"


@pytest.mark.backends("svm")
def test_64_vms_256_vcpus_run_to_completion(boot_batch, backend):
    r = boot_batch(scale_config(NR_VMS + 1), timeout=240)
    r.assert_ok()
    r.search(rf'^kestrel: hv\.cfg:{6 * NR_VMS + 1}: "\[vm g{NR_VMS}\]": too many VMs '
             rf'\(at most {NR_VMS}\); lines up to the next section are ignored$')
    assert f"[g{NR_VMS}]" not in r.log_text
    if "svm: out of ASIDs" in r.log_text:
        r.search(r"^kestrel: \d+ VMs have address-space tags of their own; the next share "
                 r"them")
    for i in range(NR_VMS - SELFTEST):
        name = f"g{i:02d}"
        r.search(rf"^kestrel: vm {i} \({name}\): {VCPUS} vCPU\(s\), 2 MiB, kernel ")
        r.search(rf"^\[{name}\] kestrel-minimal: vm {name} id {i}, ")
        r.search(rf"^\[{name}\] tick 1$")
        r.search(rf"^kestrel: vm {i} \({name}\) stopped: powered off by the guest "
                 rf"\(status 0\)$")
    for i in range(NR_VMS - SELFTEST, NR_VMS):
        assert_selftest_passed(r, f"g{i:02d}", CHECKS_SMP)
    r.search(r"^kestrel: batch mode: every VM ended well; powering off$")
    m = r.search(rf"^kestrel: {NR_VMS} VMs built: (\d+) KiB of guest RAM, (\d+) KiB for the "
                 rf"hypervisor \((\d+) KiB a VM\), \d+ MiB free$")
    assert int(m[1]) == (NR_VMS - SELFTEST) * 2048 + SELFTEST * 16384, m[0]
    per_vm = int(m[3])
    print(f"hypervisor memory per VM ({VCPUS} vCPUs) beyond guest RAM: {per_vm} KiB")
    assert 0 < per_vm <= OVERHEAD_GOAL_KIB, m[0]
