#!/usr/bin/env bash
# bench_flash: seconds per unit at --speed 1 (virtual boards kept at wall
# time) for `flashline flash`, `st-flash write` and OpenOCD `program ...
# verify`, on each part, with a 64 KiB and a full-chip image, in one farm
# run: one flashline-sim line with a V2-1 probe per part, each command timed
# on its own (the line's start-up is not a unit's time). Each command gets
# fresh random bytes, so nothing can be skipped as unchanged.
#
# The physical limit of a row is the erase time plus the larger of the
# program time and the transfer time:
#   erase     the cheaper of the erase units the image touches and (full
#             image) a mass erase of the banks;
#   program   the program time of the image;
#             both as the simulator's flash model times them (datasheet
#             typicals), asked through `flashline-sim ctl timing`, so that
#             this script copies no model constant;
#   transfer  moving the bytes over the probe's links as the virtual V2-1
#             accounts them (sim/probe/stlink.c): 48 SWD clocks per word at
#             4 MHz, plus full-speed USB, 19 packets of 64 bytes a 1 ms
#             frame, added rather than overlapped.
# "unit" is the unit as flashline itself timed it (--json "seconds"): the
# rest of its column is process start-up, which under the simulator's
# LD_PRELOAD transport costs tens of milliseconds more than natively.
# A tool that does not know the part (st-flash 1.7.0's chip list, OpenOCD
# 0.12's configs) shows n/a.
# Run after a build: bench/bench_flash.sh [build-dir] [parts... | issue13 | issue14 | issue15]
# (default: issue13, the parts of issue 13's table and the first four).
set -uo pipefail

# OpenOCD target config per part's line, and where its work area must be
# smaller than the config's default (the part's SRAM, by its datasheet).
ocd_cfg() {
  case $1 in
  stm32f0*) echo stm32f0x.cfg ;; stm32f1*) echo stm32f1x.cfg ;; stm32f2*) echo stm32f2x.cfg ;;
  stm32f3*) echo stm32f3x.cfg ;; stm32f4*) echo stm32f4x.cfg ;; stm32f7*) echo stm32f7x.cfg ;;
  stm32l0*) echo stm32l0.cfg ;; stm32l4*) echo stm32l4x.cfg ;; stm32g0*) echo stm32g0x.cfg ;;
  stm32g4*) echo stm32g4x.cfg ;; stm32wb*) echo stm32wbx.cfg ;; stm32wl*) echo stm32wlx.cfg ;;
  stm32h7*) echo stm32h7x.cfg ;;
  # L1, L5, U5: OpenOCD's configs raise clocks the simulator does not model
  # yet (docs/simulator.md); C0, U0: OpenOCD 0.12 has no config.
  *) echo - ;;
  esac
}
# Device ids Debian 12's st-flash 1.7.0 does not know (tests/parts/CMakeLists.txt).
st_flash_knows() {
  case $1 in
  stm32g05* | stm32g06* | stm32g0b* | stm32g0c* | stm32g47* | stm32g48* | stm32g49* | stm32g4a* | \
    stm32l41* | stm32l42* | stm32l4p* | stm32l4q* | stm32wb1* | stm32wl* | stm32c0* | stm32u0* | \
    stm32l5* | stm32u5* | stm32h5*) return 1 ;;
  esac
  return 0
}
# Flash size from the ordering code's size letter.
size_of() {
  case ${1:10:1} in
  4) echo 16384 ;; 6) echo 32768 ;; 8) echo 65536 ;; b) echo 131072 ;; z) echo 196608 ;;
  c) echo 262144 ;; d) echo 393216 ;; e) echo 524288 ;; f) echo 786432 ;; g) echo 1048576 ;;
  h) echo 1572864 ;; i) echo 2097152 ;; *) echo 0 ;;
  esac
}
serial_of() { # a serial per part, stable: "B1" + the part's name in hex, padded
  printf 'B1%s' "$(printf %s "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" | cut -c1-24 |
    awk '{ s = $0; while (length(s) < 24) s = s "0"; print s }'
}

