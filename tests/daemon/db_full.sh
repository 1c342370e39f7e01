#!/usr/bin/env bash
# Commit or stop, on a real full disk: flashlined's database lives on a
# small tmpfs in a private mount namespace, which is shrunk to just above
# what it holds once the line has a few ok units, so that it fills a few
# units later. While the store refuses writes: idle probes show
# "audit-blocked", /metrics says flashline_audit_blocked 1, no new unit
# starts, GETs are answered, and the log says so a few times (rate-limited),
# not thousands. Then the tmpfs grows again (remount, size=64m): the held
# records land, flashline_audit_blocked goes back to 0, the job finishes.
# Checked from the boards' flash and the database: every board that came off
# a fixture holding anything has its ok unit, whose serial number its flash
# holds; every unit seen during the block is in the database; none in
# flight; exit 0 after SIGTERM.
#
# Needs root and mount namespaces (unshare -m, mount -t tmpfs); exits 77
# (skipped) without them.
# usage: db_full.sh SIM FLASHLINED [UNITS]
set -uo pipefail
sim=$1 fld=$2 units=${3:-12}
t0=$SECONDS
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: db_full needs root, to mount a small tmpfs in a private mount namespace"
  exit 77
fi
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
mkdir -p "$dir/dbfs" "$dir/boards"
# shellcheck disable=SC2016 # expanded by the inner shell
if ! unshare -m sh -c 'mount -t tmpfs -o size=1m flashline-test "$1" && umount "$1"' _ "$dir/dbfs" 2>"$dir/err"; then
  echo "SKIP: cannot mount a tmpfs in a private mount namespace here (unshare -m): $(cat "$dir/err")"
  exit 77
