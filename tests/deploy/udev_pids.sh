#!/usr/bin/env bash
# deploy.udev_pids: the udev rule lists exactly the ST-LINK product ids the
# driver accepts (probe-driver/pd_usb.c pd_is_stlink). A PID added to the
# driver but not to the rule would be a probe the daemon sees in the tests
# (root) and never on a station (no permission: skipped silently).
#
#   udev_pids.sh PD_USB_C RULES
set -euo pipefail
src=$1
rules=$2

code=$(sed -n '/^bool pd_is_stlink(/,/^}/p' "$src" | grep -oE 'case 0x[0-9A-Fa-f]{4}' |
  sed 's/case 0x//' | tr 'A-F' 'a-f' | sort -u)
rule=$(grep -v '^#' "$rules" | grep -oE 'ATTR\{idProduct\}=="[0-9a-f]{4}"' |
  grep -oE '[0-9a-f]{4}' | sort -u)
[ -n "$code" ] || { echo "FAIL: no PIDs found in pd_is_stlink ($src)"; exit 1; }
if [ "$code" != "$rule" ]; then
  echo "FAIL: PIDs differ (< driver, > udev rule):"
  diff <(echo "$code") <(echo "$rule") || true
  exit 1
fi
# Every probe line gives group flashline, 0660; vendor 0483.
grep -q 'ATTR{idVendor}=="0483"' "$rules" || { echo "FAIL: no vendor 0483"; exit 1; }
bad=$(grep -E '^ATTR\{idProduct\}' "$rules" | grep -v 'GROUP="flashline", MODE="0660"' || true)
[ -z "$bad" ] || { echo "FAIL: probe lines without GROUP=flashline MODE=0660:"; echo "$bad"; exit 1; }
# The hub port power switches of the recovery ladder (pd_port.c).
grep -q 'disable.*chgrp flashline' "$rules" || { echo "FAIL: no rule for hub port disable"; exit 1; }
echo "PASS: $(echo $code | wc -w) PIDs in both: $(echo $code)"
