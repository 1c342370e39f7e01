#!/usr/bin/env bash
# bench_line: how fast the virtual line is, seen from libusb.
#  - command/reply round trips per second (ST-LINK GET_VERSION), one probe,
#    then 8 probes busy at once (one thread each), at speed 0;
#  - the launcher's CPU time while the line is idle.
# Run after a build: bench/bench_line.sh [build-dir] [seconds]
set -euo pipefail
build=${1:-build/default}
secs=${2:-5}
sim=$build/sim/launcher/flashline-sim
check=$build/tests/usb/usbcheck

echo "== one probe busy =="
"$sim" run --probe v2:stm32f103rb -- "$check" roundtrips "$secs" | tail -1
echo "== eight probes busy (mixed kinds) =="
probes=()
for k in v2 v2-1 v3 v2 v2-1 v3 v2 v2-1; do probes+=(--probe "$k:stm32f446re"); done
"$sim" run "${probes[@]}" -- "$check" roundtrips "$secs" | tail -1

echo "== launcher CPU while idle (8 probes, 5 s) =="
out=$(mktemp)
"$sim" run "${probes[@]}" >"$out" &
pid=$!
sleep 1
t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep 5
t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
kill -INT $pid
wait $pid || true
rm -f "$out"
echo "CPU ticks used in 5 s idle: $((t1 - t0)) (1 tick = 1/$(getconf CLK_TCK) s)"