fi
S=(0670FF000000000000DB0001 0670FF000000000000DB0002 0670FF000000000000DB0003)

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 units=$4; shift 4
S=("$@")
sock=$dir/api.sock db=$dir/dbfs/flashline.db
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --max-time 5 --unix-socket "$sock" "$@"; }
q() { sqlite3 "$db" "$1"; }
log() { echo "[$(date +%T.%3N)] $*"; }
fail() { echo "FAIL: $*"; tail -20 "$dir/daemon.log"; exit 1; }
metric() { api http://x/metrics | awk -v m="$1" '$1 == m {print $2}'; }

"$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
pid=$!
# A failure below exits at once: the daemon must not outlive it.
trap 'kill -KILL $pid 2>/dev/null; true' EXIT
for _ in $(seq 100); do
  [ "$(api http://x/v1/probes 2>/dev/null | jq '.probes | length')" = 3 ] && break
  sleep 0.1
done
[ "$(api http://x/v1/probes | jq '.probes | length')" = 3 ] || fail "flashlined did not show 3 probes"
head -c 6144 /dev/urandom >"$dir/app.bin"
sha=$(api -X POST --data-binary @"$dir/app.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
[ ${#sha} = 64 ] || fail "upload failed"
pl=$(printf '"%s",' "${S[@]}")
out=$(api -X POST -H 'Content-Type: application/json' -d "{\"image\":\"$sha\",\"chip\":\"stm32f103rb\",
  \"count\":$units,\"probes\":[${pl%,}],\"name\":\"db full\",
  \"serial\":{\"addr\":\"0x08001000\",\"width\":4,\"format\":\"u32le\",\"start\":5000}}" http://x/v1/jobs)
job=$(jq -r .id <<<"$out")
[ "$job" -ge 1 ] 2>/dev/null || fail "job refused: $out"

# The operator: a board whose unit ended ok or failed comes off (its flash
# kept) and a fresh one goes on. Units seen ended are noted.
declare -A seen
operate() {
  local s at res u out uid
  while read -r s at res u; do
    [ "$u" = null ] || echo "$u" >>"$dir/units_seen"
    [ "$at" != null ] || continue
    [ "${seen[$s]:-}" != "$at" ] || continue
    seen[$s]=$at
    [ "$res" = ok ] || [ "$res" = failed ] || continue
    out=$(ctl swap-board "$s" --save "$dir/boards/tmp.bin")
    uid=${out##* UID }
    mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
    echo "$uid" >>"$dir/removed"
  done < <(api http://x/v1/probes 2>/dev/null | jq -r '.probes[] | "\(.serial) \(.last_at) \(.last_result) \(.unit)"')
}
: >"$dir/removed"
: >"$dir/units_seen"

# A few ok units first, then the disk is shrunk to just above what it holds.
for _ in $(seq 300); do
  operate
  [ "$(q "SELECT COUNT(*) FROM units WHERE result='ok'")" -ge 2 ] && break
  sleep 0.1
done
# (the database grows while this runs: a size below what it holds is refused)
shrunk=
for _ in $(seq 20); do
  used_kb=$(df --output=used -k "$dir/dbfs" | tail -1 | tr -d ' ')
  mount -o remount,size=$((used_kb + ${DB_FULL_SLACK_KB:-96}))k "$dir/dbfs" 2>/dev/null && { shrunk=1; break; }
done
[ -n "$shrunk" ] || fail "cannot shrink the tmpfs to $used_kb KiB and a little"
log "tmpfs shrunk to $((used_kb + ${DB_FULL_SLACK_KB:-96})) KiB at $(q "SELECT COUNT(*) FROM units WHERE result='ok'") ok units"
blocked=
for _ in $(seq 600); do
  operate
  [ "$(metric flashline_audit_blocked)" = 1 ] && { blocked=1; break; }
  sleep 0.1
done
t_blocked=$SECONDS
# The units in flight when the store filled: their ends are held in memory.
q "SELECT id FROM units WHERE result='in_flight'" >"$dir/in_flight_at_block"
[ -n "$blocked" ] || fail "the database never filled: $(df -k "$dir/dbfs" | tail -1); $(q "SELECT COUNT(*) FROM units")"
okb=$(q "SELECT COUNT(*) FROM units WHERE result='ok'")
log "blocked at $okb ok units in the database; pending $(metric flashline_audit_pending)"
[ "$okb" -lt "$units" ] || fail "the job ended before the store was blocked ($okb units)"

# While full. Units in flight when the block began may still end (held in
# memory); wait for every probe to be without a unit, then nothing starts.
for _ in $(seq 300); do
  operate
  [ "$(api http://x/v1/probes | jq '[.probes[] | select(.unit != null)] | length')" = 0 ] && break
  sleep 0.1
done
pj=$(api http://x/v1/probes)
st=$(jq -c '[.probes[].state]' <<<"$pj")
log "probes while blocked: $st"
[ "$(jq '[.probes[] | select(.state != "audit-blocked")] | length' <<<"$pj")" = 0 ] ||
  fail "idle probes are not all audit-blocked while the store refuses writes: $st"
max_db=$(q "SELECT coalesce(max(id), 0) FROM units")
max_api=$(api "http://x/v1/units?limit=1" | jq '[.units[].id] + [0] | max')
t_quiet=$SECONDS
while [ $((SECONDS - t_quiet)) -lt 5 ]; do operate; sleep 0.2; done # 5 s more of a full disk
pj=$(api http://x/v1/probes) || fail "GET /v1/probes not answered while blocked"
api http://x/v1/jobs >/dev/null || fail "GET /v1/jobs not answered while blocked"
[ "$(metric flashline_audit_blocked)" = 1 ] || fail "flashline_audit_blocked is not 1 while full"
pending=$(metric flashline_audit_pending)
[ "$(q "SELECT coalesce(max(id), 0) FROM units")" = "$max_db" ] || fail "a unit started while the store was full (database)"
new=$(jq --argjson m "$max_api" '[.probes[] | select(.unit != null and .unit > $m)] | length' <<<"$pj")
[ "$new" = 0 ] || fail "a unit started while the store was full: $(jq -c '[.probes[].unit]' <<<"$pj")"
[ "$(jq '[.probes[] | select(.state != "audit-blocked")] | length' <<<"$pj")" = 0 ] ||
  fail "probes left audit-blocked while still full: $(jq -c '[.probes[].state]' <<<"$pj")"
lines=$(grep -c "refuses writes" "$dir/daemon.log")
secs=$((SECONDS - t_blocked))
log "still blocked after $secs s: pending $pending, $lines log line(s) on the refusals"
# One line when it starts, then at most one every 10 s.
[ "$lines" -ge 1 ] && [ "$lines" -le $((2 + secs / 10)) ] ||
  fail "$lines log lines on the refusals in $secs s (want one, then one per 10 s at most)"
echo "$max_db" >"$dir/max_db_blocked"

# Free space: the held records land, the job finishes.
mount -o remount,size=64m "$dir/dbfs" || fail "cannot grow the tmpfs"
log "tmpfs grown to 64 MiB"
unblocked=
for _ in $(seq 300); do
  operate
  [ "$(metric flashline_audit_blocked)" = 0 ] && { unblocked=1; break; }
  sleep 0.1
done
[ -n "$unblocked" ] || fail "flashline_audit_blocked stayed 1 after the disk was freed"
log "unblocked"
for _ in $(seq 1200); do
  operate
  [ "$(api "http://x/v1/jobs/$job" | jq -r .state)" = "done" ] && break
  sleep 0.1
done
log "job: $(api "http://x/v1/jobs/$job" | jq -c '{state, ok, failed, interrupted, in_flight, next_serial}')"
[ "$(metric flashline_audit_pending)" = 0 ] || fail "records still pending after the job: $(metric flashline_audit_pending)"
kill -TERM $pid; wait $pid
stopped=$?
log "flashlined stopped with status $stopped"
for s in "${S[@]}"; do
  out=$(ctl swap-board "$s" --save "$dir/boards/tmp.bin"); uid=${out##* UID }
  mv "$dir/boards/tmp.bin" "$dir/boards/$uid.bin"
  echo "$uid" >>"$dir/removed"
done
[ "$stopped" = 0 ] || fail "flashlined exited $stopped after SIGTERM"

# The checks, from the database and the boards.
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
n=$(q "SELECT COUNT(*) FROM units WHERE job=$job AND result='ok'")
[ "$n" = "$units" ] || no "the job has $n ok units, not $units"
[ "$(q "SELECT state FROM jobs WHERE id=$job")" = "done" ] || no "the job is not done in the database"
[ "$(q "SELECT COUNT(*) FROM units WHERE result='in_flight'")" = 0 ] || no "units left in flight"
[ "$(q "SELECT COUNT(*) FROM serial_numbers WHERE state='issued'")" = 0 ] || no "serial numbers left issued"
# Nothing lost: the units in flight when the store filled ended ok (their
# ends were held in memory), every unit the API showed is in the database.
while read -r u; do
  r=$(q "SELECT result FROM units WHERE id=$u")
  [ "$r" = ok ] || no "unit $u, in flight when the store filled, is '${r:-missing}' in the database"
done <"$dir/in_flight_at_block"
while read -r u; do
  r=$(q "SELECT result FROM units WHERE id=$u")
  case "$r" in ok | failed | interrupted) ;; *) no "unit $u shown by the API is '${r:-missing}' in the database" ;; esac
done < <(sort -un "$dir/units_seen")
dups=$(q "SELECT serial_number FROM units WHERE serial_number IS NOT NULL GROUP BY serial_number HAVING COUNT(*) > 1")
[ -z "$dups" ] || no "serial numbers on two units: $dups"
head -c 6144 /dev/zero | tr '\0' '\377' >"$dir/blank.bin"
blank=0 held=0
while read -r uid; do
  f=$dir/boards/$uid.bin
  if cmp -s -n 6144 "$f" "$dir/blank.bin"; then
    blank=$((blank + 1))
    [ "$(q "SELECT COUNT(*) FROM units WHERE uid='$uid' AND result='ok'")" = 0 ] || no "board $uid is blank but has an ok unit"
    continue
  fi
  held=$((held + 1))
  sn=$(od -An -tu4 -j 4096 -N 4 --endian=little "$f" | tr -d ' ')
  r=$(q "SELECT u.result || ' ' || s.state FROM units u JOIN serial_numbers s ON s.unit = u.id
          WHERE u.uid = '$uid' AND u.serial_number = $sn")
  [ "$r" = "ok ok" ] || no "board $uid holds serial $sn, whose unit of that board is '${r:-missing}'"
  cmp -s -n 4096 "$dir/app.bin" "$f" && cmp -s -i 4100 -n 2044 "$dir/app.bin" "$f" ||
    no "board $uid does not hold the image"
done < <(sort -u "$dir/removed")
echo "units in flight when the store filled: $(wc -l <"$dir/in_flight_at_block"), held records $pending"
echo "boards read: $held programmed, $blank blank; units: $(q "SELECT group_concat(result || '=' || n, ' ') FROM (SELECT result, COUNT(*) AS n FROM units GROUP BY result)")"
[ "$fails" = 0 ] || { tail -20 "$dir/daemon.log"; exit 1; }
EOF

cat >"$dir/ns.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2; shift 2
mount --make-rprivate / 2>/dev/null
mount -t tmpfs -o size=64m flashline-test "$dir/dbfs" || { echo "FAIL: cannot mount the tmpfs"; exit 1; }
"$sim" run --probe "v2:stm32f103rb:$3" --probe "v2-1:stm32f103rb:$4" --probe "v3:stm32f103rb:$5" \
  --control "$dir/ctl" -- bash "$dir/inner.sh" "$dir" "$sim" "$@"
rc=$?
# KEEP=1 keeps the database too (the tmpfs goes with the namespace).
[ -z "${KEEP:-}" ] || cp "$dir/dbfs/flashline.db"* "$dir/"
umount "$dir/dbfs"
exit $rc
EOF

unshare -m bash "$dir/ns.sh" "$dir" "$sim" "$fld" "$units" "${S[@]}"
rc=$?
grep -E "refuses writes|more refusals|accepts writes again|NOT COMMITTED|rejected a record" "$dir/daemon.log" | head -20
echo "db_full: $((SECONDS - t0)) s, exit $rc"
exit $rc
