#!/usr/bin/env bash
# Malformed and hostile images get a clear error, exit code 5, and leave the
# board's flash untouched (read back with st-flash before and after); so
# does a --probe that is not a serial (exit 2).
# usage: bad_images.sh SIM FLASHLINE
set -uo pipefail
sim=$1 fl=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf ':020000040800F2\n:10000000000102030405060708090A0B0C0D0E0F00\n:00000001FF\n' >"$dir/badsum.hex"
printf ':020000040800F2\n:10000000000102030405060708090A0B0C0D\n' >"$dir/truncated.hex"
printf 'S00F000068656C6C6F202020202000003C\nS1130000285F245F2212226A000424290008000862\n' >"$dir/badsum.srec"
head -c 200000 /dev/urandom >"$dir/toobig.bin" # bigger than the F103's 128 KiB
cp /bin/true "$dir/x86.elf"
printf ':020000042000DA\n:0400000001020304F2\n:00000001FF\n' >"$dir/ram.hex" # 0x20000000: not flash
head -c 4096 /dev/urandom >"$dir/good.bin"
cat >"$dir/run.sh" <<SCRIPT
fail=0
"$fl" flash "$dir/good.bin" >/dev/null 2>&1 || { echo "setup flash failed"; exit 1; }
st-flash read "$dir/before.bin" 0x08000000 131072 >/dev/null 2>&1
for f in badsum.hex truncated.hex badsum.srec toobig.bin x86.elf ram.hex; do
  "$fl" flash "$dir/\$f" >"$dir/out" 2>&1; rc=\$?
  if [ \$rc -ne 5 ]; then echo "FAIL: \$f exit \$rc: \$(cat "$dir/out")"; fail=1; else echo "ok: \$f: \$(cat "$dir/out")"; fi
done
# A --probe that is not a serial is a usage error, with nothing written.
"$fl" flash --probe 37FF7106 "$dir/good.bin" >"$dir/out" 2>&1; rc=\$?
if [ \$rc -ne 2 ] || ! grep -q 'not a probe serial' "$dir/out"; then
  echo "FAIL: bad --probe exit \$rc: \$(cat "$dir/out")"; fail=1; else echo "ok: bad --probe: \$(cat "$dir/out")"; fi
st-flash read "$dir/after.bin" 0x08000000 131072 >/dev/null 2>&1
cmp -s "$dir/before.bin" "$dir/after.bin" || { echo "FAIL: flash changed"; fail=1; }
exit \$fail
SCRIPT
"$sim" run --probe v2:stm32f103rb -- bash "$dir/run.sh"
