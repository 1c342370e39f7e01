#!/usr/bin/env bash
# flashline flash on the virtual line: one chip through one probe kind,
# from all four image formats; re-flashing the same image skips every unit;
# a one-byte change rewrites only its unit. The flash is read back with
# Debian's st-flash, not taken from flashline's word.
# usage: flash_matrix.sh SIM FLASHLINE OBJCOPY KIND CHIP ELF_IMAGE
set -euo pipefail
sim=$1 fl=$2 objcopy=$3 kind=$4 chip=$5 elf=$6
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
size=20000
head -c $size /dev/urandom >"$dir/a.bin"
head -c $size /dev/urandom >"$dir/b.bin"
"$objcopy" -I binary -O ihex --change-addresses 0x08000000 "$dir/b.bin" "$dir/b.hex"
head -c $size /dev/urandom >"$dir/c.bin"
"$objcopy" -I binary -O srec --change-addresses 0x08000000 "$dir/c.bin" "$dir/c.srec"
"$objcopy" -O binary "$elf" "$dir/elf.bin"
cp "$dir/a.bin" "$dir/a2.bin"
# change one byte for certain (a fixed value would match the random one
# once in 256 runs)
orig=$(od -An -tu1 -j $((size - 100)) -N1 "$dir/a.bin" | tr -d ' ')
printf "\\x$(printf %02x $(((orig + 1) % 256)))" |
  dd of="$dir/a2.bin" bs=1 seek=$((size - 100)) conv=notrunc status=none
cmp -s "$dir/a.bin" "$dir/a2.bin" && { echo "test bug: a2.bin equals a.bin"; exit 1; }

cat >"$dir/run.sh" <<SCRIPT
set -e
check() { # image-as-bin length
  st-flash read "$dir/back.bin" 0x08000000 \$2 >/dev/null 2>&1
  cmp "\$1" "$dir/back.bin"
}
json() { "$fl" --json flash "\$@" >"$dir/out.json"; cat "$dir/out.json"; }
json "$dir/a.bin";   check "$dir/a.bin" $size
grep -q '"result": "ok"' "$dir/out.json"
json "$dir/b.hex";   check "$dir/b.bin" $size
json "$dir/c.srec";  check "$dir/c.bin" $size
json "$elf";         check "$dir/elf.bin" \$(stat -c %s "$dir/elf.bin")
json "$dir/a.bin";   check "$dir/a.bin" $size
# the same image again: every unit's CRC matches, nothing is written
json "$dir/a.bin"
grep -q '"units_written": 0' "$dir/out.json"
# one byte changed near the end: only the unit holding it is rewritten
json "$dir/a2.bin";  check "$dir/a2.bin" $size
grep -q '"units_written": 1' "$dir/out.json"
SCRIPT
"$sim" run --probe "$kind:$chip" -- bash "$dir/run.sh"
echo "flash matrix ok: $kind $chip"
