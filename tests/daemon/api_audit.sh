#!/usr/bin/env bash
# flashlined on the virtual line, on what the audit keeps:
#  (a) one daemon per database: a second flashlined on the same --db exits
#      non-zero within seconds naming the first one's pid, and the first
#      goes on working;
#  (b) the serial-number bug: a job of series "audit" from 1000, cancelled
#      once its first number is handed out; the same recipe again (start
#      1000) is a 409 naming that job, and leaving out "start" continues the
#      series above 1000; also a job cancelled right away, checked against
#      what the store recorded;
#  (c) who: pause, resume, cancel, quarantine and release through the Unix
#      socket are in GET /v1/jobs/ID's "actions" and in the actions table
#      with actor "uid:<our uid>";
#  (d) recipe validation: a width of 2^32+1, a start of INT64_MAX for two
#      units of 8 bytes, "probes": [] are 400s naming the field;
#  (e) a 300-byte quarantine reason with a multi-byte character across the
#      255-byte cut comes back cut, and valid UTF-8.
# usage: api_audit.sh SIM FLASHLINED
set -uo pipefail
sim=$1 fld=$2
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
S1=0123456789ABCDEF0A0D1701
S2=0123456789ABCDEF0A0D1702

cat >"$dir/run.sh" <<'SCRIPT'
# shellcheck disable=SC2016 # until_ evals its condition later
set -uo pipefail
fld=$1 dir=$2 S1=$3 S2=$4
sock=$dir/api.sock db=$dir/fl.db
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
q() { sqlite3 "$db" "$1"; }
U=http://x
api() { # curl args...: body to $dir/body, prints the status
  curl -s --max-time 10 --unix-socket "$sock" -o "$dir/body" -w '%{http_code}' "$@" || true
}
P=(-X POST -d '') # a state change without a body
J=(-X POST -H 'Content-Type: application/json')
# Polls a shell condition for up to 20 s.
until_() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.1; done; return 1; }

"$fld" --socket "$sock" --db "$db" 2>"$dir/daemon.log" &
pid=$!
trap 'kill -KILL $pid 2>/dev/null; true' EXIT
until_ '[ "$(api "$U/v1/probes")" = 200 ] && [ "$(jq ".probes | length" "$dir/body")" = 2 ]' ||
  { echo "flashlined did not come up with 2 probes"; cat "$dir/daemon.log"; exit 1; }
head -c 6144 /dev/urandom >"$dir/app.bin"
[ "$(api -X POST --data-binary @"$dir/app.bin" "$U/v1/images?format=bin&base=0x08000000")" = 201 ] ||
  { echo "upload failed: $(cat "$dir/body")"; exit 1; }
sha=$(jq -r .sha256 "$dir/body")
# job_body PROBE SERIAL-FIELDS [COUNT]
job_body() {
  local serial=
  [ -z "$2" ] || serial=$(printf ',"serial":{"addr":"0x08001000","width":4,"format":"u32le",%s}' "$2")
  printf '{"image":"%s","chip":"stm32f103rb","count":%d,"probes":["%s"],"name":"audit"%s}' \
    "$sha" "${3:-3}" "$1" "$serial"
}
ended() { [ "$(api "$U/v1/jobs/$1")" = 200 ] && [ "$(jq -r '.in_flight' "$dir/body")" = 0 ]; }

# --- (a) a second daemon on the same database ----------------------------------
t=$SECONDS
timeout 10 "$fld" --socket "$dir/second.sock" --db "$db" 2>"$dir/second.err" >/dev/null
rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
  no "a second flashlined on the same --db exited $rc (124: still running after 10 s)"
elif [ $((SECONDS - t)) -gt 5 ]; then
  no "the second flashlined took $((SECONDS - t)) s to give up"
elif ! grep -q "pid $pid\b" "$dir/second.err"; then
  no "the second flashlined's stderr does not name the first one's pid $pid: $(cat "$dir/second.err")"
else
  echo "ok (a): the second daemon exited $rc: $(head -1 "$dir/second.err")"
fi
kill -0 $pid 2>/dev/null || no "the first flashlined is gone"
[ "$(api "${J[@]}" -d "$(job_body "$S2" "" 1)" "$U/v1/jobs")" = 201 ] || no "the first daemon no longer creates jobs: $(cat "$dir/body")"
a=$(jq -r .id "$dir/body")
[ "$(api "$U/v1/jobs/$a")" = 200 ] && [ "$(jq -r .id "$dir/body")" = "$a" ] || no "job $a does not read back"
# (it programs the board on S2 once and is done)
until_ 'ended $a && [ "$(jq -r .state "$dir/body")" = done ]' || no "job $a did not end: $(cat "$dir/body")"

# --- (b) the series: cancelled after its first number, then start 1000 again ----
[ "$(api "${J[@]}" -d "$(job_body "$S1" '"start":1000,"series":"audit"')" "$U/v1/jobs")" = 201 ] ||
  no "job of series audit from 1000 refused: $(cat "$dir/body")"
