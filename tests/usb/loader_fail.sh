#!/usr/bin/env bash
# With loader-fail alternate, every other st-flash write fails, as users
# reported (stlink issues #607, #1054).
set -euo pipefail
sim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 4096 /dev/urandom >"$dir/image.bin"
sock=$dir/ctl
"$sim" run --probe v2:stm32f103rb:37FF71064E57343625231943 --control "$sock" -- sh -c "
  '$sim' ctl --control '$sock' loader-fail 37FF71064E57343625231943 alternate
  results=''
  for i in 1 2 3 4; do
    if st-flash write '$dir/image.bin' 0x08000000 >'$dir/log.'\$i 2>&1; then results=\"\$results ok\"; else results=\"\$results fail\"; fi
  done
  echo \"results:\$results\"
  [ \"\$results\" = ' fail ok fail ok' ]"
