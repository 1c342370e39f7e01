#!/usr/bin/env bash
# The demo's production run: a virtual line of 8 ST-LINKs (V2, V2-1, V3) on
# boards of all four families, flashlined, a job per family submitted with
# `flashline submit`, and an operator who puts a fresh board on each fixture
# when its unit is done. Two probes fail every other loader run and one
# board family runs firmware with interrupts: the daemon recovers alone.
# Ends with the jobs, some units and one unit's audit record.
#
# usage: deploy/demo_line.sh BUILD_DIR [UNITS_PER_JOB]
set -euo pipefail
build=$1 per_job=${2:-6}
sim=$build/sim/launcher/flashline-sim fld=$build/daemon/flashlined fl=$build/cli/flashline
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

p() { printf '0670FF00000000000000%04X' "$1"; }
cat >"$dir/run.sh" <<'EOF'
set -euo pipefail
dir=$1 sim=$2 fld=$3 fl=$4 per_job=$5
export FLASHLINE_SOCKET=$dir/api.sock
p() { printf '0670FF00000000000000%04X' "$1"; }
ctl() { "$sim" ctl --control "$dir/ctl" "$@"; }
"$fld" --socket "$FLASHLINE_SOCKET" --db "$dir/flashline.db" 2>"$dir/daemon.log" &
for _ in $(seq 100); do "$fl" jobs >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1.5 # the first USB scan
echo "== flashline probes (from the daemon) =="
"$fl" probes
ctl loader-fail "$(p 1)" alternate >/dev/null
ctl loader-fail "$(p 5)" alternate >/dev/null
ctl fault "$(p 3)" firmware >/dev/null
echo
echo "== flashline submit: one job per family, each with its own serial series (1000, 1500, ...)"
n=1
for chip in stm32f103rb stm32f446re stm32l053r8 stm32l476rg; do
  head -c 8192 /dev/urandom >"$dir/$chip.bin"
  probes="$(p $n),$(p $((n + 1)))"
  id=$("$fl" submit "$dir/$chip.bin" --chip "$chip" --count "$per_job" --probes "$probes" \
    --serial "0x08001000:u32le:$((n * 500 + 500))" --series "demo-$chip" --name "demo $chip")
  echo "job $id: $per_job x $chip on probes $probes"
  n=$((n + 2))
done
echo
echo "== the line runs; the operator swaps a fresh board onto each finished fixture =="
declare -A seen
while :; do
  while IFS=$'\t' read -r ser at res; do
    [ "$at" != null ] && [ "${seen[$ser]:-}" != "$at" ] || continue
    seen[$ser]=$at
    if [ "$res" = ok ] || [ "$res" = failed ]; then
      if [ "$ser" = "$(p 3)" ]; then
        ctl swap-board "$ser" --fault firmware >/dev/null
      else
        ctl swap-board "$ser" >/dev/null
      fi
    fi
  done < <("$fl" --json probes | jq -r '.probes[] | [.serial, .last_at, .last_result] | @tsv')
  left=$("$fl" --json jobs | jq '[.jobs[] | select(.state != "done")] | length')
  [ "$left" = 0 ] && break
  sleep 0.2
done
"$fl" jobs
echo
echo "== flashline units --limit 8 =="
"$fl" units --limit 8
uid=$(sqlite3 "$dir/flashline.db" "SELECT u.uid FROM units u JOIN recovery r ON r.unit = u.id
      WHERE u.result = 'ok' ORDER BY u.id LIMIT 1")
if [ -n "$uid" ]; then
  echo
  echo "== flashline unit $uid: a unit whose loader failed, with its recovery =="
  "$fl" unit "$uid"
fi
echo; echo "== probes after the jobs =="; sleep 1; "$fl" probes
kill -TERM %1 && wait %1
EOF
args=()
kinds=(v2 v2-1 v3 v2 v2-1 v3 v2 v3)
chips=(stm32f103rb stm32f103rb stm32f446re stm32f446re stm32l053r8 stm32l053r8 stm32l476rg stm32l476rg)
for i in 0 1 2 3 4 5 6 7; do args+=(--probe "${kinds[$i]}:${chips[$i]}:$(p $((i + 1)))"); done
"$sim" run "${args[@]}" --control "$dir/ctl" -- bash "$dir/run.sh" "$dir" "$sim" "$fld" "$fl" "$per_job"
