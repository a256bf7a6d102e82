#!/usr/bin/env bash
# Build the Linux guest images from Debian packages, without installing a kernel on the host.
#
#   scripts/build-linux-guest.sh OUTDIR
#
# Produces, in OUTDIR:
#   bzImage             the kernel (vmlinuz) of the package that linux-image-amd64 depends on
#   vmlinux             the uncompressed ELF inside it (carries the Xen PVH entry note)
#   initramfs.cpio.gz   newc cpio: static busybox + applet links, /dev /proc /sys /tmp,
#                       /dev/console, /init = guest-tools/linux/init, and the modules
#                       below in /lib/modules (with load-order and kernel-release)
#   modules/*.ko        the modules /init loads, modules/load-order their insmod order
#   VERSION             the kernel release (what `uname -r` prints in the guest)
#   packages.txt        the package names and versions used
#   debs/               the downloaded .deb cache (reruns do not download again)
#   work/               extraction directories
#
# Idempotent; when everything is up to date it only checks stamps (well under a second).
# The packages are resolved with the local apt lists (apt-cache); with no usable lists it
# falls back to the cached .debs, and with neither it runs `apt-get update` once (as root).
# KESTREL_LINUX_OFFLINE=1 forces the cached .debs (no apt-cache, no download).
set -euo pipefail

PY=/usr/bin/python3
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SELF")/.." && pwd)"
INIT_SRC="$REPO/guest-tools/linux/init"
META_PKG=linux-image-amd64
BUSYBOX_PKG=busybox-static
# .ko file names (not module names: virtio-rng.ko holds virtio_rng) in an insmod order
# that works: the virtio ones as in PLATFORM.md ("Linux guests"), then the hardware RNG
# driver and ext4 after what it needs. There is no modules.dep in the package; the
# dependencies are the "depends=" (and "softdep=") fields of each .ko's .modinfo:
#   virtio-rng: virtio, virtio_ring     ext4: jbd2, mbcache, crc16; softdep crc32c
#   jbd2: softdep crc32c                (crc32c_generic provides "crypto-crc32c";
#                                        crc32c-intel would too, but needs SSE4.2)
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio
         virtio_blk failover net_failover virtio_net virtio_console virtio-rng
         crc32c_generic crc16 mbcache jbd2 ext4)

