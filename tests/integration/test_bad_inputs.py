"""Bad boot inputs (docs/bad-inputs.md): each gets one message naming the file (and line)
and the problem, and the other VMs run. One boot holds most rows: a good VM and one VM per
bad input. Rows tested elsewhere are named in the table."""
import shutil
import struct

from test_minimal import CHECKS_1_VCPU, GUEST, assert_selftest_passed, vm


def overlapping_elf(elf):
    """minimal.elf with its second PT_LOAD moved onto the first."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    out, loads = bytearray(elf), []
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", out, at)[0] == 1:
            loads.append(at)
    first_paddr, = struct.unpack_from("<Q", out, loads[0] + 0x18)
    struct.pack_into("<Q", out, loads[1] + 0x18, first_paddr + 0x1000)
    return bytes(out)


def test_bad_boot_inputs_each_get_one_clear_message(boot_batch, esp_dir, tmp_path):
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    g = esp / "guests"
    (g / "overlap.elf").write_bytes(overlapping_elf((esp / GUEST).read_bytes()))
    (g / "big.initrd").write_bytes(b"\0" * (24 << 20))

    cfg = (vm("good")
           + vm("overlap", kernel="guests/overlap.elf", memory="8M")
           + vm("bigrd", memory="16M") + "initrd = guests/big.initrd\n\n"
           + vm("norderd", memory="8M") + "initrd = guests/no-such.img\n\n"
           + vm("apic", memory="4G")
           + vm("huge", memory="3G")
           + vm("pinned", memory="8M") + "cpus = 0,3\n\n"
           + "[vm junk]\nmemory = 8M\nkernel = guests/minimal.elf\n\x01\x7f\xfe junk\n\n"
           + "[vm long]\nmemory = 8M\nkernel = guests/minimal.elf\ncmdline = "
           + "x" * 5000 + "\n\n")
    r = boot_batch(cfg, esp=esp)
    r.assert_rc(1)
    r.search(r'not started: kernel "guests/overlap\.elf": segments at 0x100000 and '
             r'0x101000 overlap$')
    r.search(r'^kestrel: vm \d+ \(bigrd\) not started: initrd "guests/big\.initrd" '
             r'.*(does not fit|larger than).*$')
    r.search(r'^kestrel: vm "norderd": cannot read initrd "guests/no-such\.img": '
             r'file not found$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "apic": memory "4G": must be between 2M and 3G '
             r'\(guest RAM ends below the device window at 0xc0000000\)$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "huge": memory 3072 MiB does not fit: \d+ MiB of the '
             r'machine is left after the VMs before it and the hypervisor$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "pinned": cpus = names CPU 3, but the machine has 1 '
             r'\(0-0\)$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "junk": .*(control|character|printable).*$')
    r.search(r'^kestrel: hv\.cfg:\d+: vm "long": cmdline .*(long|at most).*$')
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)
    # VMs refused after their RAM was allocated (overlap, bigrd) gave it back at once.
    r.search(r"^kestrel: 1 VMs built: 16384 KiB of guest RAM, ")


def test_bad_disk_images_each_get_one_clear_message(boot_batch, esp_dir, tmp_path):
    """virtio-blk images (hv.cfg `disk =`): missing, not whole sectors, empty."""
    esp = tmp_path / "esp"
    shutil.copytree(esp_dir, esp)
    g = esp / "guests"
    (g / "odd.img").write_bytes(b"\0" * 1000)
    (g / "empty.img").write_bytes(b"")
    cfg = (vm("good")
           + vm("nodisk", memory="8M") + "disk = images/no-such.img\n\n"
           + vm("odddisk", memory="8M") + "disk = guests/odd.img\n\n"
           + vm("nulldisk", memory="8M") + "disk = guests/empty.img\n\n")
    r = boot_batch(cfg, esp=esp)
    r.assert_rc(1)
    r.search(r'^kestrel: vm "nodisk": cannot read disk "images/no-such\.img": '
             r'file not found$')
    r.search(r'^kestrel: vm "odddisk": disk "guests/odd\.img": 1000 bytes is not a multiple '
             r'of 512 \(a disk is whole 512-byte sectors\)$')
    r.search(r'^kestrel: vm "nulldisk": disk "guests/empty\.img" is empty \(a disk has at '
             r'least one 512-byte sector\)$')
    assert_selftest_passed(r, "good", CHECKS_1_VCPU)
