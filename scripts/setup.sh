#!/usr/bin/env bash
# Install every Debian package the project needs. Idempotent: safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential gnu-efi binutils
  qemu-system-x86 ovmf
  mtools dosfstools e2fsprogs
  python3-pytest python3-pexpect python3-matplotlib
  bochs bochs-x bochsbios vgabios python3-pytest-xdist
  libzydis-dev clang libclang-rt-14-dev acpica-tools
  gdb
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