if [ "${1:-}" = --inner ]; then
  shift
  sim=$1 ctl=$2 fl=$3 dir=$4
  shift 4
  parts=("$@")
  limit_s() { # SERIAL BYTES FULL -> "seconds bound" (or "- error")
    local out
    out=$("$sim" ctl --control "$ctl" timing "$1" 0x08000000 "$2" 2>&1) || { echo "- $out"; return; }
    awk -v line="$out" -v n="$2" -v full="$3" 'BEGIN {
      split(line, kv, " ")
      for (i in kv) { split(kv[i], q, "="); v[q[1]] = q[2] }
      e = v["erase_ns"] / 1e9; m = v["mass_ns"] / 1e9; p = v["program_ns"] / 1e9
      if (full == "full" && m > 0 && m < e) e = m
      x = (n / 4) * 48 / 4e6 + int((n / 64 + 18) / 19) * 1e-3
      printf "%.2f %s", e + (x > p ? x : p), (x > p ? "transfer" : "program") }'
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
  printf "%-12s %-5s %8s %-8s | %9s %6s %6s | %9s %6s | %9s %6s\n" part image "limit s" bound \
    flashline ratio unit st-flash ratio openocd ratio
  for part in "${parts[@]}"; do
    sn=$(serial_of "$part")
    size=$(size_of "$part")
    rows=(64k)
    [ "$size" -gt 1048576 ] && rows+=(1m) # issue 15: H743 at 1 and 2 MiB
    rows+=(full)
    for which in "${rows[@]}"; do
      n=65536
      [ $which = 1m ] && n=1048576
      [ $which = full ] && n=$size
      # A 64 KiB image on a 64 KiB part is a full image: a mass erase may
      # serve it.
      whole=$which
      [ "$n" -ge "$size" ] && whole=full
      read -r lim bound < <(limit_s "$sn" "$n" "$whole")
      if [ "$lim" = - ]; then
        echo "$part $which: the simulator gives no timing: $bound" >&2
        continue
      fi
      row=() unit=
      for tool in flashline st-flash openocd; do
        head -c "$n" /dev/urandom >"$dir/img.bin"
        if { [ $tool = st-flash ] && ! st_flash_knows "$part"; } ||
          { [ $tool = openocd ] && [ "$(ocd_cfg "$part")" = - ]; }; then
          row+=(n/a -)
          continue
        fi
        case $tool in
        flashline) cmd=(timeout 600 "$fl" flash --probe "$sn" --verify crc --json "$dir/img.bin") ;;
        st-flash) cmd=(timeout 600 st-flash --serial "$sn" write "$dir/img.bin" 0x08000000) ;;
        openocd) cmd=(timeout 600 openocd -f interface/stlink.cfg -c "adapter serial $sn"
          -f "target/$(ocd_cfg "$part")" -c "program $dir/img.bin 0x08000000 verify exit") ;;
        esac
        s=$(timed "${cmd[@]}")
        if [ "$s" = FAIL ]; then row+=(FAIL -); else
          row+=("$s" "$(awk -v a="$s" -v b="$lim" 'BEGIN{printf "%.2fx", a/b}')"); fi
        # The unit as flashline timed it (its process start excluded).
        [ $tool = flashline ] &&
          unit=$(sed -n 's/^  "seconds": \([0-9.]*\),*$/\1/p' "$dir/log" | awk '{printf "%.2f", $1}')
      done
      printf "%-12s %-5s %8s %-8s | %9s %6s %6s | %9s %6s | %9s %6s\n" "$part" "$which" "$lim" \
        "$bound" "${row[0]}" "${row[1]}" "${unit:--}" "${row[@]:2}"
    done
  done
  exit 0
fi

build=${1:-build/default}
shift || true
parts=("$@")
case "${parts[*]:-}" in
"" | issue13)
  parts=(stm32f030r8 stm32f072rb stm32f103rb stm32f103ze stm32f303vc stm32f407vg stm32f411re
    stm32f429zi stm32f446re stm32f767zi stm32l053r8 stm32l476rg) ;;
issue14)
  parts=(stm32g071rb stm32g474re stm32l4r5zi stm32wb55rg stm32wl55jc stm32c031c6 stm32l552ze
    stm32u575zi stm32l073rz stm32l152re) ;;
issue15)
  parts=(stm32h743zi stm32h723zg stm32h7b3zi stm32h563zi) ;;
esac
sim=$(realpath "$build/sim/launcher/flashline-sim")
fl=$(realpath "$build/cli/flashline")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
probes=()
for part in "${parts[@]}"; do probes+=(--probe "v2-1:$part:$(serial_of "$part")"); done
"$sim" run --speed 1 --control "$dir/ctl" "${probes[@]}" -- \
  bash "$(realpath "$0")" --inner "$sim" "$dir/ctl" "$fl" "$dir" "${parts[@]}"
