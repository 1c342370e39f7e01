#!/usr/bin/env bash
# flashlined on the virtual line, refusing every bad request of docs/api.md:
# each gets its status, the {"error":{"code","message"}} body, and changes
# nothing (GET /v1/jobs and the database's row counts are the same before and
# after). Then the socket's access rules: a uid outside the socket's group
# cannot connect with mode 0660 and gets 403 with 0666. And the exit codes:
# 0 after SIGTERM, 2 for a bad or missing --config.
# usage: api_requests.sh SIM FLASHLINED
set -euo pipefail
sim=$1 fld=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# nobody must reach the socket through the directory: only the socket's own
# mode and group decide
chmod 755 "$dir"
S1=0123456789ABCDEF01234567
S2=76543210FEDCBA9876543210

cat >"$dir/run.sh" <<'SCRIPT'
set -euo pipefail
fld=$1 dir=$2 S1=$3 S2=$4
sock=$dir/api.sock db=$dir/fl.db
fails=0
daemon_pid=

start() { # extra flashlined arguments
  rm -f "$dir/daemon.log"
  "$fld" --socket "$sock" --db "$db" --config "$dir/flashline.conf" "$@" 2>"$dir/daemon.log" &
  daemon_pid=$!
  for _ in $(seq 100); do
    [ -S "$sock" ] && curl -s --unix-socket "$sock" -o /dev/null http://x/v1/probes && return 0
    kill -0 $daemon_pid 2>/dev/null || break
    sleep 0.1
  done
  echo "flashlined did not start:"; cat "$dir/daemon.log"; exit 1
}
stop() {
  if ! kill -TERM $daemon_pid; then
    local rc=0
    wait $daemon_pid || rc=$?
    echo "FAIL: flashlined had already exited ($rc):"; cat "$dir/daemon.log"; exit 1
  fi
  local rc=0
  wait $daemon_pid || rc=$?
  if [ $rc -ne 0 ]; then echo "FAIL: flashlined exited $rc after SIGTERM"; cat "$dir/daemon.log"; exit 1; fi
  daemon_pid=
}
trap '[ -n "$daemon_pid" ] && kill -KILL $daemon_pid 2>/dev/null; true' EXIT

api() { # curl args...: body to $dir/body, prints the status
  curl -s --unix-socket "$sock" -o "$dir/body" -w '%{http_code}' "$@" || true
}
snapshot() {
  { curl -s --unix-socket "$sock" http://x/v1/jobs
    sqlite3 "$db" "select 'images', count(*) from images; select 'jobs', count(*), group_concat(state) from jobs;
                   select 'units', count(*) from units; select 'attempts', count(*) from attempts;
                   select 'recovery', count(*) from recovery; select * from probes order by serial;"
  } >"$1"
}
# expect STATUS CODE WHAT curl-args...
expect() {
  local want=$1 code=$2 what=$3; shift 3
  local got; got=$(api "$@")
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: status $got, want $want: $(cat "$dir/body")"; fails=$((fails + 1)); return
  fi
  if ! jq -e --arg c "$code" '(.error | keys == ["code", "message"]) and .error.code == $c
                              and (.error.message | length > 10)' "$dir/body" >/dev/null 2>&1; then
    echo "FAIL: $what: not the error shape with code $code: $(cat "$dir/body")"; fails=$((fails + 1)); return
  fi
  echo "ok $want $code: $what"
}
U=http://x

: >"$dir/flashline.conf"
start

# --- set-up: images, and a job that has ended (for 409) -------------------
head -c 4096 /dev/urandom >"$dir/small.bin"
head -c 200000 /dev/urandom >"$dir/big.bin" # more than a stm32f103rb's 128 KiB
[ "$(api -X POST --data-binary @"$dir/small.bin" "$U/v1/images?format=bin&base=0x08000000")" = 201 ]
small=$(jq -r .sha256 "$dir/body")
[ "$(api -X POST --data-binary @"$dir/big.bin" "$U/v1/images?format=bin")" = 201 ]
big=$(jq -r .sha256 "$dir/body")
[ "$(api "$U/v1/images/$small")" = 200 ] && [ "$(jq -r .size "$dir/body")" = 4096 ]
# The socket answers before the first USB scan has listed the probes (slow
# under TSan): a job names a probe the station knows.
for _ in $(seq 100); do
  api "$U/v1/probes" >/dev/null && jq -e --arg s "$S1" '.probes[] | select(.serial == $s)' "$dir/body" >/dev/null && break
  sleep 0.1
