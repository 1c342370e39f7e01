#!/usr/bin/env bash
# bench/fuzz.sh: every libFuzzer harness (tests/fuzz and tests/jobs) for
# SECONDS each, from a scratch copy of its seed corpus, two at a time (the
# machine's cores are shared; FUZZ_JOBS=1 for one after another). Prints per
# harness: executions, executions per second, libFuzzer's coverage (cov:
# edges, ft: features) from its last status line, the corpus it ended with,
# and the crashes found. libFuzzer stops at the first crash, leak, timeout
# or out-of-memory: "crashes" counts those artifacts (0 or 1), and the
# artifact is kept under the printed output directory for a look with
#   BUILD/tests/.../fuzz_NAME ARTIFACT
# A benchmark, not a test: ctest runs the harnesses for 5 s each only.
#
# usage: bench/fuzz.sh SECONDS [NAME...]   (NAME: query time serial_patch
#                                           ihex srec elf recipe; default all)
# env:   BUILD (default build/default), FUZZ_JOBS (default 2),
#        FUZZ_OUT (default a new directory under /tmp)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '' | *[!0-9]*) echo "bench/fuzz.sh: SECONDS must be a whole number of seconds; see bench/fuzz.sh --help" >&2; exit 2 ;;
esac
secs=$1
shift
build=${BUILD:-$here/build/default}
par=${FUZZ_JOBS:-2}
all=(query time serial_patch ihex srec elf recipe)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
out=${FUZZ_OUT:-$(mktemp -d /tmp/flashline-fuzz.XXXXXX)}
mkdir -p "$out"

# NAME -> "executable seed-dir max-len"
where() {
  case $1 in
    query | time | serial_patch | recipe)
      echo "$build/tests/fuzz/fuzz_$1 $here/tests/fuzz/corpus/$1 4096" ;;
    ihex | srec | elf)
      echo "$build/tests/jobs/fuzz_$1 $here/tests/jobs/corpus/$1 16384" ;;
    *) return 1 ;;
  esac
}

for n in "${names[@]}"; do
  if ! w=$(where "$n"); then
    echo "bench/fuzz.sh: no harness '$n'; the harnesses are ${all[*]}" >&2
    exit 2
  fi
  read -r exe _ _ <<<"$w"
  if [ ! -x "$exe" ]; then
    echo "bench/fuzz.sh: $exe is not built; build first (cmake --build --preset default; the" \
      "harnesses need clang with libFuzzer: FLASHLINE_FUZZ)" >&2
    exit 2
  fi
done

run_one() { # NAME
  local n=$1 exe seeds maxlen
  read -r exe seeds maxlen <<<"$(where "$n")"
  local work=$out/$n.corpus
  rm -rf "$work" "$out/$n"-crash-* "$out/$n"-leak-* "$out/$n"-timeout-* "$out/$n"-oom-*
  mkdir -p "$work"
  cp -r "$seeds"/. "$work"/ 2>/dev/null
  rm -f "$work/README.txt"
  # The ELF seed is the reference firmware the build strips into its own
  # scratch corpus (tests/jobs/CMakeLists.txt).
  [ "$n" = elf ] && cp "$build/tests/jobs/fuzz_elf_corpus/fw.elf" "$work/" 2>/dev/null
  "$exe" -max_total_time="$secs" -print_final_stats=1 -max_len="$maxlen" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$out/$n-" "$work" >"$out/$n.log" 2>&1
  echo $? >"$out/$n.rc"
}

for n in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n; done
  echo "fuzzing $n for ${secs} s" >&2
  run_one "$n" &
done
wait

printf '%-13s %6s %11s %9s %6s %7s %7s %8s\n' harness secs execs exec/s cov ft corpus crashes
for n in "${names[@]}"; do
  log=$out/$n.log
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  # The last status line ("#N DONE cov: .. ft: .. corp: n/size ...").
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  crashes=$(find "$out" -maxdepth 1 -name "$n-*" \( -name "$n-crash-*" -o -name "$n-leak-*" \
    -o -name "$n-timeout-*" -o -name "$n-oom-*" \) | wc -l)
  printf '%-13s %6s %11s %9s %6s %7s %7s %8s\n' "$n" "$secs" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
  [ "$(cat "$out/$n.rc")" = 0 ] || [ "$crashes" -gt 0 ] ||
    echo "  $n: libFuzzer exited $(cat "$out/$n.rc") without an artifact; see $log"
done
echo "logs, corpora and artifacts: $out"
