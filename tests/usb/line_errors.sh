#!/usr/bin/env bash
# Bad input to the launcher gets a one-line error naming what is wrong.
set -uo pipefail
sim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() { # expected-text command...
  local want=$1; shift
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc -eq 0 ] || ! grep -q "$want" <<<"$err" || [ "$(wc -l <<<"$err")" -ne 1 ]; then
    echo "FAIL: '$*' -> rc=$rc, stderr: $err"; fail=1
  else
    echo "ok: $err"
  fi
}
check "unknown chip 'stm32f999xx'" "$sim" run --probe v2:stm32f999xx -- true
check "unknown probe kind 'v9'" "$sim" run --probe v9:stm32f103rb -- true
check "duplicate serial" "$sim" run --probe v2:stm32f103rb:37FF71064E57343625231943 --probe v3:stm32f446re:37FF71064E57343625231943 -- true
check "not 24 hex digits" "$sim" run --probe v2:stm32f103rb:XYZ -- true
printf 'v2:stm32f103rb\nthis is not a probe line at all\n' >"$dir/line"
check "$dir/line:2:" "$sim" run --line "$dir/line" -- true
check "speed" "$sim" run --speed fast -- true
check "hub 'usb3' is not ppps or ganged" "$sim" run --hub usb3 -- true
"$sim" run --probe v2:stm32f103rb:37FF71064E57343625231943 --control "$dir/ctl" -- sh -c "
  '$sim' ctl --control '$dir/ctl' explode 37FF71064E57343625231943" 2>"$dir/err" && fail=1
grep -q "unknown verb 'explode'" "$dir/err" && echo "ok: $(cat "$dir/err")" || { echo "FAIL: bad verb: $(cat "$dir/err")"; fail=1; }
# swap-board --fault: the new board has the fault before anyone sees it (the
# running-firmware board holds the ticker image, initial SP 0x20002000, when
# it comes off again); an unknown fault swaps nothing.
S=37FF71064E57343625231943
"$sim" run --probe v2:stm32f103rb:$S --control "$dir/ctl" -- sh -c "
  c() { '$sim' ctl --control '$dir/ctl' \"\$@\"; }
  c swap-board $S --fault firmware >/dev/null &&
  c swap-board $S --save '$dir/fw.bin' >/dev/null &&
  ! c swap-board $S --fault bogus 2>'$dir/err'" || { echo "FAIL: swap-board --fault"; fail=1; }
sp=$(od -An -tx4 -N4 "$dir/fw.bin" 2>/dev/null | tr -d ' ')
[ "$sp" = 20002000 ] && echo "ok: swap-board --fault firmware: the board came with its firmware" ||
  { echo "FAIL: the board swapped on with --fault firmware starts with '$sp', not the ticker's SP"; fail=1; }
grep -q "unknown fault 'bogus'" "$dir/err" && echo "ok: $(cat "$dir/err")" ||
  { echo "FAIL: swap-board --fault bogus: $(cat "$dir/err")"; fail=1; }
exit $fail