done
[ "$(api -X POST -d "{\"image\": \"$small\", \"chip\": \"stm32f103rb\", \"count\": 1, \"probes\": [\"$S1\"], \"name\": \"ended\"}" "$U/v1/jobs")" = 201 ] ||
  { echo "FAIL: creating a job: $(cat "$dir/body")"; exit 1; }
job=$(jq -r .id "$dir/body")
# A one-unit job on a board that is there may be done before the cancel
# arrives (409, already ended): either way the job has ended.
code=$(api -X POST -d '' "$U/v1/jobs/$job/cancel")
[ "$code" = 200 ] || [ "$code" = 409 ] || { echo "FAIL: cancel: $code $(cat "$dir/body")"; exit 1; }
# let a unit that was already in flight end before the snapshot
for _ in $(seq 300); do
  api "$U/v1/jobs/$job" >/dev/null
  [ "$(jq -r '.in_flight' "$dir/body")" = 0 ] && break
  sleep 0.1
done
case "$(jq -r '.state' "$dir/body")" in cancelled | done) ;; *) echo "FAIL: job did not end: $(cat "$dir/body")"; exit 1 ;; esac
sleep 0.5
snapshot "$dir/before"

# --- every bad request -----------------------------------------------------
J=(-X POST -H 'Content-Type: application/json')
expect 400 bad_request "malformed JSON" "${J[@]}" -d '{"image": "x",' "$U/v1/jobs"
expect 400 bad_request "JSON not an object" "${J[@]}" -d '[1, 2]' "$U/v1/jobs"
expect 400 bad_request "empty job body" "${J[@]}" -d '' "$U/v1/jobs"
expect 400 bad_request "duplicate key" "${J[@]}" -d "{\"image\": \"$small\", \"image\": \"$small\"}" "$U/v1/jobs"
expect 400 bad_request "unknown field" "${J[@]}" -d "{\"image\": \"$small\", \"chip\": \"stm32f103rb\", \"count\": 1, \"colour\": \"red\"}" "$U/v1/jobs"
expect 400 bad_request "wrong type of count" "${J[@]}" -d "{\"image\": \"$small\", \"chip\": \"stm32f103rb\", \"count\": \"many\"}" "$U/v1/jobs"
expect 400 bad_request "unknown query argument on a write" "${J[@]}" -d "{\"image\": \"$small\", \"chip\": \"stm32f103rb\", \"count\": 1}" "$U/v1/jobs?dry_run=1"
expect 404 not_found "job with an unknown image" "${J[@]}" -d '{"image": "0000000000000000000000000000000000000000000000000000000000000000", "chip": "stm32f103rb", "count": 1}' "$U/v1/jobs"
expect 422 unprocessable "image too large for the chip" "${J[@]}" -d "{\"image\": \"$big\", \"chip\": \"stm32f103rb\", \"count\": 1}" "$U/v1/jobs"
expect 422 unprocessable "unknown chip" "${J[@]}" -d "{\"image\": \"$small\", \"chip\": \"stm32f999zz\", \"count\": 1}" "$U/v1/jobs"
expect 422 unprocessable "unknown family" "${J[@]}" -d "{\"image\": \"$small\", \"family\": \"x9\", \"count\": 1}" "$U/v1/jobs"
expect 400 bad_request "malformed image (ihex)" -X POST --data-binary 'this is not a hex file' "$U/v1/images?format=ihex"
expect 400 bad_request "malformed image (srec)" -X POST --data-binary 'S1FFgarbage' "$U/v1/images?format=srec"
expect 400 bad_request "malformed image (elf)" -X POST --data-binary $'\x7fELF\x01\x01\x01' "$U/v1/images?format=elf"
expect 400 bad_request "empty upload" -X POST --data-binary '' "$U/v1/images"
expect 400 bad_request "unknown image format" -X POST --data-binary @"$dir/small.bin" "$U/v1/images?format=zip"
expect 400 bad_request "bad base" -X POST --data-binary @"$dir/small.bin" "$U/v1/images?format=bin&base=0x1G"
expect 400 bad_request "unknown image query argument" -X POST --data-binary @"$dir/small.bin" "$U/v1/images?fromat=bin"
expect 404 not_found "unknown image" "$U/v1/images/0000000000000000000000000000000000000000000000000000000000000000"
expect 400 bad_request "malformed image id" "$U/v1/images/xyz"
expect 404 not_found "unknown job" "$U/v1/jobs/999999"
expect 400 bad_request "non-numeric job id" "$U/v1/jobs/abc"
expect 400 bad_request "negative job id" "$U/v1/jobs/-1"
expect 404 not_found "pause of an unknown job" -X POST -d '' "$U/v1/jobs/999999/pause"
expect 409 conflict "pause of an ended job" -X POST -d '' "$U/v1/jobs/$job/pause"
expect 409 conflict "resume of an ended job" -X POST -d '' "$U/v1/jobs/$job/resume"
expect 409 conflict "cancel of an ended job" -X POST -d '' "$U/v1/jobs/$job/cancel"
expect 400 bad_request "a body on pause" -X POST -d '{"now": true}' "$U/v1/jobs/$job/pause"
expect 404 not_found "unknown unit" "$U/v1/units/999999"
expect 400 bad_request "non-numeric unit id" "$U/v1/units/x1"
expect 404 not_found "unknown probe" "$U/v1/probes/NOPE"
expect 404 not_found "quarantine of an unknown probe" "${J[@]}" -d '{"reason": "bent pin"}' "$U/v1/probes/NOPE/quarantine"
expect 400 bad_request "quarantine without a reason" "${J[@]}" -d '{}' "$U/v1/probes/$S1/quarantine"
expect 400 bad_request "quarantine with an unknown field" "${J[@]}" -d '{"reason": "x", "until": 5}' "$U/v1/probes/$S1/quarantine"
expect 404 not_found "unknown probe action" -X POST -d '' "$U/v1/probes/$S1/explode"
expect 400 bad_request "unknown units filter" "$U/v1/units?colour=red"
expect 400 bad_request "bad since" "$U/v1/units?since=yesterday"
expect 400 bad_request "until with an offset out of range" "$U/v1/units?until=2026-11-25T15:40:00%2B24:00"
# An explicit offset names one instant (util/iso8601.h): accepted.
[ "$(api "$U/v1/units?until=2026-11-25T15:40:00%2B01:00")" = 200 ] &&
  echo "ok 200: until with an offset" ||
  { echo "FAIL: until with an offset: $(cat "$dir/body")"; fails=$((fails + 1)); }
