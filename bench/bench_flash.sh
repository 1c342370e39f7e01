#!/usr/bin/env bash
# bench_flash: seconds per unit at --speed 1 (real time) for flashline flash,
# st-flash write and OpenOCD program ... verify, on each chip, with a 64 KiB
# image and a full-chip image, against the physical limit: the erase time
# plus the program time the boards' timing model needs for that image
# (datasheet typicals, the same constants as sim/target/flash_*.c).
# Run after a build: bench/bench_flash.sh [build-dir] [chips...]
set -uo pipefail
build=${1:-build/default}
shift || true
chips=("$@")
[ ${#chips[@]} -eq 0 ] && chips=(stm32f103rb stm32f446re stm32l053r8 stm32l476rg)
sim=$build/sim/launcher/flashline-sim
fl=$build/cli/flashline
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# limit_s CHIP BYTES FULL: erase + program time of BYTES from 0x08000000,
# with the cheaper of unit erases and (for a full chip, where the chip has
# one) a mass erase
limit_s() {
  awk -v chip="$1" -v n="$2" -v full="$3" 'BEGIN {
    if (chip == "stm32f103rb") { e = int((n + 1023) / 1024) * 0.030; m = 0.030; p = (n / 2) * 52.5e-6 }
    if (chip == "stm32f446re") { e = 0; left = n; split("16 16 16 16 64 128 128 128", s, " ");
                                 for (i = 1; i <= 8 && left > 0; i++) { k = s[i] * 1024;
                                   e += (k == 16384 ? 0.25 : k == 65536 ? 0.55 : 1.0); left -= k }
                                 m = 4.0; p = (n / 4) * 16e-6 }
    if (chip == "stm32l053r8") { e = int((n + 127) / 128) * 0.0032; m = e; p = int((n + 63) / 64) * 0.0032 }
    if (chip == "stm32l476rg") { e = int((n + 2047) / 2048) * 0.02202; m = 0.02213; p = (n / 8) * 81.69e-6 }
    if (full == "full" && m < e) e = m
    printf "%.2f", e + p }'
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
  if "$@" >"$dir/log" 2>&1; then t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
  else echo FAIL; fi
}

printf "%-12s %-7s %8s | %10s %6s | %10s %6s | %10s %6s\n" chip image "limit s" \
  "flashline" ratio "st-flash" ratio "openocd" ratio
for chip in "${chips[@]}"; do
  for which in 64k full; do
    n=65536
    [ $which = full ] && n=$(size_of "$chip")
    head -c "$n" /dev/urandom >"$dir/img.bin"
    lim=$(limit_s "$chip" "$n" "$which")
    row=()
    for tool in flashline st-flash openocd; do
      case $tool in
      flashline) cmd=("$fl" flash --verify crc "$dir/img.bin") ;;
      st-flash) cmd=(st-flash write "$dir/img.bin" 0x08000000) ;;
      openocd) cmd=(openocd -f interface/stlink.cfg -f "target/$(cfg_of "$chip")"
                    -c "program $dir/img.bin 0x08000000 verify exit") ;;
      esac
      s=$(timed "$sim" run --speed 1 --probe "v2-1:$chip" -- "${cmd[@]}")
      if [ "$s" = FAIL ]; then row+=(FAIL -); else
        row+=("$s" "$(awk -v a="$s" -v b="$lim" 'BEGIN{printf "%.2fx", a/b}')"); fi
    done
    printf "%-12s %-7s %8s | %10s %6s | %10s %6s | %10s %6s\n" "$chip" "$which" "$lim" "${row[@]}"
  done
done
