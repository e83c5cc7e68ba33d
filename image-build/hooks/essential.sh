#!/bin/sh
# mmdebstrap essential hook: keep update-initramfs from running on every package that
# triggers it (slow under emulation); customize.sh runs it once at the end.
set -eu
ROOT=$1
chroot "$ROOT" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
ln -sf /bin/true "$ROOT/usr/sbin/update-initramfs"

# raspi-firmware's kernel and initramfs hooks copy into /boot/firmware and refuse to run
# when it is not a mount point: make it one for the build.
if [ "${OPSWALL_ARCH:-}" = arm64 ]; then
  mkdir -p "$ROOT/boot/firmware"
  mountpoint -q "$ROOT/boot/firmware" || mount --bind "$ROOT/boot/firmware" "$ROOT/boot/firmware"
fi
