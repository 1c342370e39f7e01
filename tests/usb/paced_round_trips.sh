#!/usr/bin/env bash
# At --speed 1 no reply comes back sooner than its modelled time on the
# wire (sim/probe/stlink.c): a GET_VERSION round trip is at least one 1 ms
# full-speed frame on a V2-1 and at least two 125 us microframes on a V3
# (USB 2.0 5.8.4 and table 5-10). The check is a lower bound only, so a busy
# machine cannot fail it; the rates are printed for the record (the release
# thread of sim/usb/vbus_urb.c brings them close to the bound).
# usage: paced_round_trips.sh SIM USBCHECK
set -euo pipefail
sim=$1 check=$2
out=$("$sim" run --speed 1 --probe v2-1:stm32f103rb --probe v3:stm32f446re -- "$check" roundtrips 2)
echo "$out"
rate() { awk -v pid="$1" '$0 ~ "pid " pid {print $5}' <<<"$out"; }
v21=$(rate 374b) v3=$(rate 374f)
[ -n "$v21" ] && [ -n "$v3" ] || { echo "FAIL: a probe is missing from the output"; exit 1; }
[ "$v21" -gt 0 ] && [ "$v3" -gt 0 ] || { echo "FAIL: a probe made no round trip"; exit 1; }
[ "$v21" -le 1000 ] || { echo "FAIL: V2-1 at $v21 round trips/s: faster than one a 1 ms frame"; exit 1; }
[ "$v3" -le 4000 ] || { echo "FAIL: V3 at $v3 round trips/s: faster than one per two microframes"; exit 1; }
echo "ok: V2-1 $v21/s (bound 1000), V3 $v3/s (bound 4000)"
