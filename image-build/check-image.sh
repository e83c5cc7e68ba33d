#!/usr/bin/env bash
# Check a finished appliance image the way it will be flashed: the checksum of the .xz,
# then each partition of the (decompressed) disk image with fsck, and the first-boot file
# on the FAT partition. No loop devices: partitions are copied out by their offsets.
#
#   image-build/check-image.sh [IMAGE]   IMAGE: .img.xz or .img
#                                        (default: image-build/out/arm64/opswall.img.xz)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE=${1:-$HERE/out/arm64/opswall.img.xz}
IMAGE=$(readlink -f "$IMAGE")
[ -f "$IMAGE" ] || { echo "check-image: $IMAGE not found; build it with make image" >&2; exit 2; }

log() { printf 'check-image: %s\n' "$*" >&2; }
WORK=$(mktemp -d /var/tmp/opswall-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

case "$IMAGE" in
  *.xz)
    if [ -f "$IMAGE.sha256" ]; then
      (cd "$(dirname "$IMAGE")" && sha256sum --quiet -c "$(basename "$IMAGE").sha256")
      log "$(basename "$IMAGE").sha256 matches"
    else
      log "no $(basename "$IMAGE").sha256 next to the image"
      exit 1
    fi
    xz -t "$IMAGE"
    disk=$WORK/disk.img
    xz -dc "$IMAGE" | cp --sparse=always /dev/stdin "$disk"
    ;;
  *) disk=$IMAGE ;;
esac

table=$(sfdisk -J "$disk")
count=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["partitiontable"]["partitions"]))' <<<"$table")
[ "$count" = 3 ] || { log "expected 3 partitions, found $count"; exit 1; }
part() {  # part N FIELD
  python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1])]; print(p[sys.argv[2]])' "$1" "$2" <<<"$table"
}
for n in 0 1 2; do
  dd if="$disk" of="$WORK/p$n.img" bs=512 skip="$(part $n start)" count="$(part $n size)" \
    conv=sparse status=none
done

fsck.vfat -n "$WORK/p0.img" >/dev/null
label=$(fatlabel "$WORK/p0.img" 2>/dev/null | tr -d ' ')
log "partition 1: FAT ($label) checks clean"
for n in 1 2; do
  e2fsck -fn "$WORK/p$n.img" >/dev/null
  log "partition $((n + 1)): ext4 ($(e2label "$WORK/p$n.img")) checks clean"
done

missing=0
for name in opswall-firstboot.yaml README-OPSWALL.txt; do
  if mdir -b -i "$WORK/p0.img" "::$name" >/dev/null 2>&1; then
    log "boot partition has $name"
  else
    log "boot partition lacks $name"
    missing=1
  fi
done
case "$(basename "$IMAGE")" in
  *arm64*)  # the Pi's firmware boots from these
    for name in config.txt cmdline.txt vmlinuz initrd.img; do
      mdir -b -i "$WORK/p0.img" "::$name" >/dev/null 2>&1 \
        || { log "boot partition lacks $name"; missing=1; }
    done
    ;;
esac
[ "$missing" = 0 ] || exit 1
log "OK: $(basename "$IMAGE")"
