#!/usr/bin/env bash
# Build the test disk for virtio-blk guests: a 16 MiB ext4 file system holding a few files
# of known content and their checksums.
#
#   scripts/build-disk-image.sh OUTDIR
#
# Produces, in OUTDIR:
#   data.img      raw ext4 image (no partition table), 16 MiB; `make` puts it on the ESP
#                 as images/data.img (hv.cfg: disk = images/data.img)
#   data.sha256   the expected checksums, the same lines as MANIFEST.sha256 in the image
#
# Files in the image (all owned by root, mode 0644, directories 0755):
#   MANIFEST.sha256   "<sha256>  <path>" for every file below, paths relative to the
#                     mount point: `cd /mnt && sha256sum -c MANIFEST.sha256` checks them
#   hello.txt         a few lines of text
#   random-1m.bin     1 MiB of pseudo-random bytes (SHA-256 in counter mode, fixed seed)
#   odd-size.bin      100003 pseudo-random bytes: ends inside a block and a sector
#   dir/nested.txt    a file in a subdirectory
#
# Deterministic: the same bytes on every run with the same e2fsprogs (fixed UUID and
# directory hash seed, our own mke2fs.conf instead of the host's, every timestamp
# SOURCE_DATE_EPOCH, owners set to 0:0). Needs only mke2fs and debugfs (e2fsprogs,
# installed by scripts/setup.sh); no root rights, no loop devices.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
PY=/usr/bin/python3
export PATH="$PATH:/usr/sbin:/sbin"      # mke2fs and debugfs live in /usr/sbin
SIZE_MIB=16
FS_UUID=4b455354-5245-4c00-6469-736b00000001       # "KESTREL\0disk\0..."
HASH_SEED=4b455354-5245-4c00-6469-736b00000002
EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

say() { echo "build-disk-image: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
for tool in mke2fs debugfs; do
  command -v "$tool" >/dev/null || die "$tool not found (package e2fsprogs: run scripts/setup.sh)"
done
[ -x "$PY" ] || die "$PY not found"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
IMG="$OUT/data.img"
SUMS="$OUT/data.sha256"
STAMP="$OUT/.data.stamp"

stamp_new="$(sha256sum "$SELF" | cut -d' ' -f1) $EPOCH $(mke2fs -V 2>&1 | sed -n 1p)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp_new" ] && [ -s "$IMG" ] && [ -s "$SUMS" ]; then
  say "up to date ($IMG)"
  exit 0
fi
rm -f "$STAMP"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT/dir"

# ------------------------------------------------------------------ the files
"$PY" - "$ROOT" <<'PYEOF'
import hashlib, os, sys

root = sys.argv[1]


def stream(seed, size):
    """size pseudo-random bytes: SHA-256 of seed and a counter, block after block."""
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s:%d" % (seed, n)).digest()
        n += 1
    return bytes(out[:size])


files = {
    "hello.txt": b"Kestrel virtio-blk test disk.\n"
                 b"Made by scripts/build-disk-image.sh; every file is in MANIFEST.sha256.\n",
    "random-1m.bin": stream(b"kestrel-disk-random-1m", 1 << 20),
    "odd-size.bin": stream(b"kestrel-disk-odd-size", 100003),
    "dir/nested.txt": b"a file one directory down\n",
}
lines = []
for path in sorted(files):
    with open(os.path.join(root, path), "wb") as f:
        f.write(files[path])
    lines.append(f"{hashlib.sha256(files[path]).hexdigest()}  {path}\n")
with open(os.path.join(root, "MANIFEST.sha256"), "w") as f:
    f.writelines(lines)
PYEOF
find "$ROOT" -type d -exec chmod 0755 {} +
find "$ROOT" -type f -exec chmod 0644 {} +
find "$ROOT" -exec touch -h -d "@$EPOCH" {} +

# ------------------------------------------------------------------ the file system
# Our own mke2fs.conf: the host's (or a newer e2fsprogs' defaults) must not change the
# features. These are Debian 12's ext4 defaults, all known to Linux 6.1; "small" (what
# mke2fs calls a file system this size) keeps the defaults' 4 KiB blocks.
cat > "$WORK/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		blocksize = 4096
	}
EOF
export MKE2FS_CONFIG="$WORK/mke2fs.conf"
# e2fsprogs 1.47.0 takes its clock from E2FSPROGS_FAKE_TIME, later ones from SOURCE_DATE_EPOCH.
export E2FSPROGS_FAKE_TIME="$EPOCH" SOURCE_DATE_EPOCH="$EPOCH"

truncate -s "${SIZE_MIB}M" "$WORK/data.img"
mke2fs -q -F -t ext4 -m 0 -L kestrel-data -U "$FS_UUID" \
  -E "hash_seed=$HASH_SEED,root_owner=0:0" -d "$ROOT" "$WORK/data.img" ||
  die "mke2fs failed"

# mke2fs -d copies each file's owner and its atime/ctime from the build tree (the ctime
# is when this script wrote it): set them all to root and SOURCE_DATE_EPOCH.
{
  for path in / /lost+found $(cd "$ROOT" && find . -mindepth 1 | sed 's|^\.||' | sort); do
    for field in uid gid; do echo "sif $path $field 0"; done
    for field in atime ctime mtime crtime; do echo "sif $path $field @$EPOCH"; done
  done
} > "$WORK/fixup.cmds"
debugfs -w -f "$WORK/fixup.cmds" "$WORK/data.img" > "$WORK/debugfs.log" 2>&1 ||
  { cat "$WORK/debugfs.log" >&2; die "debugfs failed"; }
# debugfs echoes each command after "debugfs: " and reports a failed one on a line of its
# own, but still exits 0
if grep -q -v -e '^debugfs [0-9]' -e '^debugfs: ' "$WORK/debugfs.log"; then
  cat "$WORK/debugfs.log" >&2
  die "debugfs could not set every field"
fi
if command -v e2fsck >/dev/null; then
  e2fsck -fn "$WORK/data.img" > "$WORK/fsck.log" 2>&1 ||
    { cat "$WORK/fsck.log" >&2; die "e2fsck finds the image inconsistent"; }
fi

mv "$WORK/data.img" "$IMG"
cp "$ROOT/MANIFEST.sha256" "$SUMS.tmp" && mv "$SUMS.tmp" "$SUMS"
echo "$stamp_new" > "$STAMP"
say "$IMG: ${SIZE_MIB} MiB ext4, $(wc -l < "$SUMS") files in MANIFEST.sha256, image sha256 $(sha256sum "$IMG" | cut -d' ' -f1)"
