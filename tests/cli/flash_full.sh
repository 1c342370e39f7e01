#!/usr/bin/env bash
# A full-chip image is written after one mass erase (where the chip has
# one) and reads back whole; --erase chip with a small image leaves the rest
# of the chip erased; the JSON report says where the time went. usage: flash_full.sh SIM FLASHLINE CHIP SIZE ERASED_BYTE MASS(true|false)
set -euo pipefail
sim=$1 fl=$2 chip=$3 size=$4 erased=$5 mass=$6
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c "$size" /dev/urandom >"$dir/full.bin"
head -c 4096 /dev/urandom >"$dir/small.bin"
cat >"$dir/run.sh" <<SCRIPT
set -e
"$fl" --json flash "$dir/full.bin" >"$dir/out.json"
grep -q '"result": "ok"' "$dir/out.json"
grep -q '"mass_erase": $mass' "$dir/out.json"
# Where the time went: programming and verifying took some, and the states
# add up to most of the run, never to more.
jq -e '.phases_ms.program > 0 and .phases_ms.verify > 0 and .phases_ms.identify > 0 and
       ([.phases_ms[]] | add) <= .seconds * 1000 + 1 and
       ([.phases_ms[]] | add) >= .seconds * 1000 * 0.5' "$dir/out.json" >/dev/null
st-flash read "$dir/back.bin" 0x08000000 $size >/dev/null 2>&1
cmp "$dir/full.bin" "$dir/back.bin"
"$fl" --json flash --erase chip "$dir/small.bin" >"$dir/out2.json"
st-flash read "$dir/back.bin" 0x08000000 $size >/dev/null 2>&1
cmp -n 4096 "$dir/small.bin" "$dir/back.bin"
# everything after the small image is erased again
tail -c +4097 "$dir/back.bin" | od -An -tx1 -v | tr -s ' \n' '\n\n' | grep -v '^$' | sort -u >"$dir/bytes"
[ "\$(cat "$dir/bytes")" = "$erased" ] || { echo "not erased: \$(head -3 "$dir/bytes")"; exit 1; }
SCRIPT
"$sim" run --probe "v2-1:$chip" -- bash "$dir/run.sh"
echo "full-chip ok: $chip"
