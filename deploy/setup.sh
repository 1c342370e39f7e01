#!/usr/bin/env bash
# Flashline set-up for a fresh Debian 12 machine: installs every package the
# project needs to build, test and run, then configures and builds.
#
#   deploy/setup.sh demo    set up, build, and run the demo on the virtual line
#   deploy/setup.sh test    set up, build (default and asan), run every test
#   deploy/setup.sh build   set up and build the default preset only
#
# Idempotent: run it again at any time. Needs root, or sudo for apt-get.
set -euo pipefail

mode=${1:-build}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

packages=(
  build-essential cmake pkg-config git
  gcc-arm-none-eabi binutils-arm-none-eabi
  libunicorn-dev libcmocka-dev
  libumockdev-dev umockdev libglib2.0-dev libusb-1.0-0-dev
  stlink-tools openocd
  zlib1g-dev libjansson-dev
  libelf-dev libssl-dev
  libuv1-dev libsqlite3-dev sqlite3 libwebsockets-dev libwebsockets-evlib-uv
  libcurl4-openssl-dev libinih-dev libsystemd-dev curl jq tmux clang libclang-rt-14-dev
  libncurses-dev file
  chromium chromium-driver
  systemd dpkg-dev
  prometheus # promtool, for tests/daemon/metrics.sh (GET /metrics)
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup.sh: need root (or sudo) to install packages: ${packages[*]}" >&2
    exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = true ] && werror=ON

build() {
  cmake --preset "$1" -DFLASHLINE_WERROR="$werror" >/dev/null
  cmake --build --preset "$1" -j "$jobs"
}

case "$mode" in
build)
  build default
  ;;
test)
  build default
  ctest --preset default -j "$jobs"
  build asan
  ASAN_OPTIONS=detect_leaks=1 ctest --preset asan -j "$jobs"
  # The threaded parts (the daemon's loop, workers and hotplug thread, the
  # store, the HTTP transport, the client) under ThreadSanitizer; see
  # tests/tsan.supp for what is exempt and why. chaos_kill (20 kills, 120
  # units: the audit's data, not its threads) runs in the other two builds
  # only, to keep CI inside its time; so do line_e2e, family_e2e and
  # adaptive_recovery: under TSan the daemon is slow enough that a running
  # watchdog on a virtual board (the sim counts the host's think time) reset
  # it mid-programming once and a good board was rejected, a timing effect
  # of the instrumented host, not a race (the daemon's threads still run
  # under TSan in metrics, continuous, db_full and the API tests).
  build tsan
  TSAN_OPTIONS="suppressions=$top/tests/tsan.supp" \
    ctest --preset tsan -j "$jobs" -R '^(daemon|schema|jobs\.test_unit|cli\.test_client)' \
      -E '^daemon\.(chaos_kill|line_e2e|family_e2e|adaptive_recovery)$'
  ;;
demo)
  build default
  sim=build/default/sim/launcher/flashline-sim
  echo
  echo "== Virtual boards: real Thumb code on four virtual STM32s (self-check) =="
  ctest --preset default -R '^sim\.'
  echo
  echo "== Virtual board speed (bench/bench_board) =="
  build/default/bench/bench_board 0.5
  echo
  echo "== A virtual line of four ST-LINKs, seen by Debian's unmodified st-info =="
  "$sim" run --probe v2:stm32f103rb --probe v2-1:stm32f446re --probe v3:stm32l476rg \
    --probe v2:stm32l053r8 -- st-info --probe
  echo
  echo "== flashline flash, one probe without the daemon, through a probe that fails every other loader run (stlink #607) =="
  tmp=$(mktemp -d)
  head -c 40000 /dev/urandom >"$tmp/image.bin"
  ser=0670FF555654857567033520
  "$sim" run --probe "v2-1:stm32f446re:$ser" --control "$tmp/ctl" -- sh -c "
    $sim ctl --control $tmp/ctl loader-fail $ser alternate &&
    build/default/cli/flashline flash $tmp/image.bin &&
    st-flash read $tmp/back.bin 0x08000000 40000 >/dev/null 2>&1 &&
    cmp $tmp/image.bin $tmp/back.bin && echo 'st-flash reads back the same image'"
  echo
  echo "== A production run: 8 probes, flashlined, four jobs, fresh boards, faults =="
  bash deploy/demo_line.sh build/default 6
  rm -rf "$tmp"
  ;;
*)
  echo "usage: deploy/setup.sh demo|test|build" >&2
  exit 2
  ;;
esac
