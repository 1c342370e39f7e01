#!/usr/bin/env bash
# deploy.unit_verify: `systemd-analyze verify` on deploy/flashlined.service.
#
#   verify_unit.sh UNIT FLASHLINED
#
# verify refuses a unit whose ExecStart binary does not exist, and the
# packaged path (/usr/sbin/flashlined) exists only on an installed station:
# so the copy verified here is the same file with ExecStart pointing at the
# flashlined of this build. Any message about the unit fails the test
# (verify reports unknown keys and bad values as warnings, exit code 0).
# Exit 77 (skipped) without systemd-analyze (deploy/setup.sh installs systemd).
set -euo pipefail
unit=$1
daemon=$2

command -v systemd-analyze >/dev/null || {
  echo "SKIP: systemd-analyze not installed (apt-get install systemd)"
  exit 77
}
[ -x "$daemon" ] || { echo "FAIL: $daemon is not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -q '^ExecStart=/usr/sbin/flashlined ' "$unit" ||
  { echo "FAIL: ExecStart is not /usr/sbin/flashlined ..."; exit 1; }
sed "s|^ExecStart=/usr/sbin/flashlined |ExecStart=$daemon |" "$unit" >"$tmp/flashlined.service"

# --man=no: Documentation= is a file: URL, and man pages are not what is
# being checked. The unit's own messages name it; others (host units pulled
# in as dependencies) are not ours to judge.
set +e
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$tmp/flashlined.service" 2>&1)
rc=$?
set -e
echo "$out"
mine=$(grep -E 'flashlined\.service|Unknown|Failed to parse|Invalid' <<<"$out" || true)
if [ $rc -ne 0 ] || [ -n "$mine" ]; then
  echo "FAIL: systemd-analyze verify (exit $rc) complained about the unit:"
  echo "$mine"
  exit 1
fi

# What the station depends on, checked by value (verify accepts any valid
# setting): a unit that verifies but lost the USB access is still broken.
need=(
  'Type=notify' 'User=flashline' 'Group=flashline' 'RuntimeDirectory=flashline'
  'RuntimeDirectoryMode=0750' 'StateDirectory=flashline' 'DevicePolicy=closed'
  'DeviceAllow=char-usb_device rw' 'KillSignal=SIGTERM' 'Restart=on-failure'
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'
  'ProtectSystem=strict' 'MemoryDenyWriteExecute=yes' 'ReadWritePaths=/sys/devices'
)
for n in "${need[@]}"; do
  grep -qxF "$n" "$unit" || { echo "FAIL: the unit lacks \"$n\""; exit 1; }
done
grep -qx 'PrivateDevices=yes\|PrivateDevices=true' "$unit" &&
  { echo "FAIL: PrivateDevices hides /dev/bus/usb"; exit 1; }
# The drain waits up to DRAIN_TIMEOUT_MS for units in flight; systemd must
# not SIGKILL before that.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
drain_ms=$(sed -n 's/^#define DRAIN_TIMEOUT_MS \([0-9]*\).*/\1/p' "$(dirname "$0")/../../daemon/station_internal.h")
[ -n "$stop" ] && [ -n "$drain_ms" ] && [ $((stop * 1000)) -gt "$drain_ms" ] ||
  { echo "FAIL: TimeoutStopSec=$stop s is not longer than the drain (${drain_ms} ms)"; exit 1; }
echo "PASS: systemd-analyze verify, and the unit keeps USB access and the drain"
