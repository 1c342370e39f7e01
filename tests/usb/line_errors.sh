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
exit $fail