say() { echo "build-linux-guest: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ -f "$INIT_SRC" ] || die "$INIT_SRC is missing"
for tool in dpkg-deb tar readelf; do
  command -v "$tool" >/dev/null || die "$tool not found (packages dpkg, tar, binutils)"
done
[ -x "$PY" ] || die "$PY not found"

mkdir -p "$1/debs" "$1/work"
OUT="$(cd "$1" && pwd)"
DEBS="$OUT/debs"
WORK="$OUT/work"

# ------------------------------------------------------------------ package resolution
# deb_name PKG VERSION -> the file name `apt-get download` gives (epoch colon as %3a)
deb_name() { echo "${1}_${2//:/%3a}_amd64.deb"; }

candidate_version() {   # PKG -> candidate version from the local lists, or nothing
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

kernel_pkg_from_apt() {  # the concrete linux-image-X.Y.Z-N-amd64 of the meta package
  apt-cache depends "$META_PKG" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

# The kernel glob ends in [0-9]-amd64 so that it skips the -cloud-amd64 .deb that
# build-cloud-kernel.sh keeps in the same folder (sort -V ranked it newest).
newest_cached() {        # GLOB -> the newest cached .deb matching it, or nothing
  local f found=()
  for f in "$DEBS"/$1; do [ -s "$f" ] && found+=("$f"); done
  [ ${#found[@]} -eq 0 ] || printf '%s\n' "${found[@]}" | sort -V | tail -n 1
}

resolve() {              # sets KPKG KVER BVER from the apt lists; returns 1 if impossible
  KPKG=$(kernel_pkg_from_apt)
  [ -n "$KPKG" ] || return 1
  KVER=$(candidate_version "$KPKG")
  BVER=$(candidate_version "$BUSYBOX_PKG")
  [ -n "$KVER" ] && [ -n "$BVER" ]
}

fetch() {                # PKG VERSION -> path of the cached .deb (downloads if needed)
  local pkg=$1 ver=$2 f
  f="$DEBS/$(deb_name "$pkg" "$ver")"
  if [ ! -s "$f" ]; then
    say "downloading $pkg $ver"
    (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
      die "apt-get download $pkg=$ver failed"
    [ -s "$f" ] || die "apt-get download did not produce $f"
    # keep one version per package in the cache
    local old
    for old in "$DEBS/${pkg}_"*.deb; do
      [ "$old" = "$f" ] || rm -f "$old"
    done
  fi
  echo "$f"
}

# apt-cache takes ~1 s a call here: remember the last resolution while the apt lists stay
# the same, so an up-to-date rerun needs no apt-cache at all.
RESOLVED="$WORK/resolved"
lists_sig=$(stat -c '%Y %s %n' /var/lib/apt/lists/*Packages* 2>/dev/null | sha256sum | cut -d' ' -f1)
KDEB="" BDEB=""
if [ "${KESTREL_LINUX_OFFLINE:-0}" != 1 ] && [ -f "$RESOLVED" ] &&
   [ "$(sed -n 1p "$RESOLVED")" = "$lists_sig" ]; then
  KDEB=$(sed -n 2p "$RESOLVED"); BDEB=$(sed -n 3p "$RESOLVED")
  [ -s "$KDEB" ] && [ -s "$BDEB" ] || KDEB="" BDEB=""
fi
if [ -n "$KDEB" ]; then
  :
elif [ "${KESTREL_LINUX_OFFLINE:-0}" != 1 ]; then
  if ! resolve; then
    KDEB=$(newest_cached 'linux-image-[0-9]*[0-9]-amd64_*.deb')
    BDEB=$(newest_cached "${BUSYBOX_PKG}_*.deb")
    if [ -z "$KDEB" ] || [ -z "$BDEB" ]; then
      [ "$(id -u)" -eq 0 ] || die "cannot resolve $META_PKG with apt-cache (run apt-get update)"
      say "apt lists do not know $META_PKG: running apt-get update"
      apt-get update -q >&2 || die "apt-get update failed"
      resolve || die "cannot resolve $META_PKG / $BUSYBOX_PKG with apt-cache"
      KDEB="" BDEB=""
    else
      say "apt-cache cannot resolve $META_PKG: using the cached .debs"
    fi
  fi
  [ -n "$KDEB" ] || KDEB=$(fetch "$KPKG" "$KVER")
  [ -n "$BDEB" ] || BDEB=$(fetch "$BUSYBOX_PKG" "$BVER")
  printf '%s\n%s\n%s\n' "$lists_sig" "$KDEB" "$BDEB" > "$RESOLVED"
else
  KDEB=$(newest_cached 'linux-image-[0-9]*[0-9]-amd64_*.deb')
  BDEB=$(newest_cached "${BUSYBOX_PKG}_*.deb")
  if [ -z "$KDEB" ] || [ -z "$BDEB" ]; then
    die "KESTREL_LINUX_OFFLINE=1 but $DEBS lacks the .debs"
  fi
fi

pkg_field() { dpkg-deb -f "$1" "$2"; }
KPKG=$(pkg_field "$KDEB" Package); KVER=$(pkg_field "$KDEB" Version)
BPKG=$(pkg_field "$BDEB" Package); BVER=$(pkg_field "$BDEB" Version)
KREL=${KPKG#linux-image-}           # e.g. 6.1.0-56-amd64 = the guest's uname -r
say "packages: $KPKG $KVER; $BPKG $BVER"

stamp_of() {             # the inputs of a step, as one line per input: size mtime path
  local f
  for f in "$@"; do stat -c '%s %Y %n' "$f"; done
  sha256sum "$SELF" | cut -d' ' -f1
}

# ------------------------------------------------------------------ python helpers
# One embedded program: `extract BZIMAGE VMLINUX`, `modcheck MODDIR KREL` or
# `cpio OUT BUSYBOX INIT MODDIR KREL`.
pyhelper() {
  "$PY" - "$@" <<'PYEOF'
import gzip, lzma, os, struct, subprocess, sys

XZ_MAGIC = b"\xfd7zXZ\x00"
XEN_ELFNOTE_PHYS32_ENTRY = 18


def die(msg):
    sys.exit(f"build-linux-guest: error: {msg}")


def elf_end(elf):
    """Size of an ELF64 image: the furthest byte any header, segment or section uses."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        die("payload is not a little-endian ELF64 image")
    (e_phoff, e_shoff) = struct.unpack_from("<QQ", elf, 0x20)
    (e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum) = struct.unpack_from("<HHHHH", elf, 0x34)
    end = max(e_ehsize, e_phoff + e_phnum * e_phentsize, e_shoff + e_shnum * e_shentsize)
    for i in range(e_phnum):
        p_offset, p_filesz = struct.unpack_from("<Q8x8xQ", elf, e_phoff + i * e_phentsize + 8)
        end = max(end, p_offset + p_filesz)
    for i in range(e_shnum):
        sh_type, = struct.unpack_from("<I", elf, e_shoff + i * e_shentsize + 4)
        sh_offset, sh_size = struct.unpack_from("<QQ", elf, e_shoff + i * e_shentsize + 24)
        if sh_type != 8:                                    # SHT_NOBITS takes no file space
            end = max(end, sh_offset + sh_size)
    return end


def pvh_entry(elf):
    """The XEN_ELFNOTE_PHYS32_ENTRY value from the PT_NOTE segments, or None."""
    e_phoff, = struct.unpack_from("<Q", elf, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(e_phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, e_phoff + i * e_phentsize)
        if p_type != 4:                                     # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, off)
            name = elf[off + 12: off + 12 + namesz].rstrip(b"\0")
            desc_off = off + 12 + ((namesz + 3) & ~3)
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                fmt = "<I" if descsz == 4 else "<Q"
                return struct.unpack_from(fmt, elf, desc_off)[0]
            off = desc_off + ((descsz + 3) & ~3)
    return None


def xz_candidates(img):
    """Offsets of XZ streams: the boot header's payload_offset first, then a scan."""
    seen = []
    if img[0x202:0x206] == b"HdrS" and struct.unpack_from("<H", img, 0x206)[0] >= 0x208:
        setup_sects = img[0x1F1] or 4
        payload_offset, payload_length = struct.unpack_from("<II", img, 0x248)
        off = (setup_sects + 1) * 512 + payload_offset
        if img[off:off + 6] == XZ_MAGIC:
            seen.append((off, payload_length))
    pos = img.find(XZ_MAGIC)
    while pos >= 0:
        if all(pos != s for s, _ in seen):
            seen.append((pos, None))
        pos = img.find(XZ_MAGIC, pos + 1)
    return seen


def extract(bzimage, out):
    img = open(bzimage, "rb").read()
    for off, length in xz_candidates(img):
        data = img[off: off + length] if length else img[off:]
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        try:
            raw = dec.decompress(data)
        except lzma.LZMAError:
            continue
        if not dec.eof or raw[:4] != b"\x7fELF":
            continue
        # The kernel build appends the decompressed size (le32) after the XZ stream.
        if length and len(dec.unused_data) >= 4:
            size, = struct.unpack_from("<I", dec.unused_data, len(dec.unused_data) - 4)
            if size != len(raw):
                print(f"build-linux-guest: note: size trailer {size} != decompressed {len(raw)}",
                      file=sys.stderr)
        end = elf_end(raw)
        if end > len(raw):
            die(f"ELF claims {end} bytes but the stream held only {len(raw)}")
        elf = raw[:end]
        entry = pvh_entry(elf)
        if entry is None:
            die("vmlinux has no Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY)")
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            f.write(elf)
        os.replace(tmp, out)
        print(f"build-linux-guest: vmlinux: XZ stream at 0x{off:x} in {os.path.basename(bzimage)}, "
              f"{len(elf)} bytes of ELF (of {len(raw)} decompressed), PVH entry 0x{entry:x}",
              file=sys.stderr)
        return
    die(f"no XZ stream holding an ELF image found in {bzimage}")


def modinfo(ko):
    """The key=value strings of a module's .modinfo section, as a dict of lists."""
    elf = open(ko, "rb").read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        die(f"{ko} is not an ELF64 module (compressed?)")
    e_shoff, = struct.unpack_from("<Q", elf, 0x28)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    def section(i):
        return struct.unpack_from("<I4x8x8xQQ", elf, e_shoff + i * e_shentsize)
    _, str_off, _ = section(e_shstrndx)
    for i in range(e_shnum):
        name_off, off, size = section(i)
        name = elf[str_off + name_off: elf.index(b"\0", str_off + name_off)]
        if name == b".modinfo":
            info = {}
            for item in elf[off: off + size].split(b"\0"):
                key, _, value = item.decode().partition("=")
                if key:
                    info.setdefault(key, []).append(value)
            return info
    die(f"{ko} has no .modinfo section")


def modcheck(moddir, krel):
    """Each module is built for krel and comes after every module it depends on (its
    "depends=" field); "softdep=pre:" names must be provided (by name or alias) earlier."""
    loaded = set()
    for ko in open(os.path.join(moddir, "load-order")).read().split():
        info = modinfo(os.path.join(moddir, ko))
        vermagic = info.get("vermagic", [""])[0].split(" ")[0]
        if vermagic != krel:
            die(f"{ko}: built for {vermagic!r}, not {krel}")
        deps = [d for d in info.get("depends", [""])[0].split(",") if d]
        for soft in info.get("softdep", []):      # "pre: a b post: c"
            pre = False
            for word in soft.split():
                if word.endswith(":"):
                    pre = word == "pre:"
                elif pre:
                    deps.append(word)
        missing = [d for d in deps if d not in loaded]
        if missing:
            die(f"{ko} needs {', '.join(missing)} loaded before it: fix MODULES")
        loaded.add(info["name"][0])
        loaded.update(info.get("alias", []))


FALLBACK_APPLETS = """bin/sh bin/ash bin/mount bin/umount bin/mkdir bin/echo bin/cat bin/uname bin/date
bin/ls bin/dmesg bin/sleep bin/ps bin/kill bin/dd bin/cp bin/mv bin/rm bin/ln bin/grep bin/sed
bin/stty bin/hostname bin/sync bin/true bin/false bin/mknod bin/chmod usr/bin/setsid
bin/cttyhack usr/bin/head usr/bin/tail usr/bin/wc usr/bin/awk usr/bin/od usr/bin/hexdump
usr/bin/find usr/bin/env usr/bin/time usr/bin/xargs usr/bin/tr usr/bin/cut usr/bin/seq
sbin/poweroff sbin/reboot sbin/halt sbin/insmod sbin/rmmod sbin/lsmod sbin/modprobe
sbin/mdev sbin/lspci sbin/ifconfig sbin/ip""".split()


class Cpio:
    """A newc ("070701") archive writer: owner root, fixed mtime, inode numbers in order."""

    def __init__(self, mtime):
        self.parts, self.ino, self.mtime, self.size = [], 1, mtime, 0

    def _add(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, self.mtime, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0)
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.ino += 1
        rec = hdr + name_b
        rec += b"\0" * (-len(rec) % 4) + data
        rec += b"\0" * (-len(rec) % 4)
        self.parts.append(rec)
        self.size += len(rec)

    def dir(self, name, perm=0o755):
        self._add(name, 0o040000 | perm, nlink=2)

    def file(self, name, data, perm=0o644):
        self._add(name, 0o100000 | perm, data)

    def symlink(self, name, target):
        self._add(name, 0o120777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self._add(name, 0o020000 | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self._add("TRAILER!!!", 0)
        blob = b"".join(self.parts)
        return blob + b"\0" * (-len(blob) % 512)


def make_cpio(out, busybox, init, moddir, krel):
    try:
        listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True,
                                 text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listing = FALLBACK_APPLETS
    # /init is ours; busybox's own init and linuxrc must not be mistaken for it.
    applets = sorted(set(a for a in listing if a not in ("linuxrc", "sbin/init")) | {"bin/sh"})
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    c = Cpio(mtime)
    dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "run", "mnt",
            "root", "etc", "lib", "lib/modules"}
    for a in applets:
        d = os.path.dirname(a)
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    c.dir(".")
    for d in sorted(dirs):
        c.dir(d, 0o700 if d == "root" else 0o755)
    c.dir("tmp", 0o1777)
    # The kernel opens /dev/console for init's stdin/out/err before devtmpfs is mounted.
    c.chardev("dev/console", 5, 1)
    c.file("bin/busybox", open(busybox, "rb").read(), 0o755)
    for a in applets:
        if a != "bin/busybox":
            c.symlink(a, "/bin/busybox")
    c.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    c.file("etc/group", b"root:x:0:\n")
    c.file("init", open(init, "rb").read(), 0o755)
    order = open(os.path.join(moddir, "load-order"), "rb").read()
    for ko in order.decode().split():
        c.file("lib/modules/" + ko, open(os.path.join(moddir, ko), "rb").read())
    c.file("lib/modules/load-order", order)
    c.file("lib/modules/kernel-release", krel.encode() + b"\n")
    blob = c.finish()
    gz = gzip.compress(blob, compresslevel=9, mtime=0)
    with open(out + ".tmp", "wb") as f:
        f.write(gz)
    os.replace(out + ".tmp", out)
    print(f"build-linux-guest: initramfs: {len(applets)} applet links, "
          f"{len(order.split())} modules, cpio {len(blob)} bytes, gzip {len(gz)} bytes",
          file=sys.stderr)


if sys.argv[1] == "extract":
    extract(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "modcheck":
    modcheck(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "cpio":
    make_cpio(*sys.argv[2:7])
else:
    die(f"unknown helper command {sys.argv[1]}")
PYEOF
}

# ------------------------------------------------------------------ kernel, vmlinux, modules
KSTAMP="$WORK/kernel.stamp"
kstamp_new=$(stamp_of "$KDEB")
if [ -f "$KSTAMP" ] && [ "$(cat "$KSTAMP")" = "$kstamp_new" ] &&
   [ -s "$OUT/bzImage" ] && [ -s "$OUT/vmlinux" ] && [ -s "$OUT/VERSION" ] &&
   [ -f "$OUT/modules/load-order" ]; then
  say "kernel: up to date ($KREL)"
else
  say "kernel: extracting $(basename "$KDEB")"
  rm -f "$KSTAMP"
  rm -rf "$WORK/kernel"
  mkdir -p "$WORK/kernel"
  # Only the files we use (a full dpkg-deb -x writes ~400 MB of modules).
  patterns=("./boot/vmlinuz-$KREL" "./boot/config-$KREL")
  for m in "${MODULES[@]}"; do patterns+=("./lib/modules/$KREL/kernel/*/$m.ko"); done
  dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$WORK/kernel" --wildcards "${patterns[@]}"
  cp "$WORK/kernel/boot/vmlinuz-$KREL" "$OUT/bzImage.tmp" && mv "$OUT/bzImage.tmp" "$OUT/bzImage"
  cp "$WORK/kernel/boot/config-$KREL" "$OUT/config"
  pyhelper extract "$OUT/bzImage" "$OUT/vmlinux"
  readelf -n "$OUT/vmlinux" | grep -Eq 'XEN_ELFNOTE_PHYS32_ENTRY|Unknown note type: \(0x00000012\)' ||
    die "readelf -n does not show XEN_ELFNOTE_PHYS32_ENTRY in vmlinux"
  rm -rf "$OUT/modules"
  mkdir -p "$OUT/modules"
  : > "$OUT/modules/load-order"
  for m in "${MODULES[@]}"; do
    ko=$(find "$WORK/kernel/lib/modules/$KREL" -name "$m.ko" | head -n 1)
    [ -n "$ko" ] || die "module $m.ko not found in $KPKG"
    cp "$ko" "$OUT/modules/"
    echo "$m.ko" >> "$OUT/modules/load-order"
  done
  pyhelper modcheck "$OUT/modules" "$KREL"
  echo "$KREL" > "$OUT/VERSION"
  echo "$kstamp_new" > "$KSTAMP"
fi

# ------------------------------------------------------------------ busybox + initramfs
ISTAMP="$WORK/initramfs.stamp"
istamp_new=$(stamp_of "$BDEB" "$INIT_SRC" "$OUT/modules/load-order" \
             $(sed "s|^|$OUT/modules/|" "$OUT/modules/load-order"))
if [ -f "$ISTAMP" ] && [ "$(cat "$ISTAMP")" = "$istamp_new" ] && [ -s "$OUT/initramfs.cpio.gz" ]; then
  say "initramfs: up to date"
else
  say "initramfs: building from $(basename "$BDEB"), guest-tools/linux/init and modules/"
  rm -f "$ISTAMP"
  rm -rf "$WORK/busybox"
  dpkg-deb -x "$BDEB" "$WORK/busybox"
  [ -x "$WORK/busybox/bin/busybox" ] || die "$BPKG has no bin/busybox"
  pyhelper cpio "$OUT/initramfs.cpio.gz" "$WORK/busybox/bin/busybox" "$INIT_SRC" \
    "$OUT/modules" "$KREL"
  echo "$istamp_new" > "$ISTAMP"
fi

printf '%s %s\n%s %s\n' "$KPKG" "$KVER" "$BPKG" "$BVER" > "$OUT/packages.txt.tmp"
mv "$OUT/packages.txt.tmp" "$OUT/packages.txt"
echo "kernel:    $KPKG $KVER (release $KREL)"
echo "busybox:   $BPKG $BVER"
for f in bzImage vmlinux initramfs.cpio.gz; do
  printf '%-10s %s (%s bytes)\n' "$f:" "$OUT/$f" "$(stat -c %s "$OUT/$f")"
done
echo "modules:   $OUT/modules ($(wc -l < "$OUT/modules/load-order") .ko, order in load-order; also in the initramfs)"
