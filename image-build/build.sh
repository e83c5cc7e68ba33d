#!/usr/bin/env bash
# Build the Opswall appliance image from Debian's archive with mmdebstrap.
#
#   image-build/build.sh arm64   Raspberry Pi 4 SD-card image: .img.xz, .sha256 and a
#                                Raspberry Pi Imager manifest (long: ~45 min emulated)
#   image-build/build.sh amd64   the amd64 twin: same root filesystem and partitions,
#                                plus the kernel and initrd the qemu boot test boots
#
# Output goes to image-build/out/ARCH/. Run as root on Debian 12; host packages that are
# missing are installed first. The controller is installed from a wheel of this working
# tree, its dependencies from PyPI at build time.
set -euo pipefail

ARCH=${1:?usage: build.sh amd64|arm64}
case "$ARCH" in amd64 | arm64) ;; *) echo "build: unknown arch $ARCH" >&2; exit 2 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=${OPSWALL_IMAGE_OUT:-$HERE/out}/$ARCH
SUITE=bookworm
MIRROR=${OPSWALL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${OPSWALL_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
STAMP=$(date -u +%Y%m%d)
IMAGE_NAME=opswall-$VERSION-$STAMP-$ARCH

# Sizes in MiB. The data partition starts small and grows to the card at first boot.
BOOT_OFFSET_MIB=4
BOOT_SIZE_MIB=256
DATA_SIZE_MIB=256

log() { printf 'build[%s]: %s\n' "$ARCH" "$*" >&2; }

# --- host tools -------------------------------------------------------------------------
HOST_PACKAGES=(mmdebstrap dosfstools mtools e2fsprogs fdisk xz-utils python3-venv
  debian-archive-keyring ca-certificates)
if [ "$ARCH" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
  HOST_PACKAGES+=(qemu-user-static binfmt-support arch-test)
fi
# The amd64 twin exists to be booted by the qemu test (make image-test).
if [ "$ARCH" = amd64 ]; then
  HOST_PACKAGES+=(qemu-system-x86)
fi
missing=()
for pkg in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "$ARCH" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
  # mmdebstrap runs arm64 maintainer scripts through qemu-user via binfmt_misc.
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    log "qemu-aarch64 is not registered with binfmt_misc; cannot build arm64 here"
    exit 1
  fi
fi

# --- the controller wheel ----------------------------------------------------------------
WORK=$(mktemp -d /var/tmp/opswall-image.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$OUT" "$WORK/wheels"
PYTHON=${OPSWALL_BUILD_PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
log "building the controller wheel with $PYTHON"
"$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/wheels" "$REPO"
WHEEL=$(ls "$WORK"/wheels/opswall-*.whl)

# --- root filesystem ----------------------------------------------------------------------
PACKAGES=(
  systemd systemd-sysv systemd-timesyncd systemd-resolved udev dbus kmod
  initramfs-tools iproute2 netbase openssh-server ca-certificates curl
  e2fsprogs dosfstools fdisk
  python3 python3-venv
  libmpv2 xserver-xorg-core xauth
)
COMPONENTS=main
case "$ARCH" in
  amd64)
    # No GPU in the qemu twin: the service starts its own Xvfb (wall.display: null).
    PACKAGES+=(linux-image-amd64 xvfb)
    ;;
  arm64)
    PACKAGES+=(linux-image-arm64 raspi-firmware)
    COMPONENTS=main,non-free-firmware
    ;;
esac

ROOTFS=$WORK/rootfs
export OPSWALL_REPO=$REPO OPSWALL_ARCH=$ARCH OPSWALL_WHEEL=$WHEEL OPSWALL_WORK=$WORK
log "mmdebstrap $SUITE ($COMPONENTS), ${#PACKAGES[@]} packages"
started=$SECONDS
mmdebstrap --mode=root --variant=minbase --arch="$ARCH" \
  --components="$COMPONENTS" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --essential-hook="$HERE/hooks/essential.sh \"\$1\"" \
  --customize-hook="$HERE/hooks/customize.sh \"\$1\"" \
  "$SUITE" "$ROOTFS" \
  "deb $MIRROR $SUITE ${COMPONENTS//,/ }" \
  "deb $MIRROR $SUITE-updates ${COMPONENTS//,/ }" \
  "deb $SECURITY_MIRROR $SUITE-security ${COMPONENTS//,/ }"
log "root filesystem ready in $((SECONDS - started)) s"

# --- partitions ----------------------------------------------------------------------------
# The data partition takes /var and the config; the root keeps /usr, /etc and /opt and is
# mounted read-only. customize.sh left the config in $ROOTFS/data-seed.
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$ROOTFS/etc/resolv.conf"
echo opswall > "$ROOTFS/etc/hostname"
DATA_TREE=$WORK/data
mv "$ROOTFS/data-seed" "$DATA_TREE"
mv "$ROOTFS/var" "$DATA_TREE/var"
mkdir -m 0755 "$ROOTFS/var"
BOOT_TREE=$WORK/boot
mkdir -p "$BOOT_TREE"
if [ -d "$ROOTFS/boot/firmware" ]; then
  cp -a "$ROOTFS/boot/firmware/." "$BOOT_TREE/"
  rm -rf "${ROOTFS:?}/boot/firmware/"*
fi
cp "$REPO/image-build/boot/opswall-firstboot.yaml" "$BOOT_TREE/opswall-firstboot.yaml"
cp "$REPO/image-build/boot/README-OPSWALL.txt" "$BOOT_TREE/README-OPSWALL.txt"
if [ "$ARCH" = arm64 ]; then
  # Stable names for the kernel and initrd: config.txt does not change with a kernel.
  cp -L "$ROOTFS/vmlinuz" "$BOOT_TREE/vmlinuz"
  cp -L "$ROOTFS/initrd.img" "$BOOT_TREE/initrd.img"
  rm -f "$BOOT_TREE"/vmlinuz-* "$BOOT_TREE"/initrd.img-*
  # Rendered on the host from the shipped default config: same code as on the device.
  (cd "$REPO" && "$PYTHON" -m controller.appliance.cli firmware render \
    --config "$DATA_TREE/etc/opswall/opswall.yaml" --out "$BOOT_TREE")
fi
if [ "$ARCH" = amd64 ]; then
  cp -L "$ROOTFS/vmlinuz" "$OUT/vmlinuz"
  cp -L "$ROOTFS/initrd.img" "$OUT/initrd.img"
fi

root_mib=$(( $(du -sm "$ROOTFS" | cut -f1) * 115 / 100 + 64 ))
data_used=$(du -sm "$DATA_TREE" | cut -f1)
[ "$data_used" -lt $((DATA_SIZE_MIB / 2)) ] || DATA_SIZE_MIB=$((data_used * 2))
IMG=$OUT/$IMAGE_NAME.img
log "root ${root_mib} MiB, data ${DATA_SIZE_MIB} MiB, boot ${BOOT_SIZE_MIB} MiB"

mkfs.vfat -C -F 32 -n OPSWALL "$WORK/boot.img" $((BOOT_SIZE_MIB * 1024)) >/dev/null
(cd "$BOOT_TREE" && find . -mindepth 1 -maxdepth 1 -print0 \
  | xargs -0 -r mcopy -s -p -i "$WORK/boot.img" -t ::) 2>/dev/null \
  || (cd "$BOOT_TREE" && for f in * ; do mcopy -s -p -i "$WORK/boot.img" "$f" ::; done)
mkfs.ext4 -q -L opswall-root -d "$ROOTFS" -E root_owner=0:0 "$WORK/root.img" "${root_mib}M"
mkfs.ext4 -q -L opswall-data -d "$DATA_TREE" "$WORK/data.img" "${DATA_SIZE_MIB}M"

boot_start=$((BOOT_OFFSET_MIB * 2048))
root_start=$((boot_start + BOOT_SIZE_MIB * 2048))
data_start=$((root_start + root_mib * 2048))
total_sectors=$((data_start + DATA_SIZE_MIB * 2048))
rm -f "$IMG"
truncate -s $((total_sectors * 512)) "$IMG"
sfdisk --quiet "$IMG" <<EOF
label: dos
unit: sectors
start=$boot_start, size=$((BOOT_SIZE_MIB * 2048)), type=c, bootable
start=$root_start, size=$((root_mib * 2048)), type=83
start=$data_start, size=$((DATA_SIZE_MIB * 2048)), type=83
EOF
dd if="$WORK/boot.img" of="$IMG" bs=1M seek=$((boot_start / 2048)) conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$IMG" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
dd if="$WORK/data.img" of="$IMG" bs=1M seek=$((data_start / 2048)) conv=notrunc,sparse status=none

# --- check what was written -----------------------------------------------------------------
fsck.vfat -n "$WORK/boot.img" >/dev/null
e2fsck -fn "$WORK/root.img" >/dev/null
e2fsck -fn "$WORK/data.img" >/dev/null
mdir -i "$WORK/boot.img" ::opswall-firstboot.yaml >/dev/null
log "partitions check clean; first-boot file present"

ln -sfn "$(basename "$IMG")" "$OUT/opswall.img"
if [ "$ARCH" = arm64 ]; then
  log "compressing"
  xz -T0 -6 -f -k "$IMG"
  (cd "$OUT" && sha256sum "$(basename "$IMG").xz" > "$(basename "$IMG").xz.sha256")
  "$PYTHON" "$HERE/imager_manifest.py" --image "$IMG" --out "$OUT/opswall.rpi-imager-manifest"
  # Only the .xz is shipped: no link may point at the raw image that is removed.
  rm -f "$IMG" "$OUT/opswall.img"
  ln -sfn "$(basename "$IMG").xz" "$OUT/opswall.img.xz"
fi
log "done in $SECONDS s: $OUT"
