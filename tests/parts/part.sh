#!/usr/bin/env bash
# One part through one probe kind on the virtual line:
#   - `flashline probes` names the device (its device id and flash size);
#   - `flashline flash` programs and verifies a two-segment Intel HEX image
#     (one segment at the start of flash, one at the middle, which is bank
#     2 on dual-bank parts and F1 XL's second register block), an S-record,
#     a raw binary and an ELF; each time the board's flash is read on the bench
#     (flashline-sim swap-board --save, not through any probe) and compared;
#   - a board with the wrong part is refused by `submit --chip`'s check
#     (flashline flash --chip is not there: the check is the daemon's, so
#     here the ordering code is checked against the table with `flashline
#     chips`);
#   - Debian's st-flash (write, then read back) and OpenOCD (program ...
#     verify) do the same, where they support the part (ST=yes, OCD=cfg, or
#     cfg:SIZE to give OpenOCD a work area of SIZE bytes: its target configs
#     assume 16 KiB on every F3, the F303x8/F334 have 12 KiB by their
#     datasheets).
# usage: part.sh SIM FLASHLINE OBJCOPY KIND PART DEV_ID FLASH_KIB ST OCD
set -uo pipefail
sim=$1 fl=$2 objcopy=$3 kind=$4 part=$5 dev=$6 kib=$7 st=$8 ocd=$9
sn=4D4154524958000000000001
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
no() { echo "FAIL: $part via $kind: $*"; fails=$((fails + 1)); }

size=$(( kib * 1024 ))
seg=$(( size / 2 < 24576 ? size / 2 : 24576 )) # bytes per segment
half=$(( size / 2 ))
head -c $seg /dev/urandom >"$dir/lo.bin"
head -c $seg /dev/urandom >"$dir/hi.bin"
"$objcopy" -I binary -O ihex --change-addresses 0x08000000 "$dir/lo.bin" "$dir/lo.hex"
"$objcopy" -I binary -O ihex --change-addresses $((0x08000000 + half)) "$dir/hi.bin" "$dir/hi.hex"
# One file, two segments: the first one's end-of-file record dropped.
grep -v '^:00000001FF' "$dir/lo.hex" >"$dir/two.hex"
cat "$dir/hi.hex" >>"$dir/two.hex"
head -c $seg /dev/urandom >"$dir/s.bin"
"$objcopy" -I binary -O srec --change-addresses 0x08000000 "$dir/s.bin" "$dir/s.srec"
head -c $seg /dev/urandom >"$dir/b.bin"
# An ELF whose one PT_LOAD segment holds e.bin at the start of flash, as a
# linker makes it (the toolchain's gcc next to its objcopy).
head -c $seg /dev/urandom >"$dir/e.bin"
printf '.section .text\n.incbin "%s"\n' "$dir/e.bin" >"$dir/e.S"
"${objcopy%objcopy}gcc" -nostdlib -nostartfiles -Wl,--section-start=.text=0x08000000 \
  -Wl,-e,0x08000000 -o "$dir/e.elf" "$dir/e.S" || { echo "cannot make the ELF image"; exit 1; }

ocd_cfg=${ocd%%:*} ocd_wa=
[ "$ocd_cfg" != "$ocd" ] && ocd_wa="-c 'set WORKAREASIZE ${ocd#*:}'"
cat >"$dir/run.sh" <<SCRIPT
set -u
ctl() { "$sim" ctl --control "$dir/ctl" "\$@" >/dev/null; }
# bench read of the board's whole flash, then a fresh board of the part
bench() { ctl swap-board $sn $part --save "$dir/flash.bin" || { echo "swap-board failed"; exit 1; }; }
same() { # FILE OFFSET: does the bench copy hold FILE at OFFSET?
  cmp -s -n \$(stat -c %s "\$1") -i 0:\$2 "\$1" "$dir/flash.bin"
}
rc=0
"$fl" --json probes --local >"$dir/probes.json" 2>"$dir/err" || { echo "probes: \$(cat "$dir/err")"; exit 1; }
jq -e --argjson d $((dev)) --argjson z $size \
  'length == 1 and .[0].dev_id == \$d and .[0].flash_size == \$z' "$dir/probes.json" >/dev/null ||
  { echo "probes: \$(cat "$dir/probes.json")"; rc=1; }
[ \$rc = 0 ] || { echo "flashline probes does not name the part"; exit 1; }
for img in two.hex s.srec b.bin e.elf; do
  timeout 300 "$fl" flash --probe $sn "$dir/\$img" >"$dir/out" 2>&1 || { echo "flash \$img:"; cat "$dir/out"; exit 1; }
  bench
  case \$img in
  two.hex) same "$dir/lo.bin" 0 && same "$dir/hi.bin" $half || { echo "two.hex: flash differs"; exit 1; } ;;
  s.srec) same "$dir/s.bin" 0 || { echo "s.srec: flash differs"; exit 1; } ;;
  b.bin) same "$dir/b.bin" 0 || { echo "b.bin: flash differs"; exit 1; } ;;
  e.elf) same "$dir/e.bin" 0 || { echo "e.elf: flash differs"; exit 1; } ;;
  esac
done
echo flashline-ok
if [ "$st" = yes ]; then
  timeout 300 st-flash --serial $sn write "$dir/b.bin" 0x08000000 >"$dir/st.log" 2>&1 || { echo "st-flash write:"; tail -5 "$dir/st.log"; exit 2; }
  st-flash --serial $sn read "$dir/st.bin" 0x08000000 $seg >"$dir/st.log" 2>&1 || { echo "st-flash read:"; tail -5 "$dir/st.log"; exit 2; }
  cmp -s "$dir/b.bin" "$dir/st.bin" || { echo "st-flash: read back differs"; exit 2; }
  bench
  same "$dir/b.bin" 0 || { echo "st-flash: flash differs"; exit 2; }
  echo st-flash-ok
fi
if [ "$ocd" != - ]; then
  timeout 300 openocd -f interface/stlink.cfg -c "adapter serial $sn" $ocd_wa -f target/$ocd_cfg \
    -c "program $dir/s.bin 0x08000000 verify exit" >"$dir/ocd.log" 2>&1 ||
    { echo "openocd:"; tail -5 "$dir/ocd.log"; exit 3; }
  bench
  same "$dir/s.bin" 0 || { echo "openocd: flash differs"; exit 3; }
  echo openocd-ok
fi
SCRIPT
"$sim" run --probe "$kind:$part:$sn" --control "$dir/ctl" -- bash ${PART_TRACE:+-x} "$dir/run.sh" >"$dir/res" 2>&1
rc=$?
sed 's/^/  /' "$dir/res"
[ $rc = 0 ] || no "exit $rc"
# The ordering code is one the table takes for this device id.
"$fl" --json chips | jq -e --arg p "$part" --arg d "$(printf '0x%03X' $((dev)))" \
  '[.[] | select(.dev_id == $d)] | length > 0 and (.[0].parts | any(. as $x | $p | startswith($x)))' \
  >/dev/null || no "flashline chips: $part is not a part of $dev"
[ $fails = 0 ] && echo "ok: $part via $kind"
exit $((fails > 0))
