#!/usr/bin/env bash
# The whole line, end to end: 8 probes (V2, V2-1, V3) on boards of all four
# families, flashlined, 4 jobs of 50 units with serial numbers, and a fresh
# board swapped onto each fixture after each unit by an "operator" loop that
# keeps every removed board's flash. Faults during the run: loader-fail
# alternate on two probes, a wedged probe, one probe unplugged and plugged
# back in the middle of programming, boards with running firmware, a running
# watchdog and stale flash errors, and kill -9 of the daemon half way.
#
# Checked at the end, from the boards and the database, not from what the
# daemon says: every job has its 50 ok units; every ok unit's board holds
# the image with that unit's serial number; no serial number twice; every
# unit reported ok before the kill is still ok; no good board is rejected;
# every unit names a real board; attempts and recovery steps
# are in SQLite; nothing is left in flight.
#
# The profile names the line: "wave1" (the default) is the four families
# above; "families" puts the same faults on a G071, G474, WB55, U575 and
# L152 (issue 14): loader-fail alternate on probes 1 (G071) and 5 (WB55),
# running firmware, a watchdog and stale flash errors on 2, 4, 6 and 8, the
# wedge on 3 (G474), the unplug on 7 (U575).
#
# usage: line_e2e.sh SIM FLASHLINED FLASHLINE [UNITS_PER_JOB] [PROFILE]
set -uo pipefail
sim=$1 fld=$2 fl=$3 per_job=${4:-50} profile=${5:-wave1}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
mkdir -p "$dir/boards"

p() { printf '0670FF00000000000000%04X' "$1"; }
# Each profile: its 8 probes (KIND:PART), then a family per job with its
# chip, its probes and where its serial numbers start, and each fixture's
# board trouble. Sourced by this script and by the run inside the line.
case $profile in
wave1)
  cat >"$dir/profile.sh" <<'PROFILE'
probe_parts=(v2:stm32f103rb v2-1:stm32f103rb v3:stm32f446re v2:stm32f446re
             v2-1:stm32l053r8 v3:stm32l053r8 v2:stm32l476rg v3:stm32l476rg)
fams=(f1 f4 l0 l4)
declare -A chip_of=([f1]=stm32f103rb [f4]=stm32f446re [l0]=stm32l053r8 [l4]=stm32l476rg)
declare -A probes_of=([f1]="1 2" [f4]="3 4" [l0]="5 6" [l4]="7 8")
declare -A start_of=([f1]=1000 [f4]=2000 [l0]=3000 [l4]=4000)
declare -A board_fault=([2]=firmware [4]=watchdog [6]=stale-errors)
declare -A size_of=()
PROFILE
  ;;
families)
  cat >"$dir/profile.sh" <<'PROFILE'
probe_parts=(v2:stm32g071rb v2-1:stm32g071rb v3:stm32g474re v2:stm32g474re
             v2-1:stm32wb55rg v3:stm32u575zi v2:stm32u575zi v2-1:stm32l152re)
fams=(g0 g4 wb u5 l1)
declare -A chip_of=([g0]=stm32g071rb [g4]=stm32g474re [wb]=stm32wb55rg [u5]=stm32u575zi
                    [l1]=stm32l152re)
declare -A probes_of=([g0]="1 2" [g4]="3 4" [wb]="5" [u5]="6 7" [l1]="8")
declare -A start_of=([g0]=1000 [g4]=2000 [wb]=3000 [u5]=4000 [l1]=5000)
declare -A board_fault=([2]=firmware [4]=watchdog [6]=stale-errors [8]=watchdog)
declare -A size_of=()
PROFILE
  ;;
h743)
  # A 2 MiB image (both banks) on four H743 fixtures (1, 2, 3, 7: the
  # loader-fail alternate on 1, running firmware on 2, the wedge on 3, the
  # unplug on 7), and a small F103 job beside it (the other faults).
  cat >"$dir/profile.sh" <<'PROFILE'
probe_parts=(v2-1:stm32h743zi v3:stm32h743zi v3:stm32h743zi v2-1:stm32f103rb
             v2-1:stm32f103rb v3:stm32f103rb v2-1:stm32h743zi v2:stm32f103rb)
fams=(h7 f1)
declare -A chip_of=([h7]=stm32h743zi [f1]=stm32f103rb)
declare -A probes_of=([h7]="1 2 3 7" [f1]="4 5 6 8")
declare -A start_of=([h7]=1000 [f1]=2000)
declare -A size_of=([h7]=2097152)
declare -A board_fault=([2]=firmware [4]=watchdog [6]=stale-errors)
PROFILE
  ;;
