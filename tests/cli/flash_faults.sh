#!/usr/bin/env bash
# flashline flash succeeds in one invocation, with no help, on a board or
# probe with each fault the field knows, and says what recovery it took;
# with loader-fail always the last rung programs over SWD without the loader,
# and the probe stays usable.
# usage: flash_faults.sh SIM FLASHLINE CHIP
set -uo pipefail
sim=$1 fl=$2 chip=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ser=0670FF555654857567033520
head -c 12000 /dev/urandom >"$dir/img.bin"
fail=0
for fault in "loader-fail $ser alternate" "loader-fail $ser once" "wedge $ser" \
             "fault $ser firmware" "fault $ser watchdog" "fault $ser stale-errors" \
             "fault $ser swd-locked"; do
  "$sim" run --probe "v2-1:$chip:$ser" --control "$dir/ctl" -- bash -c "
    '$sim' ctl --control '$dir/ctl' $fault >/dev/null || exit 9
    '$fl' flash '$dir/img.bin' >'$dir/out' 2>&1 || { cat '$dir/out'; exit 1; }
    st-flash read '$dir/back.bin' 0x08000000 12000 >/dev/null 2>&1
    cmp -s '$dir/img.bin' '$dir/back.bin' || { echo 'flash does not hold the image'; exit 1; }"
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok: $fault: $(grep -c recovery: "$dir/out") recovery steps"
    grep recovery: "$dir/out" | sed 's/^/    /'
  else
    echo "FAIL ($rc): $fault"; fail=1
  fi
done
# Always failing: the ladder ends at programming over SWD, the flash holds
# the image, and the probe still answers once the fault is gone.
"$sim" run --probe "v2-1:$chip:$ser" --control "$dir/ctl" -- bash -c "
  '$sim' ctl --control '$dir/ctl' loader-fail $ser always >/dev/null
  '$fl' flash '$dir/img.bin' >'$dir/out' 2>&1 || { cat '$dir/out'; exit 1; }
  grep -q 'recovery: program over SWD without the loader' '$dir/out' || { cat '$dir/out'; exit 1; }
  st-flash read '$dir/back.bin' 0x08000000 12000 >/dev/null 2>&1
  cmp -s '$dir/img.bin' '$dir/back.bin' || { echo 'flash does not hold the image'; exit 1; }
  '$sim' ctl --control '$dir/ctl' loader-fail $ser off >/dev/null
  '$fl' probes | grep -q $ser" && echo "ok: loader-fail always: programmed over SWD, probe usable" ||
  { echo "FAIL: loader-fail always"; fail=1; }
exit $fail
