#!/usr/bin/env bash
# GET /metrics end to end: flashlined on a virtual line of two probes (f1,
# l4) in real time, a job of a few units on each: a loader that fails every
# other time (so that there are recovery steps), a board with a flash cell
# that will not program (a failed unit), boards swapped by an "operator"
# loop as in line_e2e.sh. Then the exposition:
#  - is served on the Unix socket and on the read-only TCP listener with
#    Content-Type text/plain; version=0.0.4;
#  - passes `promtool check metrics` (package prometheus; skipped with a
#    note when promtool is not installed) and a stricter line check here;
#  - flashline_units_total summed by result equals SQLite's
#    SELECT result, COUNT(*) FROM units GROUP BY result, and the recovery
#    steps equal the audit log's; the gauges say what the line does;
#  - all of that again after a restart (the counters are seeded from the
#    store), after kill -9 in the middle of a unit (interrupted when the
#    daemon starts again) and after the job goes on to its end.
# usage: metrics.sh SIM FLASHLINED
set -uo pipefail
sim=$1 fld=$2
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
S1=0670FF000000000000000701 S2=0670FF000000000000000702

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 S1=$4 S2=$5
sock=$dir/api.sock db=$dir/flashline.db
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --unix-socket "$sock" "$@"; }
log() { echo "[$(date +%T)] $*"; }
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
pid=

# A TCP port nobody listens on (the listener is read-only: GETs only).
port=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { echo "no free TCP port"; exit 1; }
printf '[daemon]\nhttp = 127.0.0.1:%d\n' "$port" >"$dir/flashline.conf"

