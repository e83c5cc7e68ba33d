#!/bin/sh
# Boot-test probe: runs as root inside the amd64 twin under qemu (systemd.run= on the
# kernel command line) and reports "OPSWALL-BOOTTEST key=value ..." lines on the second
# serial port, which the host test reads. It checks; the host decides.
# systemd.run= boots into kernel-command-line.target instead of the default target, and
# that boot waits for this script: ask for the normal boot, then run again as a unit of
# its own once the system is up.
if [ "${1:-}" != detached ]; then
  systemctl start --no-block multi-user.target
  exec systemd-run --quiet --no-block --unit=opswall-boottest \
    --property=After=multi-user.target --property=FailureAction=poweroff \
    /bin/sh "$0" detached
fi

out=/dev/ttyS1
say() { echo "OPSWALL-BOOTTEST $*" > "$out"; }
now() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -p "$2" --value "$1"; }

say start uptime=$(now)

# The service is "active" only after it sent READY=1 (Type=notify).
i=0
while [ $i -lt 400 ]; do
  state=$(prop opswall.service ActiveState)
  [ "$state" = active ] && break
  sleep 1; i=$((i + 1))
done
say ready state=$state sub=$(prop opswall.service SubState) uptime=$(now) \
  restarts=$(prop opswall.service NRestarts) \
  active_enter_us=$(prop opswall.service ActiveEnterTimestampMonotonic) \
  status_text="'$(prop opswall.service StatusText | tr ' ' _)'"

code=$(curl -s -m 20 -o /tmp/state.json -w '%{http_code}' http://127.0.0.1:8080/api/v1/state)
say api status=$code bytes=$(wc -c < /tmp/state.json 2>/dev/null || echo 0) \
  body="'$(head -c 160 /tmp/state.json 2>/dev/null | tr -d '\n' | tr ' ' _)'"

# Units, identity, partitions.
failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ,)
say units failed=${failed:-none} \
  firstboot=$(systemctl is-active opswall-firstboot.service) \
  ssh=$(systemctl is-active ssh.service) networkd=$(systemctl is-active systemd-networkd.service) \
  xorg=$(systemctl is-active opswall-xorg.service) \
  system=$(systemctl is-system-running)
say identity hostname=$(hostname) static_hostname=$(cat /etc/hostname) \
  machine_id=$(cat /etc/machine-id) \
  ssh_host_key=$(test -s /etc/ssh/ssh_host_ed25519_key && echo yes || echo no) \
  root_password=$(awk -F: '$1 == "root" {print $2}' /etc/shadow)
say mounts root=$(findmnt -no OPTIONS / | cut -d, -f1) \
  data=$(findmnt -no OPTIONS /data | cut -d, -f1) \
  var=$(findmnt -no SOURCE /var | tr -d ' ') \
  data_mib=$(df -m --output=size /data | tail -1 | tr -d ' ')
say settings files=$(ls /boot/firmware | tr '\n' ,) \
  admin_secret=$(stat -c %a:%U:%G /etc/opswall/admin-secret 2>/dev/null || echo missing) \
  ssh_keys=$(wc -l < /etc/opswall/ssh/authorized_keys_root 2>/dev/null || echo 0) \
  resolution="$(grep -m1 'resolution:' /etc/opswall/opswall.yaml | tr -d ' ')" \
  network=$(test -f /etc/systemd/network/10-opswall.network && echo static || echo dhcp)
say security exposure=$(systemd-analyze security opswall.service 2>/dev/null \
  | awk '/Overall exposure level/ {print $(NF-2)}')
say process user=$(ps -o user= -p "$(prop opswall.service MainPID)") \
  groups="$(ps -o supgrp= -p "$(prop opswall.service MainPID)")"

# A hung service: stop the process; the watchdog must kill and restart it.
old_pid=$(prop opswall.service MainPID)
old_restarts=$(prop opswall.service NRestarts)
start=$(now)
kill -STOP "$old_pid"
i=0
while [ $i -lt 240 ]; do
  sleep 1; i=$((i + 1))
  pid=$(prop opswall.service MainPID)
  if [ "$(prop opswall.service NRestarts)" != "$old_restarts" ] \
    && [ "$(prop opswall.service ActiveState)" = active ] && [ "$pid" != "$old_pid" ]; then
    break
  fi
done
say watchdog old_pid=$old_pid new_pid=$(prop opswall.service MainPID) \
  restarts=$(prop opswall.service NRestarts) state=$(prop opswall.service ActiveState) \
  seconds=$(echo "$(now) $start" | awk '{printf "%.1f", $1 - $2}') \
  timeout_logged=$(journalctl -b -u opswall.service | grep -c 'Watchdog timeout')
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/v1/state)
say api_after_restart status=$code

journalctl -b -u opswall.service -u opswall-firstboot.service --no-pager -o short-monotonic \
  | tail -n 60 | sed 's/^/OPSWALL-LOG /' > "$out"
say done uptime=$(now)
systemctl poweroff --no-block
