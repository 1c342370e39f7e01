#!/usr/bin/env bash
# flashline watch on a real terminal (a detached tmux pane, 160x48) against
# flashlined on the virtual line: four probes, one job of four units on two
# of them with an "operator" swapping boards, a third quarantined and the
# fourth unplugged while the dashboard runs. Read off the pane: every
# probe's tile with its state word, the quarantine reason, the job's ok
# count, unit and probe lines in the feed; then q quits with status 0.
# Without a daemon: exit 6 and the same message as the other commands.
#
# usage: watch_tmux.sh SIM FLASHLINED FLASHLINE
set -uo pipefail
sim=$1 fld=$2 fl=$3
for t in tmux curl jq; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

# --- no daemon: exit 6, said like `flashline jobs` says it ---------------------
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
"$fl" --socket "$dir/none.sock" watch 2>"$dir/err6" </dev/null >/dev/null
rc=$?
"$fl" --socket "$dir/none.sock" jobs 2>"$dir/err6.jobs" >/dev/null
[ $rc = 6 ] || no "watch without a daemon exited $rc, not 6"
[ "$(sed 's/^flashline watch:/flashline jobs:/' "$dir/err6")" = "$(cat "$dir/err6.jobs")" ] ||
  no "watch's message differs from the other commands': $(cat "$dir/err6")"
grep -q "cannot reach flashlined at $dir/none.sock" "$dir/err6" || no "message: $(cat "$dir/err6")"

p() { printf '0670FF00000000000000%04X' "$1"; }
cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 sim=$2 fld=$3 fl=$4
sock=$dir/api.sock db=$dir/flashline.db
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --unix-socket "$sock" "$@"; }
p() { printf '0670FF00000000000000%04X' "$1"; }
short() { p "$1" | tail -c 8; }
log() { echo "[$(date +%T)] $*"; }
# tmux is no USB program: keep it (and the pty it opens) out of the
# virtual line's LD_PRELOAD, and on a server of its own.
tm() { env -u LD_PRELOAD TERM=xterm-256color tmux -S "$dir/tmux.sock" "$@"; }

"$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
daemon=$!
# The daemon ends before the line does: the line is not torn down under a
# probe still open.
trap 'tm kill-server 2>/dev/null; kill $daemon 2>/dev/null; wait $daemon 2>/dev/null' EXIT
for _ in $(seq 100); do [ "$(api http://x/v1/probes 2>/dev/null | jq '.probes | length')" = 4 ] && break; sleep 0.1; done
[ "$(api http://x/v1/probes | jq '.probes | length')" = 4 ] || { echo "FAIL: flashlined did not see 4 probes"; cat "$dir/daemon.log"; exit 1; }

# The dashboard, in a pane that outlives nothing: its exit status lands in rc.
tm new-session -d -s watch -x 160 -y 48 \
  "'$fl' --socket '$sock' watch 2>'$dir/watch.err'; echo \$? >'$dir/watch.rc'"
screen() { tm capture-pane -p -t watch 2>/dev/null; }
# until SECONDS COMMAND...: COMMAND (given the pane in $pane) until it holds.
until_seen() {
  local t=$1; shift
  local end=$((SECONDS + t))
  while :; do
    pane=$(screen)
    "$@" && return 0
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}
has() { grep -qE -- "$1" <<<"$pane"; }
until_seen 10 has "FLASHLINE" || { no "the dashboard did not come up"; cat "$dir/watch.err"; screen; exit 1; }
for i in 1 2 3 4; do
  until_seen 5 has "$(short $i) +IDLE" || no "no IDLE tile for probe $i"
done

