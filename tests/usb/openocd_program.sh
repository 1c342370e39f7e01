#!/usr/bin/env bash
# OpenOCD 0.12 programs and verifies an image on a virtual board:
# usage openocd_program.sh SIM KIND CHIP TARGET_CFG SIZE
set -euo pipefail
sim=$1 kind=$2 chip=$3 cfg=$4 size=$5
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c "$size" /dev/urandom >"$dir/image.bin"
"$sim" run --probe "$kind:$chip" -- openocd -f interface/stlink.cfg -f "target/$cfg" \
  -c "program $dir/image.bin 0x08000000 verify reset exit"