start_daemon() {
  "$fld" --socket "$sock" --db "$db" --config "$dir/flashline.conf" >>"$dir/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [ -S "$sock" ] && [ "$(api http://x/v1/probes 2>/dev/null | jq '.probes | length')" = 2 ] && return 0
    sleep 0.1
  done
  echo "flashlined did not come up with 2 probes"; cat "$dir/daemon.log"; return 1
}
stop_daemon() {
  kill -TERM "$pid"; wait "$pid"; local rc=$?
  [ $rc = 0 ] || no "flashlined exited $rc after SIGTERM"
  pid=
}

upload() { # file -> sha256
  api -X POST --data-binary @"$1" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256
}
job() { # sha chip count probe -> id
  api -X POST -H 'Content-Type: application/json' \
    -d "{\"image\":\"$1\",\"chip\":\"$2\",\"count\":$3,\"probes\":[\"$4\"]}" http://x/v1/jobs | jq -r .id
}

# The operator: a board whose unit ended (ok or failed) comes off and a
# fresh one goes on, until the jobs given are done.
declare -A seen
run_until_done() { # job ids...
  local deadline=$((SECONDS + 200))
  while [ $SECONDS -lt $deadline ]; do
    local pj; pj=$(api http://x/v1/probes 2>/dev/null) || { sleep 0.2; continue; }
    for s in $S1 $S2; do
      local mark at res
      mark=$(jq -r --arg s "$s" '.probes[] | select(.serial == $s) | "\(.last_at) \(.last_result)"' <<<"$pj")
      read -r at res <<<"$mark"
      [ "$at" != null ] && [ "${seen[$s]:-}" != "$at" ] || continue
      seen[$s]=$at
      [ "$res" = ok ] || [ "$res" = failed ] || continue
      ctl swap-board "$s" >/dev/null
    done
    local left=0
    for id in "$@"; do
      [ "$(api "http://x/v1/jobs/$id" | jq -r .state)" = done ] || left=1
    done
    [ $left = 0 ] && return 0
    sleep 0.2
  done
  no "jobs $* did not finish: $(api http://x/v1/jobs | jq -c '[.jobs[] | {id, state, ok, failed}]')"
  return 1
}

# The exposition's own form: promtool when there is one; and here, every
# line a HELP/TYPE comment or "name{label="value",...} number" of a family
# declared before it, no family declared twice, histogram buckets rising to
# +Inf = _count.
check_form() { # file tag
  if command -v promtool >/dev/null; then
    if promtool check metrics <"$1" >"$dir/promtool.out" 2>&1; then
      log "$2: promtool check metrics: ok"
    else
      no "$2: promtool check metrics: $(cat "$dir/promtool.out")"
    fi
  else
    log "$2: promtool not installed (Debian package prometheus): line check only"
  fi
  awk -v tag="$2" '
    function bad(why) { printf "FAIL: %s: line %d: %s: %s\n", tag, NR, why, $0; errs++ }
    /^# HELP / { if (help[$3]++) bad("HELP twice"); next }
    /^# TYPE / {
      if (type[$3]) bad("TYPE twice")
      type[$3] = $4
      if ($4 !~ /^(counter|gauge|histogram)$/) bad("unknown type")
      next
    }
    /^#/ { bad("comment"); next }
    {
      if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")*\})? [-+0-9.eEInf]+$/) {
        bad("not a sample"); next
      }
      name = $0; sub(/[{ ].*/, "", name)
      base = name; sub(/_(bucket|sum|count)$/, "", base)
      if (!type[name] && type[base] != "histogram") bad("no TYPE before it")
      if (name ~ /_bucket$/) {
        series = $0; sub(/,?le="[^"]*"/, "", series); sub(/ [^ ]*$/, "", series)
        sub(/\{\}$/, "", series)
        if (series in last && $NF + 0 < last[series]) bad("bucket not cumulative")
        last[series] = $NF + 0
        if ($0 ~ /le="\+Inf"/) inf[series] = $NF
      }
      if (name ~ /_count$/ && type[base] == "histogram") {
        series = $0; sub(/_count/, "_bucket", series); sub(/ [^ ]*$/, "", series)
        sub(/\{\}$/, "", series)
        if (!(series in inf) || inf[series] != $NF) bad("_count is not the +Inf bucket")
      }
    }
    END { exit errs > 0 }' "$1" || fails=$((fails + 1))
}

value() { # file metric-line-prefix -> value (0 if absent)
  awk -v k="$2" 'index($0, k " ") == 1 { v = $NF } END { print v + 0 }' "$1"
}

# What the database says against what /metrics says.
compare() { # tag
  local tag=$1 f=$dir/metrics.$1
  local code ctype
  code=$(curl -sS --unix-socket "$sock" -D "$dir/headers" -o "$f" -w '%{http_code}' http://x/metrics)
  ctype=$(tr -d '\r' <"$dir/headers" | awk -F': ' 'tolower($1) == "content-type" { print $2 }')
  [ "$code" = 200 ] || no "$tag: GET /metrics on the socket: status $code"
  [ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] || no "$tag: Content-Type '$ctype'"
  check_form "$f" "$tag"

  local want got
  want=$(sqlite3 "$db" "SELECT result, COUNT(*) FROM units GROUP BY result" | tr '|' ' ' | sort)
  got=$(awk '/^flashline_units_total\{/ {
             match($0, /result="[^"]*"/); r = substr($0, RSTART + 8, RLENGTH - 9); n[r] += $NF }
           END { for (r in n) print r, n[r] }' "$f" | sort)
  if [ "$want" = "$got" ]; then
    log "$tag: units by result, in SQLite and /metrics: $(echo $got)"
  else
    no "$tag: units by result: SQLite '$(echo $want)', /metrics '$(echo $got)'"
  fi
  # by probe too
  want=$(sqlite3 "$db" "SELECT probe, COUNT(*) FROM units WHERE result != 'in_flight' GROUP BY probe" | tr '|' ' ' | sort)
  got=$(awk '/^flashline_units_total\{/ {
             match($0, /probe="[^"]*"/); p = substr($0, RSTART + 7, RLENGTH - 8); n[p] += $NF }
           END { for (p in n) print p, n[p] }' "$f" | sort)
  [ "$want" = "$got" ] || no "$tag: units by probe: SQLite '$(echo $want)', /metrics '$(echo $got)'"
  want=$(sqlite3 "$db" "SELECT (SELECT COUNT(*) FROM recovery) +
           (SELECT COUNT(*) FROM events WHERE kind = 'recovery' AND unit IS NULL)")
  got=$(awk '/^flashline_recovery_steps_total\{/ { n += $NF } END { print n + 0 }' "$f")
  [ "$want" = "$got" ] && log "$tag: recovery steps, in SQLite and /metrics: $got" ||
    no "$tag: recovery steps: SQLite $want, /metrics $got"
  want=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE state = 'done'")
  got=$(value "$f" 'flashline_jobs{state="done"}')
  [ "$want" = "$got" ] || no "$tag: done jobs: SQLite $want, /metrics $got"
  [ "$(value "$f" flashline_probes)" = 2 ] || no "$tag: flashline_probes is not 2"
  got=$(awk '/^flashline_probe_state\{/ { n += $NF } END { print n + 0 }' "$f")
  [ "$got" = 2 ] || no "$tag: $got probe states are 1, want one per probe"
  [ "$(value "$f" flashline_queue_depth)" = 0 ] || no "$tag: queue not empty with every job done"
  grep -q '^flashline_build_info{version="[^"]*"} 1$' "$f" || no "$tag: no build info"

  # The read-only TCP listener serves it too.
  code=$(curl -sS -o "$dir/tcp.out" -w '%{http_code}' "http://127.0.0.1:$port/metrics")
  [ "$code" = 200 ] && grep -q '^# TYPE flashline_units_total counter$' "$dir/tcp.out" ||
    no "$tag: GET /metrics over TCP: status $code"
}

start_daemon || exit 1
ctl loader-fail "$S1" alternate >/dev/null
ctl fault "$S2" bad-cell 0x08000800 >/dev/null
head -c 4096 /dev/urandom >"$dir/a.bin"
sha=$(upload "$dir/a.bin")
[ ${#sha} = 64 ] || { echo "upload failed"; exit 1; }

# While a job runs: units to do show in the queue.
j1=$(job "$sha" stm32f103rb 3 "$S1")
j2=$(job "$sha" stm32l476rg 3 "$S2")
q=$(api http://x/metrics | awk '$1 == "flashline_queue_depth" { print $2 }')
[ "$q" -ge 1 ] 2>/dev/null && [ "$q" -le 6 ] || no "queue depth $q while 6 units are to do"
run_until_done "$j1" "$j2" || exit 1
sleep 0.5
compare first
f=$dir/metrics.first
# A sample of the histograms, from the units that just ended.
n=$(value "$f" 'flashline_unit_duration_seconds_count{family="f1",result="ok"}')
[ "$n" -ge 3 ] || no "unit durations: $n f1 ok units observed, want 3 or more"
n=$(awk '/^flashline_attempt_duration_seconds_count/ { n += $NF } END { print n + 0 }' "$f")
[ "$n" -ge 6 ] || no "attempt durations: $n observed, want 6 or more"
n=$(value "$f" flashline_sqlite_write_seconds_count)
[ "$n" -ge 20 ] || no "sqlite writes: $n observed, want 20 or more"

# A restart: counters come back from the store, histograms start over.
stop_daemon
start_daemon || exit 1
compare restarted
f=$dir/metrics.restarted
[ "$(value "$f" 'flashline_unit_duration_seconds_count{family="f1",result="ok"}')" = 0 ] ||
  no "unit durations survived the restart: they are since the daemon started"

# kill -9 while a unit is in flight: it is interrupted when the daemon
# starts again, and counted from the store.
j3=$(job "$sha" stm32f103rb 2 "$S1")
for _ in $(seq 500); do
  [ "$(api "http://x/v1/probes/$S1" | jq -r .unit)" != null ] && break
  sleep 0.01
done
kill -9 "$pid"; wait "$pid" 2>/dev/null
start_daemon || exit 1
n=$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE result = 'interrupted'")
# (a unit that ended just before the kill leaves nothing interrupted: the
# comparison holds all the same)
log "killed with a unit in flight: $n interrupted"
# The job goes on at once; paused (its unit in flight finishes) the line
# is still, so SQLite and /metrics can be compared without a race.
api -X POST -d '' "http://x/v1/jobs/$j3/pause" >/dev/null
for _ in $(seq 300); do
  [ "$(api "http://x/v1/jobs/$j3" | jq -r .in_flight)" = 0 ] && break
  sleep 0.1
done
compare killed
api -X POST -d '' "http://x/v1/jobs/$j3/resume" >/dev/null

# And counting on from the seeded values.
run_until_done "$j3" || exit 1
sleep 0.5
compare continued
stop_daemon
exit $((fails > 0))
EOF

"$sim" run --speed 1 --probe "v2:stm32f103rb:$S1" --probe "v3:stm32l476rg:$S2" --control "$dir/ctl" \
  -- bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$S1" "$S2"
rc=$?
[ $rc = 0 ] || { echo "--- daemon log"; tail -20 "$dir/daemon.log"; }
exit $rc
