#!/usr/bin/env bash
# Chaos: kill -9 of flashlined at many random moments while three jobs draw
# serial numbers from ONE series. A line of 6 probes (V2, V2-1, V3) on
# boards of three families; the first job starts the series "chaos" at
# 1000, the other two continue it (same series, no start) and draw from the
# same cursor at the same time. An operator loop swaps a fresh board onto a
# fixture whenever its unit ends ok or failed (keeping the removed board's
# flash), loader-fail alternate on two probes and boards with trouble of
# their own on two fixtures. The daemon is killed KILLS times (default 20)
# at points drawn from SEED (printed, so a failure can be replayed: pass it
# back as the 5th argument) and restarted each time.
#
# Checked at the end, from the boards' flash and the database (not from what
# the daemon says): no serial number on two boards; each board holding one
# has it recorded in serial_numbers as 'ok' for a unit of that very board
# (an interrupted unit's number is 'unknown' and its board was redone with a
# new number, which its flash holds); every unit reported ok before a kill
# is still ok with the same number; every unit ended ok, failed or
# interrupted with its reason, none in flight; no number twice in
# serial_numbers or units; the series' cursor is above every number handed
# out; every job done with its count of ok units; exit 0 after SIGTERM.
#
# usage: chaos_kill.sh SIM FLASHLINED FLASHLINE [KILLS] [SEED] [UNITS_PER_JOB]
set -uo pipefail
sim=$1 fld=$2 fl=$3 kills=${4:-20} seed=${5:-$RANDOM} per_job=${6:-40}
case "$kills$seed$per_job" in *[!0-9]*) echo "KILLS, SEED and UNITS_PER_JOB are numbers"; exit 2 ;; esac
echo "chaos_kill: seed $seed, $kills kills, $per_job units per job (replay: $0 SIM FLASHLINED FLASHLINE $kills $seed $per_job)"
t0=$SECONDS
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
mkdir -p "$dir/boards"

p() { printf '0670FF00000000000000%04X' "$1"; }
probes=(
  "v2:stm32f103rb:$(p 1)" "v3:stm32f103rb:$(p 2)"
  "v2-1:stm32f446re:$(p 3)" "v3:stm32f446re:$(p 4)"
  "v2:stm32l476rg:$(p 5)" "v2-1:stm32l476rg:$(p 6)"
)
args=()
for x in "${probes[@]}"; do args+=(--probe "$x"); done

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 fl=$4 per_job=$5 kills=$6 seed=$7
export FLASHLINE_SOCKET=$dir/api.sock
sock=$dir/api.sock db=$dir/flashline.db
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --max-time 5 --unix-socket "$sock" "$@"; }
p() { printf '0670FF00000000000000%04X' "$1"; }
log() { echo "[$(date +%T.%3N)] $*"; }

start_daemon() {
  "$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/daemon.pid"
  for _ in $(seq 200); do
    [ -S "$sock" ] && api http://x/v1/probes >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$dir/daemon.pid")" 2>/dev/null || break
    sleep 0.05
  done
  echo "flashlined did not come up"; tail -20 "$dir/daemon.log"; return 1
}
# Whatever way this script exits, the daemon of the moment goes with it.
trap 'kill -KILL "$(cat "$dir/daemon.pid" 2>/dev/null)" 2>/dev/null; true' EXIT
start_daemon || exit 1
for _ in $(seq 100); do
  [ "$(api http://x/v1/probes | jq '.probes | length')" = 6 ] && break; sleep 0.1
done

# Faults: the first debug session on these probes fails, every other one.
ctl loader-fail "$(p 1)" alternate >/dev/null
ctl loader-fail "$(p 4)" alternate >/dev/null
# Boards on these fixtures come with trouble of their own (none of which
# puts anything in their flash: a board never programmed stays blank).
declare -A board_fault=([3]=stale-errors [6]=watchdog)
for i in 3 6; do ctl fault "$(p $i)" "${board_fault[$i]}" >/dev/null; done

