#!/usr/bin/env bash
# Debian's unmodified st-info lists four virtual probes with the right
# serials, chip ids and flash sizes.
set -euo pipefail
sim=$1
out=$("$sim" run \
  --probe v2:stm32f103rb:37FF71064E57343625231943 \
  --probe v2-1:stm32f446re:0670FF555654857567033520 \
  --probe v3:stm32l476rg:002F00283438510A33333639 \
  --probe v2:stm32l053r8:51FF6B065177505544511187 \
  -- st-info --probe)
echo "$out"
fail=0
expect() { grep -qE "$1" <<<"$out" || { echo "MISSING: $1"; fail=1; }; }
expect '^Found 4 stlink programmers'
for s in 37FF71064E57343625231943 0670FF555654857567033520 002F00283438510A33333639 51FF6B065177505544511187; do
  expect "serial: +$s"
done
expect 'chipid: +0x0410'; expect 'chipid: +0x0421'; expect 'chipid: +0x0415'; expect 'chipid: +0x0417'
expect 'flash: +131072 '; expect 'flash: +524288 '; expect 'flash: +1048576 '; expect 'flash: +65536 '
exit $fail