# A job of four units on probes 1 and 2.
head -c 4096 /dev/urandom >"$dir/app.bin"
sha=$(api -X POST --data-binary @"$dir/app.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
body=$(printf '{"image":"%s","chip":"stm32f103rb","count":4,"probes":["%s","%s"],"name":"watch test"}' \
  "$sha" "$(p 1)" "$(p 2)")
job=$(api -X POST -H 'Content-Type: application/json' -d "$body" http://x/v1/jobs | jq -r .id)
[ "$job" -ge 1 ] 2>/dev/null || { echo "FAIL: job refused"; exit 1; }
log "job $job"
# While it runs: probe 3 quarantined, probe 4 pulled out.
api -X POST -H 'Content-Type: application/json' -d '{"reason":"bent pogo pin"}' \
  "http://x/v1/probes/$(p 3)/quarantine" >/dev/null
ctl unplug "$(p 4)" >/dev/null

# The operator: a fresh board after each result, until the job is done.
declare -A seen
for _ in $(seq 600); do
  pj=$(api http://x/v1/probes 2>/dev/null) || { sleep 0.1; continue; }
  for i in 1 2; do
    at=$(jq -r --arg s "$(p $i)" '.probes[] | select(.serial == $s) | .last_at' <<<"$pj")
    [ "$at" != null ] && [ "${seen[$i]:-}" != "$at" ] || continue
    seen[$i]=$at
    ctl swap-board "$(p $i)" >/dev/null
  done
  [ "$(api "http://x/v1/jobs/$job" | jq -r .state)" = done ] && break
  sleep 0.1
done
log "job: $(api "http://x/v1/jobs/$job" | jq -c '{state, ok, failed}')"

until_seen 10 has "#$job +watch test +DONE .*ok 4/4" || no "no job line with ok 4/4"
until_seen 5 has "$(short 3) +QUARANTINED" || no "probe 3's tile is not QUARANTINED"
until_seen 5 has "! bent pogo pin" || no "the quarantine reason is not on probe 3's tile"
until_seen 5 has "$(short 4) +GONE" || no "probe 4's tile is not GONE"
for i in 1 2; do
  until_seen 5 has "$(short $i) +(IDLE|WAITING)" || no "probe $i's tile: not IDLE or WAITING after the job"
  until_seen 5 has "last OK " || no "no last OK on the tiles"
done
# The feed: units and probe changes as they came, from the event stream.
until_seen 5 has "unit [0-9]+ ok on $(p 1) job $job" || no "no ok unit of probe 1 in the feed"
until_seen 5 has "unit [0-9]+ ok on $(p 2) job $job" || no "no ok unit of probe 2 in the feed"
until_seen 5 has "probe $(p 3) quarantined: bent pogo pin" || no "no quarantine line in the feed"
until_seen 5 has "probe $(p 4) gone" || no "no gone line in the feed"
until_seen 5 has "job $job \"watch test\" done" || no "no job done line in the feed"

# r refreshes at once; the screen is still whole.
tm send-keys -t watch r
until_seen 5 has "q quit +r refresh" || no "no footer after r"
# A small terminal: still every tile, the state words still there.
tm resize-window -t watch -x 80 -y 24 2>/dev/null || tm resize-pane -t watch -x 80 -y 24
# Two tiles a row now: probe 3's starts a line.
until_seen 5 has "^ $(short 3) +QUARANTINED" || no "after resizing to 80x24: no QUARANTINED tile first on its row"
echo "--- the pane at 80x24:"; echo "$pane"
tm resize-window -t watch -x 160 -y 48 2>/dev/null || tm resize-pane -t watch -x 160 -y 48
until_seen 5 has "$(short 1) +[A-Z]+ .*$(short 4) +GONE" || no "after growing back: not every tile on one row"
echo "--- the pane at 160x48:"; echo "$pane"

# The daemon goes away: the header says so and the dashboard stays; it
# comes back: the figures and the event stream come back by themselves.
kill -TERM $daemon; wait $daemon
until_seen 10 has "DAEMON UNREACHABLE: cannot reach flashlined at $sock" || no "no UNREACHABLE header without the daemon"
"$fld" --socket "$sock" --db "$db" >>"$dir/daemon.log" 2>&1 &
daemon=$!
# (probe 4 is still unplugged: a new daemon does not know it)
until_seen 15 has "FLASHLINE .* 3 probes .* live" || { no "the dashboard did not come back with the daemon"; screen; tail "$dir/daemon.log"; }
until_seen 5 has "#$job +watch test +DONE .*ok 4/4" || no "after the restart: no job line"

tm send-keys -t watch q
for _ in $(seq 50); do [ -s "$dir/watch.rc" ] && break; sleep 0.1; done
if [ ! -s "$dir/watch.rc" ]; then no "q did not end flashline watch"; else
  [ "$(cat "$dir/watch.rc")" = 0 ] || no "flashline watch exited $(cat "$dir/watch.rc") after q: $(cat "$dir/watch.err")"
fi
exit $((fails > 0))
EOF

args=()
for x in "v2:stm32f103rb:$(p 1)" "v2-1:stm32f103rb:$(p 2)" "v3:stm32l476rg:$(p 3)" "v2:stm32f446re:$(p 4)"; do
  args+=(--probe "$x")
done
"$sim" run "${args[@]}" --control "$dir/ctl" -- bash "$dir/inner.sh" "$dir" "$sim" "$fld" "$fl"
rc=$?
[ $rc = 0 ] || no "the run on the virtual line failed ($rc)"
[ $fails = 0 ] && echo "PASS" || { echo "FAILED ($fails)"; exit 1; }
