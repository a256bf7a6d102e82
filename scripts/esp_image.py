"""Build a bootable disk image from an ESP directory (shared by the QEMU and Bochs runners).

The image is MBR-partitioned: one EFI System partition (type 0xEF) starting at 1 MiB that
holds a FAT file system with the ESP's files. OVMF boots \\EFI\\BOOT\\BOOTX64.EFI from it,
and Bochs needs the MBR ("flat" disk). Only mtools and dosfstools are used: no loop devices,
no root rights.

    make_disk_image(esp_dir, config_path, batch, out_path)
    mtools_target(out_path)   ->  "IMG@@1048576", for mdir/mtype/mcopy -i
"""
import os
import struct
import subprocess
import tempfile

SECTOR = 512
PART_START = 2048                  # first partition sector: 1 MiB, as partitioning tools do
PART_OFFSET = PART_START * SECTOR
MIB = 1 << 20
CYLINDER = 16 * 63 * SECTOR        # Bochs derives CHS = N/16/63 from a flat image's size
MIN_SIZE = 64 * MIB
SLACK = 16 * MIB
BATCH_STANZA = "\n[hypervisor]\nbatch = on\n"
CONFIG_NAME = "hv.cfg"


def mtools_target(image_path):
    """The mtools image name of the FAT partition, e.g. for `mdir -i TARGET ::/`."""
    return f"{image_path}@@{PART_OFFSET}"


def _tree_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def image_size(esp_dir):
    """Bytes for the whole disk: ESP contents + 16 MiB slack + the 1 MiB before the
    partition, at least 64 MiB, rounded up to whole 16-head 63-sector cylinders so that
    Bochs's geometry covers the whole image."""
    size = max(MIN_SIZE, _tree_size(esp_dir) + SLACK + PART_OFFSET)
    return -(-size // CYLINDER) * CYLINDER


def _write_mbr(f, total_sectors):
    """One bootable-flagged partition of type 0xEF (EFI System), CHS fields saturated."""
    count = total_sectors - PART_START
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0xEF, b"\xfe\xff\xff",
                        PART_START, count)
    f.seek(440)
    f.write(struct.pack("<I", 0x4B455354))       # disk signature "KEST"
    f.seek(446)
    f.write(entry + bytes(48) + b"\x55\xaa")


def _run(cmd):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}")


def _config_text(esp_dir, config_path, batch):
    """The hv.cfg to put on the image, or None for no hv.cfg at all."""
    src = config_path or os.path.join(esp_dir, CONFIG_NAME)
    text = None
    if os.path.exists(src):
        with open(src, encoding="utf-8") as f:
            text = f.read()
    elif config_path:
        raise FileNotFoundError(f"config file not found: {config_path}")
    if batch:
        text = (text or "") + BATCH_STANZA
    return text


def _copy_files(esp_dir, target, config_text):
    """Copy the ESP's top-level entries (not dot-files, not hv.cfg), then the hv.cfg."""
    names = sorted(n for n in os.listdir(esp_dir)
                   if not n.startswith(".") and n != CONFIG_NAME)
    if names:
        _run(["mcopy", "-s", "-Q", "-i", target]
             + [os.path.join(esp_dir, n) for n in names] + ["::/"])
    if config_text is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, CONFIG_NAME)
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(config_text)
        _run(["mcopy", "-Q", "-i", target, cfg, "::/" + CONFIG_NAME])


def make_disk_image(esp_dir, config_path, batch, out_path):
    """Write an MBR + FAT disk image of esp_dir to out_path.

    config_path: a VM config that replaces the ESP's hv.cfg (None keeps the ESP's).
    batch: append the "[hypervisor] batch = on" stanza to the hv.cfg on the image.
    """
    if not os.path.isfile(os.path.join(esp_dir, "EFI", "BOOT", "BOOTX64.EFI")):
        raise FileNotFoundError(f"{esp_dir}: no EFI/BOOT/BOOTX64.EFI (run `make` first?)")
    config_text = _config_text(esp_dir, config_path, batch)
    size = image_size(esp_dir)
    with open(out_path, "wb") as f:
        f.truncate(size)
        _write_mbr(f, size // SECTOR)
    part_kib = (size - PART_OFFSET) // 1024
    _run(["mkfs.vfat", "--offset", str(PART_START), "-h", str(PART_START),
          "-n", "KESTREL", out_path, str(part_kib)])
    _copy_files(esp_dir, mtools_target(out_path), config_text)
    return out_path
