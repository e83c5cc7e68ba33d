#!/bin/sh
# mmdebstrap customize hook: install the controller, the units and the appliance settings
# into the root filesystem at $1. Environment from build.sh: OPSWALL_REPO, OPSWALL_ARCH,
# OPSWALL_WHEEL.
set -eu
ROOT=$1
REPO=$OPSWALL_REPO
ARCH=$OPSWALL_ARCH
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$ROOT" "$@"; }
log() { printf 'customize[%s]: %s\n' "$ARCH" "$*" >&2; }

# --- the controller, from the wheel of this tree and PyPI --------------------------------
log "installing the controller into /opt/opswall"
resolv_backup=
if [ -L "$ROOT/etc/resolv.conf" ] || [ ! -s "$ROOT/etc/resolv.conf" ]; then
  resolv_backup=$(readlink "$ROOT/etc/resolv.conf" || true)
  rm -f "$ROOT/etc/resolv.conf"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
fi
in_root python3 -m venv /opt/opswall
cp "$OPSWALL_WHEEL" "$ROOT/tmp/"
extra=
[ "$ARCH" = arm64 ] && extra=lgpio
# The build host's CA bundle, for hosts whose HTTPS goes through an inspecting proxy.
cp "${PIP_CERT:-${REQUESTS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}}" \
  "$ROOT/tmp/opswall-build-ca.crt"
in_root env PIP_CERT=/tmp/opswall-build-ca.crt \
  /opt/opswall/bin/pip install --quiet --no-cache-dir --disable-pip-version-check \
  "/tmp/$(basename "$OPSWALL_WHEEL")" $extra
rm -f "$ROOT/tmp/$(basename "$OPSWALL_WHEEL")" "$ROOT/tmp/opswall-build-ca.crt"
ln -sf /opt/opswall/bin/opswall "$ROOT/usr/local/bin/opswall"
if [ -n "$resolv_backup" ]; then
  rm -f "$ROOT/etc/resolv.conf"
  ln -s "$resolv_backup" "$ROOT/etc/resolv.conf"
fi

# --- files of the appliance ------------------------------------------------------------
log "installing units and settings"
cp -a "$REPO/image-build/rootfs/." "$ROOT/"
install -m 0644 "$REPO"/systemd/*.service "$ROOT/usr/lib/systemd/system/"
install -m 0644 "$REPO"/systemd/*.rules "$ROOT/usr/lib/udev/rules.d/"
install -m 0644 "$REPO/systemd/opswall.sysusers" "$ROOT/usr/lib/sysusers.d/opswall.conf"
install -d -m 0755 "$ROOT/usr/lib/opswall"
install -m 0755 "$REPO"/systemd/libexec/* "$ROOT/usr/lib/opswall/"
install -d -m 0755 "$ROOT/usr/share/opswall/firmware"
install -m 0644 "$REPO"/firmware/*.tmpl "$ROOT/usr/share/opswall/firmware/"
install -D -m 0644 "$REPO/docs/appliance.md" "$ROOT/usr/share/doc/opswall/appliance.md"
in_root systemd-sysusers

in_root systemctl enable opswall.service opswall-firstboot.service \
  systemd-networkd.service systemd-resolved.service systemd-timesyncd.service ssh.service
# Nothing but the wall on the wall's screen: no login prompt on tty1.
in_root systemctl mask getty@tty1.service

# --- per-device identity is made at first boot, not here ------------------------------------
echo uninitialized > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$ROOT/var/lib/dbus/machine-id"
rm -f "$ROOT"/etc/ssh/ssh_host_*
# No password for anyone: root logs in over SSH with the key from the first-boot file.
in_root passwd --lock root >/dev/null

# --- config and state seed for the data partition ---------------------------------------
seed=$ROOT/data-seed
install -d -m 0755 "$seed/etc"
install -d -m 0750 "$seed/etc/opswall"
install -m 0640 "$REPO"/image-build/config/*.yaml "$seed/etc/opswall/"
in_root chown -R root:opswall /data-seed/etc/opswall
if [ "$ARCH" = amd64 ]; then
  # The qemu twin has no display: the controller starts its own Xvfb.
  sed -i 's/^  display: ":0"$/  display: null/' "$seed/etc/opswall/opswall.yaml"
  grep -q '^  display: null$' "$seed/etc/opswall/opswall.yaml"
fi
install -d -m 0755 "$seed/etc/opswall/ssh"
install -d -m 0755 "$ROOT/etc/opswall" "$ROOT/data" "$ROOT/boot/firmware"

# --- kernel and initramfs, built once ----------------------------------------------------------
rm -f "$ROOT/usr/sbin/update-initramfs"
in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
cp "$REPO/image-build/initramfs/modules.$ARCH" "$ROOT/etc/initramfs-tools/modules"
log "building the initramfs"
in_root update-initramfs -c -k all

in_root apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin
if mountpoint -q "$ROOT/boot/firmware"; then
  umount "$ROOT/boot/firmware"
fi
