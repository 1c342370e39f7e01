#!/usr/bin/env bash
# The web dashboard in a real browser (headless Chromium through
# chromedriver), against flashlined on the virtual line: 5 probes, one job of
# 6 units on three of them (one with a flash loader that fails every other
# run, so units have recovery steps), one probe quarantined, one unplugged,
# boards swapped by an "operator" loop as units finish. One page stays open
# for the whole run, as on a line-side screen, and is checked against the
# API and the database:
#   - the files are served with their Content-Types and name no other host;
#   - a tile per probe, each with the probe's state and its status colour;
#     the quarantined one shows its reason and a Release button whose 401
#     on the read-only TCP listener is shown on the tile;
#   - the job's row has the ok count the database has;
#   - the live feed received events while the job ran;
#   - the audit search by UID (#uid=...) shows the unit's attempts and
#     recovery steps, as many as SQLite holds.
# SHOT=FILE saves a screenshot of the dashboard taken while the job runs;
# SPEED=F runs the virtual line at that speed (default 0: as fast as it goes;
# 1 is real time, slow enough to see progress bars in the screenshot).
#
# usage: dashboard.sh SIM FLASHLINED
# exit 77 (skipped) without chromium, chromedriver, curl, jq or sqlite3.
set -uo pipefail
sim=$1 fld=$2
for t in chromium chromedriver curl jq sqlite3; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

# A TCP port nobody answers on.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# chromedriver runs outside the virtual line's environment: the browser has
# no business with the virtual USB bus.
cd_port=$(free_port) || { echo "FAIL: no free port"; exit 1; }
HOME=$dir XDG_CONFIG_HOME=$dir/xdg XDG_CACHE_HOME=$dir/xdg chromedriver --port="$cd_port" \
  >"$dir/chromedriver.log" 2>&1 &
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$cd_port/status" >/dev/null && break
  sleep 0.1
done

p() { printf '0670FF00000000000000%04X' "$1"; }
args=()
for i in 1 2 3 4 5; do args+=(--probe "v2-1:stm32f103rb:$(p "$i")"); done

cat >"$dir/inner.sh" <<'EOF'
set -uo pipefail
dir=$1 fld=$2 sim=$3 cd_port=$4 shot=$5
sock=$dir/api.sock db=$dir/flashline.db
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
api() { curl -sS --unix-socket "$sock" "$@"; }
p() { printf '0670FF00000000000000%04X' "$1"; }
log() { echo "[$(date +%T)] $*"; }
fail=0
no() { echo "FAIL: $*"; fail=1; }

# ---- the daemon with a read-only TCP listener -------------------------------
for try in 1 2 3; do
  # A port nobody answers on; if it is taken after all, the daemon exits.
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  "$fld" --socket "$sock" --db "$db" --http "127.0.0.1:$port" >>"$dir/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [ -S "$sock" ] && api http://x/v1/probes >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  kill -0 $pid 2>/dev/null && break
done
kill -0 $pid 2>/dev/null || { echo "FAIL: flashlined did not come up"; cat "$dir/daemon.log"; exit 1; }
base=http://127.0.0.1:$port
for _ in $(seq 100); do
  [ "$(api http://x/v1/probes | jq '.probes | length')" = 5 ] && break
  sleep 0.1
done

# ---- the files themselves ----------------------------------------------------
for f in /:text/html /index.html:text/html /app.css:text/css /app.js:text/javascript; do
  ct=$(curl -s -o "$dir/asset" -w '%{content_type}' "$base${f%%:*}")
  [[ $ct == "${f#*:}"* ]] || no "GET ${f%%:*} is served as \"$ct\", not ${f#*:}"
  [ -s "$dir/asset" ] || no "GET ${f%%:*} is empty"
  ! grep -Eq '(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[/"]' "$dir/asset" ||
    no "${f%%:*} names another host: $(grep -Eo '(https?:)?//[a-z0-9.-]+\.[a-z]{2,}' "$dir/asset" | head -1)"
done