expect 400 bad_request "a repeated argument" "$U/v1/units?uid=1&uid=2"
# libwebsockets turns a decoded '=' in a name into '_' ("uid_x"), so the API
# may split the decoded "name=value" at its first '=' (api_query_from_args):
# were it "uid" with the value "x=1", this would be a 200.
expect 400 bad_request "an encoded = inside a name" "$U/v1/units?uid%3Dx=1"
expect 400 bad_request "bad result" "$U/v1/units?result=great"
expect 400 bad_request "limit too high" "$U/v1/units?limit=10001"
# (a bad percent escape such as ?uid=%zz is refused by libwebsockets itself
# with an HTML 403 before the API sees it: a transport matter, see http.c)
expect 400 bad_request "export format" "$U/v1/export?format=xml"
expect 400 bad_request "export has no limit" "$U/v1/export?format=csv&limit=5"
expect 405 method_not_allowed "POST on GET-only /v1/units" -X POST -d '{}' "$U/v1/units"
expect 405 method_not_allowed "POST on GET-only /v1/probes" -X POST -d '{}' "$U/v1/probes"
expect 405 method_not_allowed "POST on GET-only /v1/jobs/ID" -X POST -d '{}' "$U/v1/jobs/$job"
expect 405 method_not_allowed "DELETE on a job" -X DELETE "$U/v1/jobs/$job"
expect 405 method_not_allowed "GET on a POST-only action" "$U/v1/jobs/$job/pause"
expect 405 method_not_allowed "POST on the event stream" -X POST -d '' "$U/v1/events"
expect 404 not_found "unknown route" "$U/v2/jobs"
expect 404 not_found "unknown route under /v1" "$U/v1/widgets"

snapshot "$dir/after"
if ! diff -u "$dir/before" "$dir/after"; then echo "FAIL: a refused request changed something"; fails=$((fails + 1)); fi

# good reads still answer, in the documented shapes
{ [ "$(api "$U/v1/units?job=$job&limit=10")" = 200 ] && jq -e '.units | type == "array"' "$dir/body" >/dev/null; } ||
  { echo "FAIL: GET /v1/units: $(cat "$dir/body")"; fails=$((fails + 1)); }
{ [ "$(api "$U/v1/export?format=csv")" = 200 ] && head -1 "$dir/body" | grep -q '^id,job,probe,uid,chip,serial_number,image,result,error,started_at,finished_at,attempts,recovery_steps'; } ||
  { echo "FAIL: GET /v1/export?format=csv: $(head -c 300 "$dir/body")"; fails=$((fails + 1)); }
