"""Debian's Linux with virtio devices under Kestrel (issue 9): a virtio-blk disk with files
of known sha256 that keeps the guest's writes across a reboot, /dev/hwrng from virtio-rng,
a shell on hvc0 (virtio-console) driven from the console, the `devices` command; and the
same image over virtio-mmio with a read-only disk. The disk image is built by
scripts/build-disk-image.sh (build/disk/data.img, copied to the ESP as images/data.img)."""
import re

import pytest

CTRL_A3 = "\x01\x01\x01"
VIRTIO_VM = """
[vm {name}]
memory = 256M
boot = linux
kernel = guests/bzImage
initrd = guests/initramfs.cpio.gz
cmdline = {cmdline}
disk = images/data.img
rng = on
{extra}
"""


@pytest.fixture(autouse=True)
def images(esp_dir):
    for f in ("guests/bzImage", "images/data.img"):
        if not (esp_dir / f).is_file():
            pytest.skip(f"no {f} on the ESP: `make` builds it from Debian packages")


def test_disk_rng_and_hvc0_over_pci(interactive_session, backend):
    """One VM, three virtio-pci functions. First boot: the files on the disk match their
    manifest, the guest writes a value and reboots; second boot finds the value (writes
    live in hypervisor memory for its lifetime), reads 64 bytes from /dev/hwrng, and its
    shell runs on hvc0, where the console's input reaches it."""
    cfg = VIRTIO_VM.format(name="vio", cmdline="console=ttyS0 console=hvc0 kestrel.disk "
                           "kestrel.rng", extra="virtio-console = on")
    with interactive_session(cfg) as s:
        s.expect(r"\[vio\] KESTREL-LINUX-VIRTIO: 3 devices", timeout=300)
        for dev, drv in (("0x0002", "virtio_blk"), ("0x0003", "virtio_console"),
                         ("0x0004", "virtio_rng")):
            s.expect(rf"\[vio\] KESTREL-LINUX-VIRTIO-DEV: virtio\d device={dev} "
                     rf"vendor=0x1af4 driver={drv}")
        s.expect(r"\[vio\] KESTREL-LINUX-VIRTIO-IRQ: PCI-MSI \d+-edge virtio0-req\.0")
        s.expect(r"\[vio\] KESTREL-LINUX-DISK: manifest ok", timeout=120)
        s.expect(r"\[vio\] KESTREL-LINUX-DISK: wrote written-by-guest ([0-9a-f-]{36})",
                 timeout=120)
        value = s.child.match.group(1)
        s.expect(r"kestrel: vm 0 \(vio\) restarts \(reset by the guest, 1 so far\)",
                 timeout=120)
        s.expect(r"\[vio\] KESTREL-LINUX-DISK: manifest ok", timeout=300)
        s.expect(rf"\[vio\] KESTREL-LINUX-DISK: found written-by-guest {value}", timeout=120)
        s.expect(r"\[vio\] KESTREL-LINUX-RNG: ([0-9a-f]{128})", timeout=120)
        rng = s.child.match.group(1)
        assert len(set(rng)) > 4, rng                  # not a constant fill
        s.expect(r"\[vio\] KESTREL-LINUX-RNG-CURRENT: virtio_rng\.0")
        s.expect(r"\[vio\] Enter 'help' for a list of built-in commands", timeout=120)

        out = s.command("devices vio")
        assert re.search(r"pci 00:00\.0 1b36:0008 class 060000 host-bridge", out), out
        for slot, dev, name in (("01", "1042", "virtio-blk"), ("02", "1043", "virtio-console"),
                                ("03", "1044", "virtio-rng")):
            assert re.search(rf"pci 00:{slot}\.0 1af4:{dev} class \w+ {name}\s+bar0 0xc\w+ "
                             r"msi-x", out), out
        assert re.search(r"virtio-blk \(pci\): status ack driver driver-ok features-ok, "
                         r"features 0x\w+, resets \d+", out), out
        assert re.search(r"queue 0: size \d+ on, chains [1-9]\d*", out), out
        assert "needs reset" not in out, out

        # The shell is on hvc0: what is typed reaches it through the virtio console.
        s.child.send(CTRL_A3)
        s.expect(r"kestrel: console input goes to vm 0 \(vio\)")
        s.child.send("tty; cat /sys/class/tty/console/active\r")
        s.expect(r"\[vio\] /dev/hvc0")
        s.child.send("poweroff -f\r")
        s.expect(r"kestrel: vm 0 \(vio\) stopped: powered off by the guest \(ACPI S5\)")


def test_same_image_over_virtio_mmio_with_a_read_only_disk(boot_batch, backend):
    """transport = mmio: the devices are found through the DSDT (LNRO0005), the disk reads
    right, and a read-only disk refuses the guest's write (so it does not reboot)."""
    cfg = VIRTIO_VM.format(name="mmio", cmdline="console=ttyS0 kestrel.disk kestrel.rng "
                           "kestrel.poweroff", extra="transport = mmio\ndisk-readonly = on")
    r = boot_batch(cfg, timeout=400)
    r.assert_ok()
    r.search(r"^\[mmio\] KESTREL-LINUX-VIRTIO: 2 devices$")
    r.search(r"^\[mmio\] KESTREL-LINUX-VIRTIO-DEV: virtio\d device=0x0002 vendor=0x\w+ "
             r"driver=virtio_blk$")
    r.search(r"^\[mmio\] KESTREL-LINUX-VIRTIO-DEV: virtio\d device=0x0004 vendor=0x\w+ "
             r"driver=virtio_rng$")
    assert not re.search(r"KESTREL-LINUX-PCI: \S+ 1af4:", r.log_text), r.describe()
    r.search(r"^\[mmio\] KESTREL-LINUX-DISK: manifest ok$")
    r.search(r"^\[mmio\] KESTREL-LINUX-DISK: write FAILED$")
    r.search(r"^\[mmio\] KESTREL-LINUX-RNG: [0-9a-f]{128}$")
    assert "restarts" not in r.log_text, r.describe()


# The INTx path is backend-independent (pci/pci_host.c, the IOAPIC model): one Linux boot
# on QEMU covers it; under Bochs a Linux boot costs minutes.
@pytest.mark.backends("svm")
def test_intx_when_the_guest_declines_msi(boot_batch, backend):
    """pci=nomsi: the virtio-pci functions interrupt through INTA and the _PRT's IOAPIC
    pins (level, active low), the ISR read deasserting the line."""
    cfg = VIRTIO_VM.format(name="intx", cmdline="console=ttyS0 pci=nomsi kestrel.disk "
                           "kestrel.rng kestrel.poweroff", extra="disk-readonly = on")
    r = boot_batch(cfg, timeout=400)
    r.assert_ok()
    r.search(r"^\[intx\] KESTREL-LINUX-VIRTIO-IRQ: IO-APIC 1[6-9]-fasteoi virtio0$")
    assert "PCI-MSI" not in r.log_text, r.describe()
    r.search(r"^\[intx\] KESTREL-LINUX-DISK: manifest ok$")
    r.search(r"^\[intx\] KESTREL-LINUX-RNG: [0-9a-f]{128}$")
    r.search(r"^  virtio-blk \(pci\): .*\n    queue 0: size 256 \w+, chains [1-9]\d*, "
             r"notifies \d+, interrupts [1-9]\d*$")