b=$(jq -r .id "$dir/body")
until_ '[ "$(q "SELECT COUNT(*) FROM serial_numbers WHERE job = $b")" -ge 1 ]' ||
  no "job $b handed out no number"
[ "$(api "${P[@]}" "$U/v1/jobs/$b/cancel")" = 200 ] || no "cancel of job $b: $(cat "$dir/body")"
until_ "ended $b" || no "job $b's unit did not end"
echo "job $b's numbers: $(q "SELECT group_concat(number || ' ' || state, ', ') FROM serial_numbers WHERE job = $b")"
[ "$(q "SELECT job FROM serial_numbers WHERE series = 'audit' AND number = 1000")" = "$b" ] ||
  no "number 1000 is not recorded for job $b"
njobs=$(q "SELECT COUNT(*) FROM jobs")
got=$(api "${J[@]}" -d "$(job_body "$S1" '"start":1000,"series":"audit"')" "$U/v1/jobs")
if [ "$got" != 409 ] || ! jq -e --arg j "job $b" '.error.code == "conflict" and (.error.message | contains($j))' "$dir/body" >/dev/null; then
  no "the same recipe from 1000 again: $got $(cat "$dir/body") (want 409 naming job $b)"
else
  echo "ok (b): 409: $(jq -r .error.message "$dir/body")"
fi
[ "$(q "SELECT COUNT(*) FROM jobs")" = "$njobs" ] || no "the refused job was created"
if [ "$(api "${J[@]}" -d "$(job_body "$S1" '"series":"audit"')" "$U/v1/jobs")" != 201 ]; then
  no "continuing series audit refused: $(cat "$dir/body")"
else
  c=$(jq -r .id "$dir/body")
  next=$(jq -r .next_serial "$dir/body")
  [ "$next" -gt 1000 ] 2>/dev/null || no "the continuing job $c starts at $next, not above 1000"
  [ "$(api "${P[@]}" "$U/v1/jobs/$c/cancel")" = 200 ] || [ "$(api "$U/v1/jobs/$c")" = 200 ] || no "cancel of job $c"
  until_ "ended $c" || no "job $c's unit did not end"
  low=$(q "SELECT min(number) FROM serial_numbers WHERE job = $c")
  [ -z "$low" ] || [ "$low" -gt 1000 ] || no "job $c handed out $low"
  echo "ok (b): the continuing job $c starts at $next"
fi
# Cancelled right away: whatever the store says decides.
[ "$(api "${J[@]}" -d "$(job_body "$S1" '"start":5000,"series":"audit-now"')" "$U/v1/jobs")" = 201 ] ||
  no "job of series audit-now refused: $(cat "$dir/body")"
d=$(jq -r .id "$dir/body")
api "${P[@]}" "$U/v1/jobs/$d/cancel" >/dev/null
until_ "ended $d" || no "job $d did not end"
handed=$(q "SELECT COUNT(*) FROM serial_numbers WHERE job = $d")
cursor=$(q "SELECT next FROM serial_series WHERE name = 'audit-now'")
got=$(api "${J[@]}" -d "$(job_body "$S1" '"start":5000,"series":"audit-now"')" "$U/v1/jobs")
if [ "$handed" -gt 0 ]; then
  [ "$got" = 409 ] && jq -e --arg j "job $d" '.error.message | contains($j)' "$dir/body" >/dev/null ||
    no "job $d handed out $handed number(s), yet start 5000 again gave $got $(cat "$dir/body")"
else
  # Nothing handed out, the cursor still at 5000: starting there is safe.
  [ "$cursor" = 5000 ] || no "job $d handed out nothing but the cursor is $cursor"
  [ "$got" = 201 ] || no "job $d handed out nothing, yet start 5000 again gave $got $(cat "$dir/body")"
fi
[ "$got" != 201 ] || { e=$(jq -r .id "$dir/body"); api "${P[@]}" "$U/v1/jobs/$e/cancel" >/dev/null; until_ "ended $e"; }
echo "ok (b): cancelled at once with $handed number(s) handed out (cursor $cursor): start 5000 again gave $got"

# --- (c) who did what -------------------------------------------------------------
me="uid:$(id -u)"
[ "$(api "${J[@]}" -d "$(job_body "$S2" "" 5)" "$U/v1/jobs")" = 201 ] || no "job for the actions: $(cat "$dir/body")"
f=$(jq -r .id "$dir/body")
for verb in pause resume cancel; do
  [ "$(api "${P[@]}" "$U/v1/jobs/$f/$verb")" = 200 ] || no "$verb of job $f: $(cat "$dir/body")"
