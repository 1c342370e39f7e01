#!/usr/bin/env bash
# A continuous job through the `flashline` client: every new board put on a
# fixture (a new UID) is programmed, nothing else; pause stops new units,
# resume starts them again, cancel ends the job. Effects checked in SQLite
# and on the boards taken off.
# usage: continuous.sh SIM FLASHLINED FLASHLINE
set -uo pipefail
sim=$1 fld=$2 fl=$3
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
S1=0670FF0000000000000000C1 S2=0670FF0000000000000000C2

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 fl=$4 S1=$5 S2=$6
export FLASHLINE_SOCKET=$dir/api.sock
db=$dir/flashline.db
q() { sqlite3 "$db" "$1"; }
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
fail() {
  echo "FAIL: $*"
  q "SELECT id, probe, uid, result, error FROM units"
  "$fl" probes
  tail -5 "$dir/daemon.log"
  exit 1
}
ok_units() { q "SELECT COUNT(*) FROM units WHERE result='ok'"; }
# Waits up to 60 s for a shell condition (sanitizer builds are slow).
until_() { for _ in $(seq 600); do eval "$1" && return 0; sleep 0.1; done; return 1; }
swap() { out=$(ctl swap-board "$1" --save "$dir/tmp.bin") && mv "$dir/tmp.bin" "$dir/${out##* UID }.bin"; }

"$fld" --socket "$FLASHLINE_SOCKET" --db "$db" 2>"$dir/daemon.log" &
trap 'kill %1 2>/dev/null' EXIT
until_ '[ "$("$fl" --json probes 2>/dev/null | jq ".probes | length" 2>/dev/null)" = 2 ]' || fail "no probes"
head -c 3000 /dev/urandom >"$dir/app.bin"
job=$("$fl" submit "$dir/app.bin" --chip stm32f103rb --continuous --probes "$S1,$S2") || fail "submit"
until_ '[ "$(ok_units)" = 2 ]' || fail "the two boards on the fixtures were not programmed"
sleep 1
[ "$(ok_units)" = 2 ] || fail "a board was programmed twice"
swap "$S1"
until_ '[ "$(ok_units)" = 3 ]' || fail "a new board was not programmed"
swap "$S2"
until_ '[ "$(ok_units)" = 4 ]' || fail "a new board on the second fixture was not programmed"
"$fl" pause "$job" >/dev/null || fail "pause"
[ "$("$fl" --json job "$job" | jq -r .state)" = paused ] || fail "not paused"
swap "$S1"
sleep 2
[ "$(ok_units)" = 4 ] || fail "a unit started while the job was paused"
"$fl" resume "$job" >/dev/null || fail "resume"
until_ '[ "$(ok_units)" = 5 ]' || fail "resume did not program the waiting board"
"$fl" cancel "$job" >/dev/null || fail "cancel"
[ "$("$fl" --json job "$job" | jq -r .state)" = cancelled ] || fail "not cancelled"
"$fl" pause "$job" >/dev/null 2>&1; [ $? = 7 ] || fail "pausing a cancelled job is not refused with exit 7"
swap "$S2"
sleep 1.5
[ "$(ok_units)" = 5 ] || fail "a unit started after cancel"
[ "$(q "SELECT COUNT(DISTINCT uid) FROM units WHERE result='ok'")" = 5 ] || fail "a board was done twice"
for s in "$S1" "$S2"; do swap "$s"; done
kill -TERM %1; wait %1 || fail "flashlined did not stop cleanly"
# Every ok unit's board holds the image.
for uid in $(q "SELECT uid FROM units WHERE result='ok'"); do
  cmp -s -n 3000 "$dir/app.bin" "$dir/$uid.bin" || fail "board $uid does not hold the image"
done
echo "ok: 5 boards, pause/resume/cancel honoured"
EOF
"$sim" run --probe "v2:stm32f103rb:$S1" --probe "v3:stm32f103rb:$S2" --control "$dir/ctl" -- \
  bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$fl" "$S1" "$S2"