*) echo "unknown profile $profile (wave1, families, h743)"; exit 2 ;;
esac
. "$dir/profile.sh"
img_size() { [ -n "${size_of[$1]:-}" ] && echo "${size_of[$1]}" || echo 6144; }
args=()
for i in 1 2 3 4 5 6 7 8; do args+=(--probe "${probe_parts[$((i - 1))]}:$(p $i)"); done

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 fl=$4 per_job=$5
. "$dir/profile.sh"
img_size() { [ -n "${size_of[$1]:-}" ] && echo "${size_of[$1]}" || echo 6144; }
total=$((per_job * ${#fams[@]}))
sock=$dir/api.sock db=$dir/flashline.db
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --unix-socket "$sock" "$@"; }
p() { printf '0670FF00000000000000%04X' "$1"; }
log() { echo "[$(date +%T)] $*"; }

start_daemon() {
  "$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/daemon.pid"
  for _ in $(seq 100); do [ -S "$sock" ] && api http://x/v1/probes >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "flashlined did not come up"; cat "$dir/daemon.log"; return 1
}
start_daemon || exit 1
for _ in $(seq 100); do
  [ "$(api http://x/v1/probes | jq '.probes | length')" = 8 ] && break; sleep 0.1
done
log "8 probes: $(api http://x/v1/probes | jq -c '[.probes[].state]')"

# Before any debug session starts: the first one on these probes fails.
ctl loader-fail "$(p 1)" alternate >/dev/null
ctl loader-fail "$(p 5)" alternate >/dev/null
# Boards on these fixtures come with trouble of their own, every one of them.
for i in "${!board_fault[@]}"; do ctl fault "$(p $i)" "${board_fault[$i]}" >/dev/null; done

# One image per family, 6 KiB of noise with the serial number at +0x1000.
for fam in "${fams[@]}"; do
  head -c "$(img_size "$fam")" /dev/urandom >"$dir/$fam.bin"
  sha=$(api -X POST --data-binary @"$dir/$fam.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
  [ ${#sha} = 64 ] || { echo "upload failed"; exit 1; }
  pl=$(for i in ${probes_of[$fam]}; do printf '"%s",' "$(p $i)"; done)
  body=$(printf '{"image":"%s","chip":"%s","count":%d,"probes":[%s],"name":"e2e %s",
    "serial":{"addr":"0x08001000","width":4,"format":"u32le","start":%d,"step":1,
              "series":"e2e-%s"}}' \
    "$sha" "${chip_of[$fam]}" "$per_job" "${pl%,}" "$fam" "${start_of[$fam]}" "$fam")
  id=$(api -X POST -H 'Content-Type: application/json' -d "$body" http://x/v1/jobs | jq -r .id)
  [ "$id" -ge 1 ] 2>/dev/null || { echo "job for $fam refused"; exit 1; }
  echo "$fam $id" >>"$dir/jobs"
done


# A fault meant to hit a unit in the middle waits (5 s at most) for probe $1
# to open one on the board just swapped on; prints its id. Called right
# after that swap, before the other probes' swaps (each is a ctl call): a
# unit at speed 0 can begin and end while they run. Gives up once the
# probe's last result changes (that unit was missed).
unit_opens() {
  local end=$((SECONDS + 5)) first="" u at
  while [ $SECONDS -lt $end ]; do
    read -r u at < <(api "http://x/v1/probes/$(p "$1")" | jq -r '"\(.unit) \(.last_at)"')
    [ "$u" != null ] && { echo "$u"; return 0; }
    [ -z "$first" ] && first=$at
    [ "$at" = "$first" ] || return 1
    sleep 0.01
  done
  return 1
}

# The operator: when a probe's last result changes, the board comes off
# (its flash kept under its UID) and a fresh one goes on.
declare -A seen
wedged=0 unplugged=0 killed=0 ok=0 kill_now=0
deadline=$((SECONDS + 900))
while :; do
  [ $SECONDS -lt $deadline ] || { log "timed out"; break; }
  pj=$(api http://x/v1/probes 2>/dev/null) || { sleep 0.2; continue; }
  for i in 1 2 3 4 5 6 7 8; do
    s=$(p $i)
    mark=$(jq -r --arg s "$s" '.probes[] | select(.serial == $s) | "\(.last_at) \(.last_result) \(.state)"' <<<"$pj")
    read -r at res st <<<"$mark"
    [ "$at" != null ] || continue
    [ "${seen[$i]:-}" != "$at" ] || continue
    [ "$res" = ok ] || [ "$res" = failed ] || { seen[$i]=$at; continue; }
    seen[$i]=$at
    # The new board comes with its fixture's trouble already on it, as a
    # board whose firmware runs does; not added a moment after it is seen.
    out=$(ctl swap-board "$s" --save "$dir/boards/tmp.bin" \
      ${board_fault[$i]:+--fault ${board_fault[$i]}})
    uid=${out##* UID }
    mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
    if [ "$i" = 3 ] && [ "$wedged" = 0 ] && [ "$ok" -ge $((total / 4)) ] && u=$(unit_opens 3); then
      ctl wedge "$(p 3)" >/dev/null && wedged=1 && log "wedged probe 3 during unit $u at $ok units"
    fi
    if [ "$i" = 7 ] && [ "$unplugged" = 0 ] && [ "$ok" -ge $((total * 3 / 8)) ] &&
      u=$(unit_opens 7); then
      ctl unplug "$(p 7)" >/dev/null; sleep 1.5; ctl plug "$(p 7)" >/dev/null
      unplugged=1; log "unplugged and replugged probe 7 during unit $u at $ok units"
    fi
    # The kill comes while the unit on the board just swapped on is in
    # flight: with every probe waiting for this loop, nothing else is.
    if [ "$killed" = 0 ] && [ "$ok" -ge $((total / 2 + 4)) ]; then
      # What had been reported done before the kill.
      api "http://x/v1/units?result=ok&limit=10000" | jq -r '.units[] | "\(.id) \(.serial_number)"' | sort >"$dir/reported"
      # A unit at speed 0 may end between the look and the kill: stop the
      # daemon first, and kill it only if the store has a unit in flight.
      if unit_opens "$i" >/dev/null; then
        kill -STOP "$(cat "$dir/daemon.pid")"
        if [ "$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE result='in_flight'")" -gt 0 ]; then
          kill -9 "$(cat "$dir/daemon.pid")"
          kill_now=1
          break
        fi
        kill -CONT "$(cat "$dir/daemon.pid")"
      fi
    fi
  done
  ok=$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE result='ok'" 2>/dev/null || echo 0)
  if [ "$killed" = 0 ] && [ "$kill_now" = 1 ]; then
    wait "$(cat "$dir/daemon.pid")" 2>/dev/null
    log "kill -9 of flashlined with $(wc -l <"$dir/reported") units reported ok"
    killed=1
    start_daemon || exit 1
    # The restarted daemon shows each probe's last unit from the audit log,
    # with the same time: a board is taken off only for a result not seen
    # before (one that ended just before the kill); interrupted ones stay.
  fi
  done_jobs=$(api http://x/v1/jobs | jq '[.jobs[] | select(.state == "done")] | length')
  [ "$done_jobs" = ${#fams[@]} ] && break
  sleep 0.2
done
log "jobs: $(api http://x/v1/jobs | jq -c '[.jobs[] | {id, state, ok, failed, interrupted}]')"
kill -TERM "$(cat "$dir/daemon.pid")"; wait "$(cat "$dir/daemon.pid")"
stopped=$?
log "flashlined stopped with status $stopped"
# The boards still on the fixtures were programmed too: take them off.
for i in 1 2 3 4 5 6 7 8; do
  out=$(ctl swap-board "$(p $i)" --save "$dir/boards/tmp.bin"); uid=${out##* UID }
  mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
done
[ "$wedged$unplugged$killed" = 111 ] || { echo "FAIL: a fault was not injected ($wedged$unplugged$killed)"; exit 1; }
# A drain ends with status 0; a sanitizer's report makes it non-zero.
[ "$stopped" = 0 ] || {
  echo "FAIL: flashlined exited $stopped after SIGTERM"
  grep -A40 "WARNING: .*Sanitizer" "$dir/daemon.log" | head -80
  exit 1
}
EOF

"$sim" run "${args[@]}" --control "$dir/ctl" -- bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$fl" "$per_job"
rc=$?
db=$dir/flashline.db
[ -f "$db" ] || { echo "FAIL: no database ($rc)"; exit 1; }
q() { sqlite3 "$db" "$1"; }
fail=0
no() { echo "FAIL: $*"; fail=1; }
[ $rc = 0 ] || no "the run itself failed ($rc)"
tail -5 "$dir/daemon.log"

# Every job: its count of ok units, and done.
while read -r fam id; do
  n=$(q "SELECT COUNT(*) FROM units WHERE job=$id AND result='ok'")
  st=$(q "SELECT state FROM jobs WHERE id=$id")
  echo "job $id ($fam): $n ok, state $st"
  [ "$n" = "$per_job" ] && [ "$st" = done ] || no "job $id has $n ok units, state $st"
done <"$dir/jobs"
[ "$(q "SELECT COUNT(*) FROM units WHERE result='in_flight'")" = 0 ] || no "units left in flight"
# Every board on the line is good: a failed unit is a good board rejected.
n=$(q "SELECT COUNT(*) FROM units WHERE result='failed'")
[ "$n" = 0 ] || { no "$n good boards were rejected:"; q "SELECT id, probe, uid, error FROM units WHERE result='failed'"; }
dups=$(q "SELECT serial_number FROM units WHERE serial_number IS NOT NULL GROUP BY serial_number HAVING COUNT(*) > 1")
[ -z "$dups" ] || no "serial numbers used twice: $dups"
# Reported before the kill, still there and ok.
while read -r id sn; do
  [ "$(q "SELECT result || ' ' || serial_number FROM units WHERE id=$id")" = "ok $sn" ] ||
    no "unit $id (serial $sn) was reported ok before the kill but is not now"
done <"$dir/reported"
# The boards: image plus the unit's serial number, little-endian, at +0x1000.
checked=0
while IFS='|' read -r uid sn job; do
  fam=$(awk -v j="$job" '$2 == j {print $1}' "$dir/jobs")
  f=$dir/boards/$uid.bin
  [ -f "$f" ] || { no "no board with UID $uid came off a fixture"; continue; }
  cp "$dir/$fam.bin" "$dir/want.bin"
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((sn & 255)) $(((sn >> 8) & 255)) \
    $(((sn >> 16) & 255)) $(((sn >> 24) & 255)))" |
    dd of="$dir/want.bin" bs=1 seek=4096 conv=notrunc status=none
  cmp -s -n "$(img_size "$fam")" "$dir/want.bin" "$f" || no "board $uid (unit serial $sn, $fam) does not hold its image"
  checked=$((checked + 1))
done < <(q "SELECT uid, serial_number, job FROM units WHERE result='ok'")
echo "boards checked against their images: $checked"
[ "$checked" = $((per_job * ${#fams[@]})) ] ||
  no "checked $checked boards, expected $((per_job * ${#fams[@]}))"
# Every unit is recorded under the UID of a board that was on a fixture. A
# UID read while the operator swapped boards (its words from two boards)
# names none, and the unit could never be redone on its board.
while IFS='|' read -r id uid; do
  [ -f "$dir/boards/$uid.bin" ] || no "unit $id is recorded under UID $uid, which no board has"
done < <(q "SELECT id, uid FROM units")
# The audit trail of the faults.
steps=$(q "SELECT COUNT(*) FROM recovery")
att=$(q "SELECT COUNT(*) FROM attempts")
echo "attempts: $att, recovery steps: $steps"
q "SELECT step, COUNT(*) FROM recovery GROUP BY step" | sed 's/^/    /'
for i in 1 5; do
  n=$(q "SELECT COUNT(*) FROM recovery r JOIN units u ON u.id = r.unit WHERE u.probe = '$(p $i)'")
  [ "$n" -gt 0 ] || no "loader-fail alternate on probe $i left no recovery steps"
done
n=$(q "SELECT COUNT(*) FROM recovery r JOIN units u ON u.id = r.unit WHERE u.probe = '$(p 3)' AND r.step LIKE 'USB reset%' AND r.ok = 1")
# If the wedge lands between two units, the probe heals while it waits for a
# board: then the step is in the probe's events rather than a unit's record.
n=$((n + $(q "SELECT COUNT(*) FROM events WHERE kind = 'recovery' AND probe = '$(p 3)'
               AND json_extract(data_json, '$.step') LIKE 'USB reset%'
               AND json_extract(data_json, '$.ok') = 1")))
[ "$n" -gt 0 ] || no "the wedged probe 3 shows no successful USB reset"
n=$(q "SELECT COUNT(*) FROM units WHERE result='interrupted'")
echo "interrupted units (unplug, kill -9): $n"
[ "$n" -gt 0 ] || no "no unit was interrupted, though a probe was unplugged mid-unit and the daemon killed"
# A unit abandoned because its board was swapped between two reads of the
# UID (the operator is faster than the SWD link) had no board of its own.
redo="i.result='interrupted' AND i.error NOT LIKE 'the board on the fixture changed%' AND NOT EXISTS
        (SELECT 1 FROM units o WHERE o.uid = i.uid AND o.result = 'ok' AND o.id > i.id)"
n=$(q "SELECT COUNT(*) FROM units i WHERE $redo")
[ "$n" = 0 ] || {
  no "$n interrupted units were not redone on their board:"
  q "SELECT id, probe, uid, error FROM units i WHERE $redo"
  echo "the units of those probes from then on:"
  q "SELECT o.id, o.probe, o.uid, o.result, o.started, o.finished, substr(o.error, 1, 100)
     FROM units i JOIN units o ON o.probe = i.probe AND o.id >= i.id WHERE $redo"
  grep -n "left the bus\|is back\|arrived" "$dir/daemon.log"
  grep -n "unplugged\|wedged\|kill" "$dir/inner.log" 2>/dev/null
}
exit $fail