done
until_ "ended $f"
[ "$(api "${J[@]}" -d '{"reason":"bent pogo pin"}' "$U/v1/probes/$S2/quarantine")" = 200 ] || no "quarantine: $(cat "$dir/body")"
[ "$(api "${P[@]}" "$U/v1/probes/$S2/release")" = 200 ] || no "release: $(cat "$dir/body")"
[ "$(api "$U/v1/jobs/$f")" = 200 ] || no "GET job $f"
got=$(jq -c '[.actions[] | [.actor, .verb]]' "$dir/body")
want=$(jq -cn --arg a "$me" '[[$a, "job.create"], [$a, "job.pause"], [$a, "job.resume"], [$a, "job.cancel"]]')
[ "$got" = "$want" ] || no "job $f's actions: $got, want $want"
got=$(q "SELECT group_concat(actor || ' ' || verb, ', ') FROM (SELECT actor, verb FROM actions
          WHERE target_kind = 'job' AND target = '$f' ORDER BY id)")
[ "$got" = "$me job.create, $me job.pause, $me job.resume, $me job.cancel" ] || no "the actions table on job $f: $got"
got=$(q "SELECT group_concat(actor || ' ' || verb, ', ') FROM (SELECT actor, verb FROM actions
          WHERE target_kind = 'probe' AND target = '$S2' ORDER BY id)")
[ "$got" = "$me probe.quarantine, $me probe.release" ] || no "the actions table on probe $S2: $got"
[ "$(q "SELECT json_extract(detail_json, '$.reason') FROM actions WHERE verb = 'probe.quarantine'")" = "bent pogo pin" ] ||
  no "the quarantine's reason is not in its action: $(q "SELECT detail_json FROM actions WHERE verb = 'probe.quarantine'")"
echo "ok (c): actions of job $f and probe $S2 by $me"

# --- (d) validation: 400 naming the field, nothing created ---------------------------
njobs=$(q "SELECT COUNT(*) FROM jobs")
bad() { # WHAT FIELD BODY
  local got; got=$(api "${J[@]}" -d "$3" "$U/v1/jobs")
  if [ "$got" != 400 ] || ! jq -e --arg f "$2" '.error.code == "bad_request" and (.error.message | contains($f))' "$dir/body" >/dev/null; then
    no "$1: $got $(cat "$dir/body") (want 400 naming $2)"
  else
    echo "ok (d) 400: $1: $(jq -r .error.message "$dir/body")"
  fi
}
bad "width 2^32+1" width "$(job_body "$S1" '"width":4294967297,"series":"v1"' | sed 's/"width":4,//')"
bad "start INT64_MAX, 2 units of 8 bytes" start "$(job_body "$S1" '"start":9223372036854775807,"series":"v2"' 2 | sed 's/"width":4,/"width":8,/')"
bad "no probes" probes "$(job_body "$S1" "" | sed 's/"probes":\[[^]]*\]/"probes":[]/')"
[ "$(q "SELECT COUNT(*) FROM jobs")" = "$njobs" ] || no "a refused job was created"
[ "$(q "SELECT COUNT(*) FROM serial_series WHERE name IN ('v1', 'v2')")" = 0 ] || no "a refused job created its series"

# --- (e) a reason cut at 255 bytes, never inside a character -----------------------
for at in 253 254 255; do
  # 300 bytes: ASCII, a 3-byte euro sign at byte offset $at, ASCII.
  reason="$(head -c "$at" /dev/zero | tr '\0' r)€$(head -c $((300 - at - 3)) /dev/zero | tr '\0' s)"
  body=$(jq -cn --arg r "$reason" '{reason: $r}')
  [ "$(api "${J[@]}" -d "$body" "$U/v1/probes/$S1/quarantine")" = 200 ] || { no "quarantine with a 300-byte reason: $(cat "$dir/body")"; continue; }
  [ "$(api "$U/v1/probes/$S1")" = 200 ] || no "GET probe"
  got=$(jq -r '.quarantine_reason // ""' "$dir/body")
  n=$(printf '%s' "$got" | wc -c)
  if ! printf '%s' "$got" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
    no "euro at $at: the reason is not valid UTF-8"
  elif [ "$n" -lt 250 ] || [ "$n" -gt 255 ] || [ "${reason:0:${#got}}" != "$got" ]; then
    no "euro at $at: the reason is $n bytes, not the start of the given one cut at 255"
  else
    echo "ok (e): euro at byte $at: reason kept as $n bytes of valid UTF-8"
  fi
  stored=$(q "SELECT quarantine_reason FROM probes WHERE serial = '$S1'")
  printf '%s' "$stored" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 && [ "$stored" = "$got" ] ||
    no "euro at $at: the stored reason differs or is not valid UTF-8"
  api "${P[@]}" "$U/v1/probes/$S1/release" >/dev/null
done

kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc = 0 ] || no "flashlined exited $rc after SIGTERM"
if [ $fails -ne 0 ]; then echo "$fails failure(s)"; tail -20 "$dir/daemon.log"; exit 1; fi
SCRIPT
"$sim" run --probe "v2:stm32f103rb:$S1" --probe "v3:stm32f103rb:$S2" -- bash "$dir/run.sh" "$fld" "$dir" "$S1" "$S2"
rc=$?
[ $rc = 0 ] && echo "api audit ok"
exit $rc
