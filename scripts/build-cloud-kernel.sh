#!/usr/bin/env bash
# A second Debian kernel flavour for side-by-side guest tests: the bzImage of the package
# that linux-image-cloud-amd64 depends on (a smaller config than linux-image-amd64).
#
#   build-cloud-kernel.sh OUT_DIR      -> OUT_DIR/bzImage-cloud, OUT_DIR/VERSION-cloud
#
# Downloaded with `apt-get download` into OUT_DIR/debs (kept; reruns download nothing
# while the package is unchanged). Never committed.
set -euo pipefail

OUT=${1:?usage: build-cloud-kernel.sh OUT_DIR}
META_PKG=linux-image-cloud-amd64
DEBS="$OUT/debs"
say() { echo "build-cloud-kernel: $*" >&2; }
die() { say "error: $*"; exit 1; }
mkdir -p "$DEBS"

kernel_pkg() {   # the concrete linux-image-X.Y.Z-N-cloud-amd64 of the meta package
  apt-cache show "$META_PKG" 2>/dev/null |
    awk '$1 == "Depends:" { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9].*-cloud-amd64/) { sub(/,$/, "", $i); print $i; exit } }'
}

KPKG=$(kernel_pkg)
if [ -z "$KPKG" ]; then
  [ "$(id -u)" -eq 0 ] || die "apt-cache does not know $META_PKG (run apt-get update)"
  say "apt lists do not know $META_PKG: running apt-get update"
  apt-get update -q >&2 || die "apt-get update failed"
  KPKG=$(kernel_pkg)
  [ -n "$KPKG" ] || die "cannot resolve $META_PKG with apt-cache"
fi
KVER=$(apt-cache policy "$KPKG" | awk '$1 == "Candidate:" { print $2 }')
KREL=${KPKG#linux-image-}
DEB="$DEBS/${KPKG}_${KVER//:/%3a}_amd64.deb"
if [ -s "$OUT/bzImage-cloud" ] && [ "$(cat "$OUT/VERSION-cloud" 2>/dev/null)" = "$KPKG $KVER" ]; then
  say "up to date ($KREL)"
  exit 0
fi
if [ ! -s "$DEB" ]; then
  say "downloading $KPKG $KVER"
  (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$KPKG=$KVER" >&2) ||
    die "apt-get download $KPKG=$KVER failed"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$tmp" "./boot/vmlinuz-$KREL"
cp "$tmp/boot/vmlinuz-$KREL" "$OUT/bzImage-cloud"
echo "$KPKG $KVER" > "$OUT/VERSION-cloud"
say "bzImage-cloud: $KPKG $KVER ($(stat -c %s "$OUT/bzImage-cloud") bytes)"
