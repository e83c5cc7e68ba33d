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

# Every wait has a limit in seconds (TCG is slow, and slower still on a busy host): the
# probe always reports and powers off, so the host never waits for its own timeout.
READY_LIMIT_S=420     # from the probe's start until opswall.service is active
DIAGNOSE_AFTER_S=90   # dump the unit's status and journal if not active by then
WATCHDOG_LIMIT_S=240  # from SIGSTOP until a new main process is active
PROBE_LIMIT_S=840     # the whole probe; then report what is known and power off

out=/dev/ttyS1
say() { echo "OPSWALL-BOOTTEST $*" > "$out"; }
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { echo "$(now) $1" | awk '{printf "%d", $1 - $2}'; }
prop() { systemctl show -p "$2" --value "$1"; }
# The unit's status and its journal, as OPSWALL-LOG lines headed by why they were taken.
dump() {
  {
    echo "--- $1 (uptime $(now) s)"
    systemctl status opswall.service --no-pager -l -n 0 2>&1
    journalctl -b -u opswall.service -u opswall-firstboot.service --no-pager \
      -o short-monotonic 2>&1 | tail -n 80
  } | sed 's/^/OPSWALL-LOG /' > "$out"
}

probe_start=$(now)
say start uptime=$probe_start
(
  sleep "$PROBE_LIMIT_S"
  say timeout limit_s=$PROBE_LIMIT_S uptime=$(now)
  dump "probe time limit reached"
  systemctl poweroff --no-block || poweroff -f
) &
guard=$!

# The service is "active" only after it sent READY=1 (Type=notify).
diagnosed=no
while :; do
  state=$(prop opswall.service ActiveState)
  [ "$state" = active ] && break
  waited=$(elapsed "$probe_start")
  if [ "$diagnosed" = no ] && { [ "$waited" -ge "$DIAGNOSE_AFTER_S" ] \
    || [ "$(prop opswall.service NRestarts)" != 0 ]; }; then
    dump "opswall.service $state after ${waited} s of waiting"
    diagnosed=yes
  fi
  [ "$waited" -ge "$READY_LIMIT_S" ] && break
  sleep 2
done
say ready state=$state sub=$(prop opswall.service SubState) uptime=$(now) \
  waited_s=$(elapsed "$probe_start") restarts=$(prop opswall.service NRestarts) \
  active_enter_us=$(prop opswall.service ActiveEnterTimestampMonotonic) \
  exec_start_us=$(prop opswall.service ExecMainStartTimestampMonotonic) \
  status_text="'$(prop opswall.service StatusText | tr ' ' _)'"
if [ "$state" != active ]; then
  dump "opswall.service never became ready"
  say done uptime=$(now) reason=not-ready
  kill "$guard" 2>/dev/null
  systemctl poweroff --no-block
  exit 0
fi

# The API needs a credential (access control): the admin secret that first boot wrote
# from the boot partition is also the admin's bearer token. Without it: 401.
STATE_URL=http://127.0.0.1:8080/api/v1/state
auth="Authorization: Bearer $(cat /etc/opswall/admin-secret 2>/dev/null)"
anon=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "$STATE_URL")
code=$(curl -s -m 20 -H "$auth" -o /tmp/state.json -w '%{http_code}' "$STATE_URL")
say api status=$code anonymous_status=$anon \
  bytes=$(wc -c < /tmp/state.json 2>/dev/null || echo 0) \
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
  config=$(stat -c %a:%U:%G /etc/opswall/opswall.yaml 2>/dev/null || echo missing) \
  ssh_keys=$(wc -l < /etc/opswall/ssh/authorized_keys_root 2>/dev/null || echo 0) \
  resolution="$(grep -m1 'resolution:' /etc/opswall/opswall.yaml | tr -d ' ')" \
  network=$(test -f /etc/systemd/network/10-opswall.network && echo static || echo dhcp)
systemd-analyze security opswall.service --no-pager 2>&1 | sed 's/^/OPSWALL-SECURITY /' \
  > "$out"
say security exposure=$(systemd-analyze security opswall.service 2>/dev/null \
  | awk '/Overall exposure level/ {print $(NF-2)}')
say process user=$(ps -o user= -p "$(prop opswall.service MainPID)") \
  groups="$(ps -o supgrp= -p "$(prop opswall.service MainPID)")"

# A hung service: stop the process; the watchdog must kill and restart it.
old_pid=$(prop opswall.service MainPID)
old_restarts=$(prop opswall.service NRestarts)
start=$(now)
kill -STOP "$old_pid"
while [ "$(elapsed "$start")" -lt "$WATCHDOG_LIMIT_S" ]; do
  sleep 2
  pid=$(prop opswall.service MainPID)
  if [ "$(prop opswall.service NRestarts)" != "$old_restarts" ] \
    && [ "$(prop opswall.service ActiveState)" = active ] && [ "$pid" != "$old_pid" ]; then
    break
  fi
done
say watchdog old_pid=$old_pid new_pid=$(prop opswall.service MainPID) \
  restarts=$(prop opswall.service NRestarts) state=$(prop opswall.service ActiveState) \
  result=$(prop opswall.service Result) \
  seconds=$(echo "$(now) $start" | awk '{printf "%.1f", $1 - $2}') \
  timeout_logged=$(journalctl -b -u opswall.service | grep -c 'Watchdog timeout')
code=$(curl -s -m 20 -H "$auth" -o /dev/null -w '%{http_code}' "$STATE_URL")
say api_after_restart status=$code

dump "end of the probe"
say done uptime=$(now)
kill "$guard" 2>/dev/null
systemctl poweroff --no-block
