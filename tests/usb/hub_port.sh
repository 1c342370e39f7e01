#!/usr/bin/env bash
# The virtual hub as Linux shows it (Documentation/ABI/testing/sysfs-bus-usb):
# probe 1-1.N on port /sys/bus/usb/devices/1-1:1.0/1-1-portN, the device's
# "port" symlink to it, and the port's "disable" attribute on a hub with
# per-port power switching: 1 drops the probe off the bus, 0 brings it back
# under a new address. A ganged hub has no such attribute.
set -euo pipefail
sim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
A=0670FF555654857567033520
B=002F00283438510A33333639
"$sim" run --probe v2-1:stm32f446re:$A --probe v3:stm32l476rg:$B --control "$dir/ctl" -- \
  bash -euo pipefail -c '
  sim=$1 ctl=$2 A=$3
  d=/sys/bus/usb/devices
  fail() { echo "FAIL: $*"; exit 1; }
  [ "$(cat $d/1-1/bDeviceClass)" = 09 ] || fail "1-1 is not a hub"
  [ "$(cat $d/1-1/maxchild)" = 4 ] || fail "maxchild $(cat $d/1-1/maxchild)"
  [ "$(readlink $d/1-1.1/port)" = ../1-1:1.0/1-1-port1 ] || fail "port link $(readlink $d/1-1.1/port)"
  [ "$(cat $d/1-1.1/port/disable)" = 0 ] || fail "disable reads $(cat $d/1-1.1/port/disable)"
  [ -e $d/1-1:1.0/1-1-port4/disable ] || fail "no disable on an empty port"
  [ "$(readlink $d/1-1:1.0/1-1-port2/device)" = ../../1-1.2 ] || fail "no device link"
  [ "$(cat $d/1-1.1/serial)" = $A ] || fail "serial attribute"
  dev0=$(cat $d/1-1.1/devnum)
  st-info --probe | grep -q "Found 2 stlink" || fail "two probes first"
  echo 1 > $d/1-1:1.0/1-1-port1/disable
  # The launcher acts when inotify reports the write: wait for it (a loaded
  # machine takes longer than a fixed pause).
  for i in $(seq 50); do [ ! -e $d/1-1.1 ] && break; sleep 0.1; done
  [ ! -e $d/1-1.1 ] || fail "still on the bus with its port off"
  "$sim" ctl --control $ctl list | grep -q "$A not-enumerated port 1-1-port1 (off)" || fail "list: $("$sim" ctl --control $ctl list)"
  st-info --probe | grep -q "Found 1 stlink" || fail "one probe with port 1 off"
  echo 0 > $d/1-1:1.0/1-1-port1/disable
  for i in $(seq 50); do [ -e $d/1-1.1 ] && break; sleep 0.1; done
  [ -e $d/1-1.1 ] || fail "not back after power on"
  dev1=$(cat $d/1-1.1/devnum)
  [ "$dev1" != "$dev0" ] || fail "same address $dev0 after a power cycle"
  st-info --probe | grep -q "serial: *$A" || fail "st-info does not see it again"
  "$sim" ctl --control $ctl wedge $A soft 2>/dev/null && fail "wedge soft accepted"
  "$sim" ctl --control $ctl wedge $A hard | grep -q "wedged hard" || fail "wedge hard"
  echo "ok: address $dev0 -> $dev1 over a port power cycle"
' _ "$sim" "$dir/ctl" $A
"$sim" run --hub ganged --probe v2-1:stm32f446re:$A --control "$dir/ctl2" -- bash -euo pipefail -c '
  [ -d /sys/bus/usb/devices/1-1:1.0/1-1-port1 ] || { echo "FAIL: no port directory"; exit 1; }
  [ ! -e /sys/bus/usb/devices/1-1.1/port/disable ] || { echo "FAIL: ganged hub has disable"; exit 1; }
  "$1" ctl --control "$2" list | grep -q "port 1-1-port1 (ganged)" || { echo "FAIL: list"; exit 1; }
  echo "ok: ganged hub has no disable attribute"
' _ "$sim" "$dir/ctl2"