[ "$(api "$U/v1/export?format=jsonl")" = 200 ] || { echo "FAIL: GET /v1/export?format=jsonl"; fails=$((fails + 1)); }

# oversized upload: a daemon with a 1 MiB limit
stop
printf '[daemon]\nmax_upload_mb = 1\n' >"$dir/flashline.conf"
start
head -c $((2 * 1024 * 1024)) /dev/urandom >"$dir/huge.bin"
snapshot "$dir/before"
expect 413 too_large "upload over max_upload_mb" -X POST --data-binary @"$dir/huge.bin" "$U/v1/images?format=bin"
snapshot "$dir/after"
diff -u "$dir/before" "$dir/after" || { echo "FAIL: the 413 changed something"; fails=$((fails + 1)); }
stop
: >"$dir/flashline.conf"

# --- the socket's access rules -----------------------------------------------
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
if [ "$(id -u)" != 0 ]; then
  echo "not root: access tests skipped"
  touch "$dir/skipped"
elif ! as_nobody curl --version >/dev/null 2>&1 || ! as_nobody test -x "$fld"; then
  # e.g. a chroot whose root directory is 0700: nobody can run nothing at all,
  # so the daemon's refusal could not be told from the system's.
  echo "nobody cannot run curl or reach $fld here: access tests skipped"
  touch "$dir/skipped"
else
  start
  rc=0; as_nobody curl -s --unix-socket "$sock" -o /dev/null "$U/v1/jobs" || rc=$?
  if [ $rc -ne 7 ]; then echo "FAIL: nobody connected to a 0660 socket (curl exit $rc)"; fails=$((fails + 1));
  else echo "ok: nobody cannot connect to the 0660 socket"; fi
  stop
  start --socket-mode 0666 --socket-group root
  snapshot "$dir/before"
  for what in "GET /v1/jobs" "POST /v1/jobs" "POST /v1/probes/$S1/quarantine"; do
    set -- $what
    if [ "$1" = GET ]; then args=(); else args=(-X POST -H 'Content-Type: application/json' -d "{\"image\": \"$small\", \"chip\": \"stm32f103rb\", \"count\": 1, \"reason\": \"x\"}"); fi
    got=$(as_nobody curl -s --unix-socket "$sock" -o - -w '\n%{http_code}' "${args[@]}" "$U$2" || true)
    status=$(tail -1 <<<"$got")
    if [ "$status" != 403 ] || ! head -n -1 <<<"$got" | jq -e '.error.code == "forbidden"' >/dev/null; then
      echo "FAIL: nobody on a 0666 socket of group root: $what gave $got"; fails=$((fails + 1))
    else echo "ok 403 forbidden: nobody $what"; fi
  done
  snapshot "$dir/after"
  diff -u "$dir/before" "$dir/after" || { echo "FAIL: a forbidden request changed something"; fails=$((fails + 1)); }
  stop
fi

# --- exit codes ----------------------------------------------------------------
rc=0; "$fld" --socket "$sock" --db "$db" --config "$dir/missing.conf" 2>"$dir/err" || rc=$?
[ $rc = 2 ] && grep -q missing.conf "$dir/err" || { echo "FAIL: missing --config: exit $rc: $(cat "$dir/err")"; fails=$((fails + 1)); }
printf '[daemon]\nsocket = %s\n\nsokcet = /x\n' "$sock" >"$dir/bad.conf"
rc=0; "$fld" --socket "$sock" --db "$db" --config "$dir/bad.conf" 2>"$dir/err" || rc=$?
[ $rc = 2 ] && grep -q 'bad.conf:4:' "$dir/err" || { echo "FAIL: bad config: exit $rc: $(cat "$dir/err")"; fails=$((fails + 1)); }
rc=0; "$fld" --socket "$sock" --db "$db" --config "$dir/flashline.conf" --socket-mode 999 2>"$dir/err" || rc=$?
[ $rc = 2 ] || { echo "FAIL: bad --socket-mode: exit $rc"; fails=$((fails + 1)); }
rc=0; "$fld" --socket "$sock" --db "$dir/no/such/dir/fl.db" --config "$dir/flashline.conf" 2>"$dir/err" || rc=$?
[ $rc = 1 ] || { echo "FAIL: unusable --db: exit $rc: $(cat "$dir/err")"; fails=$((fails + 1)); }

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
SCRIPT
"$sim" run --probe "v2:stm32f103rb:$S1" --probe "v3:stm32l476rg:$S2" -- bash "$dir/run.sh" "$fld" "$dir" "$S1" "$S2"
if [ -e "$dir/skipped" ]; then exit 77; fi
echo "api requests ok"
