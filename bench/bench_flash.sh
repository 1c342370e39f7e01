#!/usr/bin/env bash
# bench_flash: seconds per unit at --speed 1 (virtual boards kept at wall
# time) for `flashline flash`, `st-flash write` and OpenOCD `program ...
# verify`, on each chip, with a 64 KiB and a full-chip image, in one farm
# run: one flashline-sim line with a V2-1 probe per chip, each command timed
# on its own (the line's start-up is not a unit's time). Each command gets
# fresh random bytes, so nothing can be skipped as unchanged.
#
# The physical limit of a row is the erase time plus the larger of the
# program time and the transfer time:
#   erase     the cheaper of the units the image touches and (full image,
#             where the chip has one) a mass erase;
#   program   the timing model's program time for the image;
# both asked of the simulator's timing oracle (`flashline-sim ctl timing
# SERIAL ADDR LEN`: datasheet typicals as the board's flash model spends
# them; F2/F4/F7 at x32, L0 by half pages, L4 by double words), not copied;
#   transfer  moving the bytes over the probe's links as the virtual V2-1
#             accounts them (sim/probe/stlink.c): 48 SWD clocks per word at
#             4 MHz, plus full-speed USB, 19 packets of 64 bytes a 1 ms
#             frame, added rather than overlapped.
# Run after a build: bench/bench_flash.sh [build-dir] [chips...]
set -uo pipefail

declare -A serial_of=([stm32f103rb]=B1F103000000000000000001 [stm32f446re]=B1F446000000000000000002
  [stm32l053r8]=B10053000000000000000003 [stm32l476rg]=B10476000000000000000004)

if [ "${1:-}" = --inner ]; then
  shift
  sim=$1 sock=$2 fl=$3 dir=$4
  shift 4
  chips=("$@")
  limit_s() { # CHIP BYTES FULL
    local t
    t=$("$sim" ctl --control "$sock" timing "${serial_of[$1]}" 0x08000000 "$2") || return 1
    awk -v t="$t" -v n="$2" -v full="$3" 'BEGIN {
      k = split(t, kv, " ")
      for (i = 2; i <= k; i++) { split(kv[i], f, "="); v[f[1]] = f[2] }
      e = v["erase_ns"] / 1e9; m = v["mass_ns"] / 1e9; p = v["program_ns"] / 1e9
      if (full == "full" && m > 0 && m < e) e = m
      x = (n / 4) * 48 / 4e6 + int((n / 64 + 18) / 19) * 1e-3
      printf "%.2f %s", e + (x > p ? x : p), (x > p ? "transfer" : "program") }'
  }
  size_of() {
    case $1 in stm32f103rb) echo 131072 ;; stm32f446re) echo 524288 ;;
      stm32l053r8) echo 65536 ;; stm32l476rg) echo 1048576 ;; esac
  }
  cfg_of() {
    case $1 in stm32f103rb) echo stm32f1x.cfg ;; stm32f446re) echo stm32f4x.cfg ;;
      stm32l053r8) echo stm32l0.cfg ;; stm32l476rg) echo stm32l4x.cfg ;; esac
  }
  timed() { # command... -> seconds (or FAIL)
    local t0 t1
    t0=$(date +%s.%N)
    if "$@" >"$dir/log" 2>&1; then
      t1=$(date +%s.%N)
      awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
    else
      echo FAIL
      sed 's/^/    /' "$dir/log" | tail -5 >&2
    fi
  }
  printf "%-12s %-5s %8s %-8s | %9s %6s | %9s %6s | %9s %6s\n" chip image "limit s" bound \
    flashline ratio st-flash ratio openocd ratio
  for chip in "${chips[@]}"; do
    sn=${serial_of[$chip]}
    for which in 64k full; do
      n=65536
      [ $which = full ] && n=$(size_of "$chip")
      read -r lim bound < <(limit_s "$chip" "$n" "$which")
      row=()
      for tool in flashline st-flash openocd; do
        head -c "$n" /dev/urandom >"$dir/img.bin"
        case $tool in
        flashline) cmd=("$fl" flash --probe "$sn" --verify crc "$dir/img.bin") ;;
        st-flash) cmd=(st-flash --serial "$sn" write "$dir/img.bin" 0x08000000) ;;
        openocd) cmd=(openocd -f interface/stlink.cfg -c "adapter serial $sn"
          -f "target/$(cfg_of "$chip")" -c "program $dir/img.bin 0x08000000 verify exit") ;;
        esac
        s=$(timed "${cmd[@]}")
        if [ "$s" = FAIL ]; then row+=(FAIL -); else
          row+=("$s" "$(awk -v a="$s" -v b="$lim" 'BEGIN{printf "%.2fx", a/b}')"); fi
      done
      printf "%-12s %-5s %8s %-8s | %9s %6s | %9s %6s | %9s %6s\n" "$chip" "$which" "$lim" \
        "$bound" "${row[@]}"
    done
  done
  exit 0
fi

build=${1:-build/default}
shift || true
chips=("$@")
[ ${#chips[@]} -eq 0 ] && chips=(stm32f103rb stm32f446re stm32l053r8 stm32l476rg)
sim=$build/sim/launcher/flashline-sim
fl=$(realpath "$build/cli/flashline")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
probes=()
for chip in "${chips[@]}"; do probes+=(--probe "v2-1:$chip:${serial_of[$chip]}"); done
"$sim" run --speed 1 --control "$dir/ctl.sock" "${probes[@]}" -- bash "$(realpath "$0")" --inner \
  "$(realpath "$sim")" "$dir/ctl.sock" "$fl" "$dir" "${chips[@]}"