# ---- a quarantined probe and an unplugged one ---------------------------------
reason="bent pogo pin on fixture 4"
api -X POST -H 'Content-Type: application/json' -d "{\"reason\":\"$reason\"}" \
  "http://x/v1/probes/$(p 4)/quarantine" >/dev/null
ctl unplug "$(p 5)" >/dev/null
for _ in $(seq 100); do
  [ "$(api "http://x/v1/probes/$(p 5)" | jq -r .state)" = gone ] && break
  sleep 0.1
done

# ---- the browser, one page for the whole run -----------------------------------
wd=http://127.0.0.1:$cd_port
caps='{"capabilities":{"alwaysMatch":{"goog:chromeOptions":{"binary":"'$(command -v chromium)'",
  "args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage",
          "--window-size=1400,1040","--force-device-scale-factor=1",
          "--user-data-dir='"$dir"'/chrome-profile"]}}}}'
# Every WebDriver call is bounded: a browser that hangs (seen once in a
# debootstrap chroot) must end the test, not ctest's timeout.
wdc() { curl -s --max-time 60 "$@"; }
new_session() {
  wdc -X POST -H 'Content-Type: application/json' -d "$caps" "$wd/session" | jq -r '.value.sessionId // empty'
}
go() { wdc -X POST -H 'Content-Type: application/json' -d "{\"url\":\"$1\"}" "$wd/session/$sid/url" >/dev/null; }
# Runs a script in the page; prints what it returns (a string).
js() {
  wdc -X POST -H 'Content-Type: application/json' \
    -d "$(jq -n --arg s "$1" '{script: $s, args: []}')" "$wd/session/$sid/execute/sync" | jq -r .value
}
sid=$(new_session)
[ -n "$sid" ] || sid=$(new_session)
# A browser that cannot start here (seen in a debootstrap chroot: chromedriver
# never reaches the renderer, or a blank page never answers) is a missing
# tool, not a dashboard failure. The daemon is stopped first: the line must
# not be torn down under it.
if [ -n "$sid" ]; then
  go about:blank
  [ "$(js 'return "up"')" = up ] || sid=""
fi
[ -n "$sid" ] || {
  echo "SKIP: chromedriver could not start chromium here"; cat "$dir/chromedriver.log"
  kill -TERM $pid; wait $pid; exit 77
}
trap 'wdc -X DELETE "$wd/session/$sid" >/dev/null' EXIT
page_state='return JSON.stringify({
  tiles: [...document.querySelectorAll(".tile")].map(t => ({serial: t.dataset.serial,
    state: t.dataset.state, colour: t.dataset.colour,
    reason: (t.querySelector(".reason") || {}).textContent || null,
    release: !!t.querySelector("button.release"),
    err: (t.querySelector(".err") || {}).textContent || null})),
  jobs: [...document.querySelectorAll("#jobs-body tr")].map(r => ({id: +r.dataset.job,
    ok: +r.dataset.ok, state: r.dataset.state})),
  events: +document.getElementById("feed-count").dataset.count,
  feed: document.querySelectorAll("#feed li").length,
  conn: document.getElementById("conn").dataset.conn})'
go "$base/"
for _ in $(seq 100); do
  [ "$(js 'return document.getElementById("conn").dataset.conn')" = live ] && break
  sleep 0.1
done
[ "$(js 'return document.getElementById("conn").dataset.conn')" = live ] ||
  no "the page's event stream did not connect"

# ---- a job of 6 units on probes 1-3, probe 1's loader failing every other run -----
ctl loader-fail "$(p 1)" alternate >/dev/null
head -c 4096 /dev/urandom >"$dir/app.bin"
sha=$(api -X POST --data-binary @"$dir/app.bin" "http://x/v1/images?format=bin&base=0x08000000" | jq -r .sha256)
body=$(printf '{"image":"%s","chip":"stm32f103rb","count":6,"probes":["%s","%s","%s"],"name":"dashboard",
  "serial":{"addr":"0x08000C00","width":4,"format":"u32le","start":500,"step":1}}' "$sha" "$(p 1)" "$(p 2)" "$(p 3)")
