#!/usr/bin/env bash
# Adaptive recovery on the virtual line (issue 16): 8 probes, the seed's
# fault (loader-fail alternate: every other debug session's loader runs
# fail until the probe leaves debug mode) on 4 of them, one job of units
# with a fresh board swapped on after each, and a daemon restart half way.
# Checked from the audit store: after each probe's first unit ever, no unit
# has more than 2 attempts, the restart included; every unit that needed
# recovery has the step that cured it marked (recovery.cured); the memory
# (recovery_memory) names that step for each faulty probe.
# usage: adaptive_recovery.sh SIM FLASHLINED [UNITS]
set -uo pipefail
sim=$1 fld=$2 units=${3:-32}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
p() { printf '0680FF00000000000000%04X' "$1"; }
parts=(v2:stm32f103rb v2-1:stm32f103rb v3:stm32f446re v2-1:stm32f446re
  v2:stm32l476rg v3:stm32l476rg v2-1:stm32g071rb v3:stm32g071rb)
args=()
for i in 1 2 3 4 5 6 7 8; do args+=(--probe "${parts[$((i - 1))]}:$(p $i)"); done

cat >"$dir/inner.sh" <<'INNER'
set -uo pipefail
dir=$1 sim=$2 fld=$3 units=$4
sock=$dir/api.sock db=$dir/fl.db
p() { printf '0680FF00000000000000%04X' "$1"; }
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --unix-socket "$sock" "$@"; }
start_daemon() {
  "$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 100); do api http://x/v1/probes >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "flashlined did not come up"; cat "$dir/daemon.log"; exit 1
}
for i in 1 3 5 7; do ctl loader-fail "$(p $i)" alternate >/dev/null; done
start_daemon
for _ in $(seq 100); do [ "$(api http://x/v1/probes | jq '.probes | length')" = 8 ] && break; sleep 0.1; done
head -c 4096 /dev/urandom >"$dir/img.bin"
sha=$(api -X POST --data-binary @"$dir/img.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
# A job per chip on its two probes (one with the fault, one without).
declare -A probes_of=([stm32f103rb]="1 2" [stm32f446re]="3 4" [stm32l476rg]="5 6" [stm32g071rb]="7 8")
for chip in "${!probes_of[@]}"; do
  pl=$(for i in ${probes_of[$chip]}; do printf '"%s",' "$(p $i)"; done)
  out=$(api -X POST -H 'Content-Type: application/json' \
    -d "{\"image\":\"$sha\",\"chip\":\"$chip\",\"count\":$((units / 4)),\"probes\":[${pl%,}]}" \
    http://x/v1/jobs)
  [ "$(jq -r .id <<<"$out")" -ge 1 ] 2>/dev/null || { echo "job for $chip refused: $out"; exit 1; }
done
declare -A seen
restarted=0
deadline=$((SECONDS + 600))
while [ $SECONDS -lt $deadline ]; do
  pj=$(api http://x/v1/probes 2>/dev/null) || { sleep 0.2; continue; }
  for i in 1 2 3 4 5 6 7 8; do
    at=$(jq -r --arg s "$(p $i)" '.probes[] | select(.serial == $s) | .last_at' <<<"$pj")
    [ "$at" != null ] && [ "${seen[$i]:-}" != "$at" ] || continue
    seen[$i]=$at
    ctl swap-board "$(p $i)" >/dev/null
  done
  ok=$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE result='ok'" 2>/dev/null || echo 0)
  if [ "$restarted" = 0 ] && [ "$ok" -ge $((units / 2)) ]; then
    kill -TERM "$(cat "$dir/pid")"; wait "$(cat "$dir/pid")"
    echo "restarted flashlined at $ok units"
    restarted=1
    start_daemon
  fi
  [ "$ok" -ge "$units" ] && break
  sleep 0.1
done
kill -TERM "$(cat "$dir/pid")"; wait "$(cat "$dir/pid")"
[ "$restarted" = 1 ] || { echo "FAIL: the daemon was never restarted"; exit 1; }
INNER

"$sim" run "${args[@]}" --control "$dir/ctl" -- bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$units"
rc=$?
db=$dir/fl.db
q() { sqlite3 "$db" "$1"; }
fail=0
no() { echo "FAIL: $*"; fail=1; }
[ $rc = 0 ] || no "the run failed ($rc)"
n=$(q "SELECT COUNT(*) FROM units WHERE result='ok'")
echo "ok units: $n"
[ "$n" -ge "$units" ] || no "$n ok units, wanted $units"
echo "attempts per unit, per probe (unit order):"
q "SELECT probe, group_concat(a, ',') FROM (SELECT u.probe, u.id,
     (SELECT COUNT(*) FROM attempts WHERE unit = u.id) AS a FROM units u ORDER BY u.id)
   GROUP BY probe" | sed 's/^/    /'
# After each probe's first unit ever: at most 2 attempts.
bad=$(q "SELECT u.id || ' on ' || u.probe || ': ' || (SELECT COUNT(*) FROM attempts WHERE unit = u.id)
         FROM units u WHERE u.id > (SELECT min(id) FROM units f WHERE f.probe = u.probe)
         AND (SELECT COUNT(*) FROM attempts WHERE unit = u.id) > 2")
[ -z "$bad" ] || no "units with more than 2 attempts after their probe's first: $bad"
# The faulty probes did fail (else the test proves nothing), and each unit
# that needed recovery names its cure.
for i in 1 3 5 7; do
  s=$(p $i)
  k=$(q "SELECT COUNT(*) FROM units u WHERE u.probe = '$s' AND (SELECT COUNT(*) FROM attempts WHERE unit = u.id) > 1")
  [ "$k" -ge 2 ] || no "probe $i ($s) needed recovery on $k units: the fault did not bite"
done
unnamed=$(q "SELECT u.id FROM units u WHERE u.result = 'ok' AND (SELECT COUNT(*) FROM attempts WHERE unit = u.id) > 1
             AND NOT EXISTS (SELECT 1 FROM recovery r WHERE r.unit = u.id AND r.cured = 1)")
[ -z "$unnamed" ] || no "units recovered without a cured step in the audit: $unnamed"
echo "cures named in the audit:"
q "SELECT step, COUNT(*) FROM recovery WHERE cured = 1 GROUP BY step" | sed 's/^/    /'
echo "recovery memory:"
q "SELECT probe, state, event, error, step, cures FROM recovery_memory" | sed 's/^/    /'
for i in 1 3 5 7; do
  [ -n "$(q "SELECT step FROM recovery_memory WHERE probe = '$(p $i)'")" ] ||
    no "nothing remembered for probe $i"
done
[ $fail = 0 ] && echo "adaptive recovery ok"
exit $fail
