#!/usr/bin/env bash
# st-flash write, then st-flash read, of a random image round-trips on a
# virtual board: usage st_flash_roundtrip.sh SIM KIND CHIP SIZE
set -euo pipefail
sim=$1 kind=$2 chip=$3 size=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c "$size" /dev/urandom >"$dir/image.bin"
"$sim" run --probe "$kind:$chip" -- sh -c "
  st-flash write '$dir/image.bin' 0x08000000 &&
  st-flash read '$dir/back.bin' 0x08000000 $size"
cmp "$dir/image.bin" "$dir/back.bin"
echo "round trip of $size bytes on $kind:$chip ok"
