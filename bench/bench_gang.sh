#!/usr/bin/env bash
# Gang scaling: the same batch of units programmed by flashlined through one
# probe and through eight, on the virtual line at --speed 1 (datasheet
# timing, wall clock), with an operator swapping a fresh board onto each
# fixture as soon as its unit is done. Prints seconds per batch, the
# speed-up, and the daemon's own CPU time per unit (user + system, from
# /proc). A benchmark, not a test: ctest does not run it.
#
# usage: bench/bench_gang.sh BUILD_DIR [UNITS] [IMAGE_KIB] [CHIP]
set -euo pipefail
build=${1:-build/default} units=${2:-32} kib=${3:-16} chip=${4:-stm32f103rb}
sim=$build/sim/launcher/flashline-sim fld=$build/daemon/flashlined
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
head -c $((kib * 1024)) /dev/urandom >"$dir/image.bin"

cat >"$dir/run.sh" <<'EOF'
set -euo pipefail
dir=$1 sim=$2 fld=$3 units=$4 chip=$5 n=$6
sock=$dir/api-$n.sock
api() { curl -sS --unix-socket "$sock" "$@"; }
"$fld" --socket "$sock" --db "$dir/gang-$n.db" 2>"$dir/daemon-$n.log" &
pid=$!
for _ in $(seq 100); do api http://x/v1/probes >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do [ "$(api http://x/v1/probes | jq '.probes | length')" = "$n" ] && break; sleep 0.1; done
sha=$(api -X POST --data-binary @"$dir/image.bin" "http://x/v1/images?format=bin" | jq -r .sha256)
t0=$(date +%s.%N)
api -X POST -d "{\"image\":\"$sha\",\"chip\":\"$chip\",\"count\":$units}" http://x/v1/jobs >/dev/null
declare -A seen
swaps=()
while :; do
  pj=$(api http://x/v1/probes)
  while IFS=$'\t' read -r ser at res; do
    [ "$at" != null ] && [ "${seen[$ser]:-}" != "$at" ] || continue
    seen[$ser]=$at
    # Eight operators, one per fixture: the swaps do not wait for each other.
    if [ "$res" = ok ] || [ "$res" = failed ]; then
      "$sim" ctl --control "$dir/ctl-$n" swap-board "$ser" >/dev/null &
      swaps+=($!)
    fi
  done < <(jq -r '.probes[] | [.serial, .last_at, .last_result] | @tsv' <<<"$pj")
  [ ${#swaps[@]} = 0 ] || wait "${swaps[@]}"
  swaps=()
  [ "$(api http://x/v1/jobs | jq -r '.jobs[0].state')" = done ] && break
  sleep 0.05
done
t1=$(date +%s.%N)
ok=$(api http://x/v1/jobs | jq -r '.jobs[0].ok')
read -r ut st < <(awk '{print $14, $15}' /proc/$pid/stat)
tck=$(getconf CLK_TCK)
kill -TERM $pid; wait $pid || true
awk -v n="$n" -v u="$ok" -v t0="$t0" -v t1="$t1" -v ut="$ut" -v st="$st" -v tck="$tck" \
  'BEGIN { printf "%d %d %.2f %.1f\n", n, u, t1 - t0, (ut + st) * 1000 / tck / u }' >"$dir/result-$n"
EOF

printf '%-7s %6s %9s %10s %9s %18s\n' probes units seconds units/min speed-up "daemon CPU ms/unit"
base=
for n in 1 8; do
  args=()
  for i in $(seq "$n"); do args+=(--probe "v2-1:$chip:$(printf '0670FF0000000000000%05X' "$i")"); done
  "$sim" run --speed 1 "${args[@]}" --control "$dir/ctl-$n" -- \
    bash "$dir/run.sh" "$dir" "$sim" "$fld" "$units" "$chip" "$n"
  read -r p u secs cpu <"$dir/result-$n"
  [ -n "$base" ] || base=$secs
  awk -v p="$p" -v u="$u" -v s="$secs" -v b="$base" -v c="$cpu" \
    'BEGIN { printf "%-7d %6d %9.2f %10.1f %8.2fx %18.1f\n", p, u, s, u * 60 / s, b / s, c }'
done
echo "(batch of $units units, $kib KiB image, $chip, --speed 1; boards swapped in parallel, polled every 50 ms)"
