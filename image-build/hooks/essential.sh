#!/bin/sh
# mmdebstrap essential hook: keep update-initramfs from running on every package that
# triggers it (slow under emulation); customize.sh runs it once at the end.
set -eu
ROOT=$1
chroot "$ROOT" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
ln -sf /bin/true "$ROOT/usr/sbin/update-initramfs"