# One image per family, 6 KiB of noise with the serial number at +0x1000;
# three jobs, one series: the first starts it at 1000, the others continue.
declare -A chip_of=([f1]=stm32f103rb [f4]=stm32f446re [l4]=stm32l476rg)
declare -A probes_of=([f1]="1 2" [f4]="3 4" [l4]="5 6")
for fam in f1 f4 l4; do
  head -c 6144 /dev/urandom >"$dir/$fam.bin"
  sha=$(api -X POST --data-binary @"$dir/$fam.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
  [ ${#sha} = 64 ] || { echo "upload failed"; exit 1; }
  pl=$(for i in ${probes_of[$fam]}; do printf '"%s",' "$(p "$i")"; done)
  start=; [ $fam = f1 ] && start='"start":1000,'
  body=$(printf '{"image":"%s","chip":"%s","count":%d,"probes":[%s],"name":"chaos %s",
    "serial":{"addr":"0x08001000","width":4,"format":"u32le",%s"step":1,"series":"chaos"}}' \
    "$sha" "${chip_of[$fam]}" "$per_job" "${pl%,}" "$fam" "$start")
  out=$(api -X POST -H 'Content-Type: application/json' -d "$body" http://x/v1/jobs)
  id=$(jq -r .id <<<"$out")
  [ "$id" -ge 1 ] 2>/dev/null || { echo "job for $fam refused: $out"; exit 1; }
  echo "$fam $id" >>"$dir/jobs"
done

# The kill points, from the seed: kill k comes delay_ms[k] after the
# daemon (re)started answering, 0.1 to 2.5 s: in the middle of units, between
# them, and while the restarted daemon recovers and rescans its probes.
RANDOM=$seed
delay_ms=()
for _ in $(seq "$kills"); do delay_ms+=($((100 + RANDOM % 2400))); done
log "kill points (ms after each start): ${delay_ms[*]}"

declare -A seen
killed=0 busy_kills=0 armed=$(($(date +%s%3N) + ${delay_ms[0]:-0}))
deadline=$((SECONDS + 400))
: >"$dir/reported"
while :; do
  [ $SECONDS -lt $deadline ] || { log "timed out"; break; }
  # One jq for all probes (the machine is shared: every process counts).
  while read -r s at res; do
    i=$((16#${s: -4}))
    [ "$at" != null ] || continue
    [ "${seen[$i]:-}" != "$at" ] || continue
    seen[$i]=$at
    [ "$res" = ok ] || [ "$res" = failed ] || continue
    out=$(ctl swap-board "$s" --save "$dir/boards/tmp.bin" ${board_fault[$i]:+--fault ${board_fault[$i]}})
    uid=${out##* UID }
    mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
    echo "$uid $i" >>"$dir/fixture_of"
  done < <(api http://x/v1/probes 2>/dev/null | jq -r '.probes[] | "\(.serial) \(.last_at) \(.last_result)"')
  read -r ok done_jobs <<<"$(sqlite3 -separator ' ' "$db" "SELECT (SELECT COUNT(*) FROM units WHERE result='ok'),
    (SELECT COUNT(*) FROM jobs WHERE state='done')" 2>/dev/null)"
  ok=${ok:-0} done_jobs=${done_jobs:-0}
  now=$(date +%s%3N)
  if [ "$killed" -lt "$kills" ] && [ $((armed - now)) -le 300 ]; then
      # What had been reported done before this kill.
      api "http://x/v1/units?result=ok&limit=10000" 2>/dev/null |
        jq -r '.units[] | "\(.id) \(.serial_number)"' >>"$dir/reported"
      # The last stretch is slept rather than polled, to hit the moment drawn.
      now=$(date +%s%3N)
      [ "$armed" -le "$now" ] || sleep "$(printf '0.%03d' $((armed - now)))"
      pid=$(cat "$dir/daemon.pid")
      kill -9 "$pid"; wait "$pid" 2>/dev/null
      killed=$((killed + 1))
      inflight=$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE result='in_flight'" 2>/dev/null)
      [ "${inflight:-0}" = 0 ] || busy_kills=$((busy_kills + 1))
      log "kill $killed: -9 at $ok ok units, $inflight in flight"
      start_daemon || exit 1
      [ "$killed" -ge "$kills" ] || armed=$(($(date +%s%3N) + delay_ms[killed]))
      continue
  fi
  [ "$done_jobs" = 3 ] && [ "$killed" -ge "$kills" ] && break
  sleep 0.1
done
log "jobs: $(api http://x/v1/jobs | jq -c '[.jobs[] | {id, state, ok, failed, interrupted, next_serial}]')"
"$fl" jobs
echo "$killed $busy_kills" >"$dir/killed"
kill -TERM "$(cat "$dir/daemon.pid")"; wait "$(cat "$dir/daemon.pid")"
stopped=$?
log "flashlined stopped with status $stopped"
# The boards still on the fixtures: take them off too.
for i in 1 2 3 4 5 6; do
  out=$(ctl swap-board "$(p $i)" --save "$dir/boards/tmp.bin"); uid=${out##* UID }
  mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
  echo "$uid $i" >>"$dir/fixture_of"
done
[ "$stopped" = 0 ] || {
  echo "FAIL: flashlined exited $stopped after SIGTERM"
  grep -A40 "WARNING: .*Sanitizer" "$dir/daemon.log" | head -80
  exit 1
}
EOF

"$sim" run "${args[@]}" --control "$dir/ctl" -- bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$fl" "$per_job" "$kills" "$seed"
rc=$?
db=$dir/flashline.db
[ -f "$db" ] || { echo "FAIL: no database ($rc)"; exit 1; }
q() { sqlite3 "$db" "$1"; }
fail=0
no() { echo "FAIL: $*"; fail=1; }
[ $rc = 0 ] || no "the run itself failed ($rc)"
read -r killed busy_kills <"$dir/killed" || killed=0 busy_kills=0
[ "$killed" = "$kills" ] || no "the daemon was killed $killed times, not $kills"
# A kill that finds no unit in flight tests little: at least one must.
[ "$kills" = 0 ] || [ "${busy_kills:-0}" -gt 0 ] || no "no kill hit a unit in flight (more units per job?)"

# Every job done with its count of ok units.
while read -r fam id; do
  n=$(q "SELECT COUNT(*) FROM units WHERE job=$id AND result='ok'")
  st=$(q "SELECT state FROM jobs WHERE id=$id")
  if [ "$n" != "$per_job" ] || [ "$st" != "done" ]; then no "job $id ($fam) has $n ok units, state $st"; fi
done <"$dir/jobs"
# Every unit ended, with a reason unless ok.
n=$(q "SELECT COUNT(*) FROM units WHERE result NOT IN ('ok', 'failed', 'interrupted')")
[ "$n" = 0 ] || { no "$n units have not ended:"; q "SELECT id, result FROM units WHERE result NOT IN ('ok', 'failed', 'interrupted')"; }
n=$(q "SELECT COUNT(*) FROM units WHERE result <> 'ok' AND coalesce(error, '') = ''")
[ "$n" = 0 ] || { no "$n units failed or were interrupted without a reason:"; q "SELECT id, result FROM units WHERE result <> 'ok' AND coalesce(error, '') = ''"; }
# No number twice: in units (no primary key there) and in serial_numbers.
dups=$(q "SELECT serial_number FROM units WHERE serial_number IS NOT NULL GROUP BY serial_number HAVING COUNT(*) > 1")
[ -z "$dups" ] || no "serial numbers on two units: $dups"
dups=$(q "SELECT number FROM serial_numbers GROUP BY series, number HAVING COUNT(*) > 1")
[ -z "$dups" ] || no "serial numbers recorded twice: $dups"
# One series, every job in it; every number a unit holds is recorded for it.
[ "$(q "SELECT group_concat(DISTINCT series) FROM jobs")" = chaos ] || no "the jobs are not all in series chaos: $(q "SELECT id, series FROM jobs")"
n=$(q "SELECT COUNT(*) FROM units u WHERE u.serial_number IS NOT NULL AND NOT EXISTS
         (SELECT 1 FROM serial_numbers s WHERE s.series = 'chaos' AND s.number = u.serial_number AND s.unit = u.id)")
[ "$n" = 0 ] || no "$n units hold a number serial_numbers does not record for them"
# The number's state agrees with its unit's end.
bad=$(q "SELECT s.number, s.state, u.result FROM serial_numbers s JOIN units u ON u.id = s.unit
          WHERE NOT ((u.result = 'ok' AND s.state = 'ok')
                  OR (u.result IN ('failed', 'interrupted') AND s.state IN ('void', 'unknown')))")
[ -z "$bad" ] || no "serial number states that contradict their units (number|state|result): $bad"
# The cursor is above every number handed out.
cur=$(q "SELECT next FROM serial_series WHERE name = 'chaos'")
top=$(q "SELECT max(m) FROM (SELECT max(number) AS m FROM serial_numbers UNION ALL SELECT max(serial_number) FROM units)")
low=$(q "SELECT min(number) FROM serial_numbers")
[ "${cur:-0}" -gt "$top" ] || no "the cursor of series chaos ($cur) is not above the largest number handed out ($top)"
[ "$low" -ge 1000 ] || no "a number below the series' start: $low"
# Reported ok before a kill: still ok, with the same number.
# (Read in one query each: on a loaded machine every sqlite3 process counts.)
declare -A unit_now ok_of_uid failed_of_uid number_row
while IFS='|' read -r id res sn; do unit_now[$id]="$res $sn"; done < <(q "SELECT id, result, serial_number FROM units")
while read -r id sn; do
  [ "${unit_now[$id]:-}" = "ok $sn" ] ||
    no "unit $id (serial $sn) was reported ok before a kill but is now: '${unit_now[$id]:-missing}'"
done < <(sort -u "$dir/reported")
while IFS='|' read -r uid oks nf; do ok_of_uid[$uid]=$oks failed_of_uid[$uid]=$nf; done < <(
  q "SELECT uid, SUM(result = 'ok'), SUM(result = 'failed') FROM units GROUP BY uid")
while IFS='|' read -r sn row; do number_row[$sn]=$row; done < <(
  q "SELECT s.number, s.state || ' ' || u.uid || ' ' || u.result FROM serial_numbers s
      JOIN units u ON u.id = s.unit WHERE s.series = 'chaos'")

# The boards: every one that came off a fixture, read from its flash.
declare -A family=([1]=f1 [2]=f1 [3]=f4 [4]=f4 [5]=l4 [6]=l4)
declare -A board_of_number
head -c 6144 /dev/zero | tr '\0' '\377' >"$dir/blank.bin"
boards=0 blank=0 holding=0 partial=0
while read -r uid fix; do
  f=$dir/boards/$uid.bin
  [ -f "$f" ] || { no "board $uid of fixture $fix was not saved"; continue; }
  boards=$((boards + 1))
  fam=${family[$fix]}
  oks=${ok_of_uid[$uid]:-0}
  # The image without its serial slot, and the slot itself.
  if cmp -s -n 6144 "$f" "$dir/blank.bin"; then
    blank=$((blank + 1))
    [ "$oks" = 0 ] || no "board $uid (fixture $fix) is blank but has $oks ok unit(s)"
    continue
  fi
  if ! cmp -s -n 4096 "$dir/$fam.bin" "$f" ||
     ! cmp -s -i 4100 -n 2044 "$dir/$fam.bin" "$f"; then
    partial=$((partial + 1))
    nf=${failed_of_uid[$uid]:-0}
    if [ "$nf" = 0 ] || [ "$oks" != 0 ]; then
      no "board $uid (fixture $fix) holds neither its image nor nothing, and has $nf failed and $oks ok units"
    fi
    continue
  fi
  holding=$((holding + 1))
  sn=$(od -An -tu4 -j 4096 -N 4 --endian=little "$f" | tr -d ' ')
  if [ -n "${board_of_number[$sn]:-}" ]; then
    no "serial number $sn is on two boards: ${board_of_number[$sn]} and $uid"
  fi
  board_of_number[$sn]=$uid
  row=${number_row[$sn]:-}
  read -r st owner res <<<"$row"
  if [ "${st:-}" = ok ] && [ "$owner" = "$uid" ] && [ "$res" = ok ]; then
    # Its ok unit is the one whose number it holds (a board is done once).
    [ "$oks" = 1 ] || no "board $uid has $oks ok units"
  elif [ "${st:-}" = unknown ] && [ "$owner" = "$uid" ] && [ "$res" = failed ] && [ "$oks" = 0 ]; then
    : # a rejected board that kept the number of its failed unit
  else
    no "board $uid (fixture $fix) holds serial $sn, recorded as '${row:-nothing}' (state uid result)"
  fi
done <"$dir/fixture_of"
# Every ok unit's board came off a fixture and holds its number.
while IFS='|' read -r id uid sn; do
  [ "${board_of_number[$sn]:-}" = "$uid" ] || no "ok unit $id (serial $sn): its board $uid does not hold it"
done < <(q "SELECT id, uid, serial_number FROM units WHERE result = 'ok'")
# A number that may be on a board ('unknown') of an interrupted unit: that
# board was redone with a new number, which its flash holds.
while IFS='|' read -r sn uid id new; do
  if [ -z "$new" ] || [ "$new" = "$sn" ] || [ "${board_of_number[$new]:-}" != "$uid" ]; then
    no "interrupted unit $id's number $sn may be on board $uid, which was not redone with a new one (${new:-none})"
  fi
done < <(q "SELECT s.number, u.uid, u.id, (SELECT group_concat(o.serial_number) FROM units o
                                          WHERE o.uid = u.uid AND o.result = 'ok' AND o.id > u.id)
             FROM serial_numbers s JOIN units u ON u.id = s.unit
             WHERE s.state = 'unknown' AND u.result = 'interrupted'")

IFS='|' read -r units_ok units_failed units_int < <(q "SELECT SUM(result = 'ok'), SUM(result = 'failed'),
  SUM(result = 'interrupted') FROM units")
echo "serial numbers by state: $(q "SELECT group_concat(state || '=' || n, ' ') FROM (SELECT state, COUNT(*) AS n FROM serial_numbers GROUP BY state)"), cursor $cur"
echo "summary: seed $seed, kills $killed ($busy_kills with units in flight), units ok $units_ok / failed $units_failed / interrupted $units_int," \
  "boards read $boards (holding a serial $holding, blank $blank, partial $partial), $((SECONDS - t0)) s"
[ "$fail" = 0 ] || { echo "replay with: $0 SIM FLASHLINED FLASHLINE $kills $seed $per_job"; tail -20 "$dir/daemon.log"; }
exit $fail
