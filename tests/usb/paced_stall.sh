#!/usr/bin/env bash
# At --speed 1 a board must not finish flash work before the silicon could:
# Flashline's stubs wait for a program or erase by reading flash, which
# stalls the core to the end of the operation, and the host must not see
# that end before the wall clock reaches it. Erasing and programming 16 KiB
# on the L053 takes 128 x (3.2 ms erase + 2 x 3.2 ms half pages) = 1.23 s
# of the board's time (RM0367 / DS10152 tprog); the run may take longer on
# a busy machine, never less. usage: paced_stall.sh SIM FLASHLINE
set -euo pipefail
sim=$1 fl=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 16384 /dev/urandom >"$dir/img.bin"
"$sim" run --speed 1 --probe v2-1:stm32l053r8 -- bash -c "
  t0=\$(date +%s%N)
  '$fl' flash --verify crc '$dir/img.bin' >'$dir/out' 2>&1 || { cat '$dir/out'; exit 1; }
  t1=\$(date +%s%N)
  echo \$(( (t1 - t0) / 1000000 )) >'$dir/ms'"
ms=$(cat "$dir/ms")
echo "16 KiB on the L053 at --speed 1: $ms ms (the flash needs 1229 ms)"
[ "$ms" -ge 1229 ] || { echo "FAIL: faster than the flash can erase and program"; exit 1; }