job=$(api -X POST -H 'Content-Type: application/json' -d "$body" http://x/v1/jobs | jq -r .id)
[ "$job" -ge 1 ] 2>/dev/null || { echo "FAIL: job refused"; exit 1; }
log "job $job on $base"

# The operator: a board comes off when its probe reports a new result.
declare -A seen
shot_taken=0 mid=""
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
  pj=$(api http://x/v1/probes) || { sleep 0.2; continue; }
  for i in 1 2 3; do
    read -r at res <<<"$(jq -r --arg s "$(p $i)" '.probes[] | select(.serial == $s) | "\(.last_at) \(.last_result)"' <<<"$pj")"
    [ "$at" != null ] && [ "${seen[$i]:-}" != "$at" ] || continue
    seen[$i]=$at
    [ "$res" = ok ] || [ "$res" = failed ] || continue
    ctl swap-board "$(p $i)" >/dev/null
  done
  state=$(api "http://x/v1/jobs/$job" | jq -r '"\(.state) \(.ok)"')
  # Half way, with a board being programmed: the page in the middle of a run.
  busy=$(jq '[.probes[] | select(.unit != null)] | length' <<<"$pj")
  if [ -z "$mid" ] && [ "${state#* }" -ge 2 ] && { [ "$busy" -gt 0 ] || [ "${state#* }" -ge 5 ]; }; then
    mid=$(js "$page_state")
    if [ -n "$shot" ]; then
      wdc "$wd/session/$sid/screenshot" | jq -r .value | base64 -d >"$shot" && shot_taken=1
    fi
  fi
  [ "${state% *}" = done ] && break
  sleep 0.2
done
[ "$(api "http://x/v1/jobs/$job" | jq -r .state)" = done ] || no "job $job did not finish: $(api "http://x/v1/jobs/$job")"
[ -z "$shot" ] || [ $shot_taken = 1 ] || no "no screenshot saved to $shot"
jq -e '.tiles | length == 5' <<<"$mid" >/dev/null || no "mid-run: not 5 tiles: $mid"
jq -e '.events > 0 and .feed > 0' <<<"$mid" >/dev/null || no "mid-run: the live feed did not move: $mid"

# ---- at rest: the page against the API and the database --------------------------
sleep 4 # one poll of the page after the last event
now=$(js "$page_state")
# The colours as the page is meant to give them: a fixture waiting after a
# unit shows that unit's result.
want=$(api http://x/v1/probes | jq -c '[.probes[] | {serial, state, colour:
  (if .state == "programming" or .state == "verifying" then "green"
   elif .state == "waiting" then
     (if .last_result == "ok" then "green" elif .last_result == "failed" then "red" else "amber" end)
   elif .state == "connecting" or .state == "recovering" then "amber"
   elif .state == "quarantined" then "red" else "grey" end)}] | sort_by(.serial)')
got=$(jq -c '[.tiles[] | {serial, state, colour}] | sort_by(.serial)' <<<"$now")
[ "$got" = "$want" ] || no "tiles $got, probes $want"
for x in "$(p 4):quarantined:red" "$(p 5):gone:grey"; do
  IFS=: read -r s st c <<<"$x"
  jq -e --arg s "$s" --arg st "$st" --arg c "$c" \
    '.tiles[] | select(.serial == $s) | .state == $st and .colour == $c' <<<"$now" >/dev/null ||
    no "tile $s is not $st in $c: $(jq -c --arg s "$s" '.tiles[] | select(.serial == $s)' <<<"$now")"
done
jq -e --arg r "$reason" --arg s "$(p 4)" '.tiles[] | select(.serial == $s) | .reason == $r and .release' \
  <<<"$now" >/dev/null || no "the quarantined tile lacks its reason or Release button"
db_ok=$(sqlite3 "$db" "SELECT COUNT(*) FROM units WHERE job=$job AND result='ok'")
page_ok=$(jq --argjson j "$job" '.jobs[] | select(.id == $j) | .ok' <<<"$now")
[ "$page_ok" = "$db_ok" ] && [ "$db_ok" = 6 ] || no "the page shows $page_ok ok units, the database $db_ok"
jq -e '.events > 20 and .feed > 10 and .conn == "live"' <<<"$now" >/dev/null ||
  no "the live feed: $(jq -c '{events, feed, conn}' <<<"$now")"
log "page: $(jq -c '{tiles: [.tiles[] | "\(.state)/\(.colour)"], jobs, events, feed}' <<<"$now")"

# Release on the read-only TCP listener: refused, and the tile says why.
js 'document.querySelector(".tile[data-state=quarantined] button.release").click(); return "";' >/dev/null
err=""
for _ in $(seq 50); do
  err=$(js 'const e = document.querySelector(".tile[data-state=quarantined] .err"); return e ? e.textContent : "";')
  [ -n "$err" ] && break
  sleep 0.1
done
[[ $err == *401*unauthorized*token* ]] || no "Release on TCP without a token shows \"$err\""
[ "$(api "http://x/v1/probes/$(p 4)" | jq -r .state)" = quarantined ] || no "probe 4 was released over TCP"

# ---- the audit: a unit of probe 1 by its UID, as a link would open it -----------------
uid=$(sqlite3 "$db" "SELECT u.uid FROM units u WHERE u.probe='$(p 1)' AND u.job=$job
  AND EXISTS (SELECT 1 FROM recovery r WHERE r.unit = u.id) LIMIT 1")
[ -n "$uid" ] || { no "no unit on probe 1 has recovery steps"; uid=$(sqlite3 "$db" "SELECT uid FROM units LIMIT 1"); }
go "$base/#uid=$uid"
audit='return JSON.stringify({
  units: [...document.querySelectorAll("#audit-results .unit")].map(u => +u.dataset.unit),
  attempts: document.querySelectorAll("#audit-results .timeline li.end").length,
  steps: document.querySelectorAll("#audit-results .timeline li.step").length,
  hidden: document.getElementById("audit-view").hidden,
  status: document.getElementById("audit-status").textContent})'
for _ in $(seq 50); do
  a=$(js "$audit")
  jq -e '.units | length > 0' <<<"$a" >/dev/null && break
  sleep 0.1
done
want_units=$(sqlite3 "$db" "SELECT id FROM units WHERE uid='$uid' ORDER BY id DESC" | jq -sc .)
want_att=$(sqlite3 "$db" "SELECT COUNT(*) FROM attempts a JOIN units u ON u.id = a.unit WHERE u.uid='$uid'")
want_steps=$(sqlite3 "$db" "SELECT COUNT(*) FROM recovery r JOIN units u ON u.id = r.unit WHERE u.uid='$uid'")
log "audit of $uid: $(jq -c . <<<"$a")"
[ "$(jq -c .units <<<"$a")" = "$want_units" ] || no "audit lists units $(jq -c .units <<<"$a"), database $want_units"
[ "$(jq .attempts <<<"$a")" = "$want_att" ] || no "audit shows $(jq .attempts <<<"$a") attempts, database $want_att"
[ "$(jq .steps <<<"$a")" = "$want_steps" ] && [ "$want_steps" -gt 0 ] ||
  no "audit shows $(jq .steps <<<"$a") recovery steps, database $want_steps"
[ "$(jq .hidden <<<"$a")" = false ] || no "#uid= did not open the audit view"
[ -z "$shot" ] || wdc "$wd/session/$sid/screenshot" | jq -r .value | base64 -d >"${shot%.png}-audit.png"

kill -TERM $pid; wait $pid
exit $fail
EOF

"$sim" run "${args[@]}" --speed "${SPEED:-0}" --control "$dir/ctl" -- \
  bash "$dir/inner.sh" "$dir" "$fld" "$sim" "$cd_port" "${SHOT:+$(realpath -m "$SHOT")}"
rc=$?
[ $rc = 0 ] || { echo "--- daemon log"; tail -20 "$dir/daemon.log"; }
exit $rc
