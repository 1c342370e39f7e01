#!/usr/bin/env bash
# Every command line parser answers --help and refuses unknown options:
# `flashline --help` lists every command; `flashline COMMAND --help` (and -h,
# and `flashline help COMMAND`) prints that command's own usage on stdout
# and exits 0; an unknown option exits 2 naming it and pointing at
# `flashline COMMAND --help`, before any daemon is asked. The same for
# flashline-sim run/ctl. The command list is written out here, not read
# from the program, so a command that loses its help is noticed.
# usage: help.sh FLASHLINE SIM
set -uo pipefail
fl=$1 sim=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
no() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run WANT_RC CMD...: stdout to $dir/out, stderr to $dir/err; checks the status
run() {
  local want=$1; shift
  local rc=0
  "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [ "$rc" = "$want" ] || { no "'$*' exit $rc, want $want: $(head -c 300 "$dir/err")"; return 1; }
}
commands="submit jobs job pause resume cancel probes quarantine release reset units unit export
          events watch flash chips"
# A daemon that does not exist: nothing here may reach one.
export FLASHLINE_SOCKET=$dir/none.sock

for h in --help -h; do
  if run 0 "$fl" $h; then
    [ -s "$dir/err" ] && no "flashline $h wrote to stderr"
    grep -q '^usage: flashline ' "$dir/out" || no "flashline $h: no usage line"
    for c in $commands; do
      grep -q "^  $c " "$dir/out" || no "flashline $h does not list $c"
    done
  fi
done

for c in $commands; do
  for h in --help -h; do
    if run 0 "$fl" "$c" $h; then
      [ -s "$dir/err" ] && no "flashline $c $h wrote to stderr: $(cat "$dir/err")"
      head -1 "$dir/out" | grep -q "^usage: flashline $c\b" ||
        no "flashline $c $h: first line is not its usage: $(head -1 "$dir/out")"
    fi
  done
  # the same text as `help COMMAND`, and after an operand too
  cp "$dir/out" "$dir/want"
  run 0 "$fl" help "$c" && { cmp -s "$dir/out" "$dir/want" || no "flashline help $c differs from $c -h"; }
  run 0 "$fl" "$c" x --help && { cmp -s "$dir/out" "$dir/want" || no "flashline $c x --help differs"; }

  if run 2 "$fl" "$c" --no-such-option; then
    grep -q "unknown option '--no-such-option'" "$dir/err" || no "flashline $c: option not named: $(cat "$dir/err")"
    grep -q "flashline $c --help" "$dir/err" || no "flashline $c: no pointer to its --help: $(cat "$dir/err")"
    [ -s "$dir/out" ] && no "flashline $c --no-such-option wrote to stdout"
    [ "$(wc -l <"$dir/err")" = 1 ] || no "flashline $c --no-such-option: not one line: $(cat "$dir/err")"
  fi
  run 2 "$fl" "$c" --no-such-option=1 && { grep -q "unknown option '--no-such-option'" "$dir/err" ||
    no "flashline $c --no-such-option=1: $(cat "$dir/err")"; }
  run 2 "$fl" "$c" -Z && { grep -q "unknown option '-Z'" "$dir/err" || no "flashline $c -Z: $(cat "$dir/err")"; }
  # the global options are still understood after the command
  run 0 "$fl" "$c" --json --socket "$dir/x" --help || true
done

# Options of a command keep their meaning: a flag given a value, an option
# without its value, an ambiguous prefix.
run 2 "$fl" submit fw.bin --chip x --no-run=1 && { grep -q -- "--no-run takes no value" "$dir/err" || no "--no-run=1: $(cat "$dir/err")"; }
run 2 "$fl" submit fw.bin --chip && { grep -q -- "--chip needs a value" "$dir/err" || no "--chip: $(cat "$dir/err")"; }
run 2 "$fl" submit fw.bin --co 3 && { grep -q "ambiguous option '--co'" "$dir/err" || no "--co: $(cat "$dir/err")"; }
run 2 "$fl" flash --verify maybe fw.bin && { grep -q -- "--verify 'maybe'" "$dir/err" || no "flash --verify maybe: $(cat "$dir/err")"; }

# Before the command.
run 2 "$fl" --no-such-option jobs && { grep -q "unknown option '--no-such-option'; see flashline --help" "$dir/err" ||
  no "flashline --no-such-option: $(cat "$dir/err")"; }
run 2 "$fl" no-such-command && { grep -q "unknown command 'no-such-command'" "$dir/err" || no "unknown command: $(cat "$dir/err")"; }
run 2 "$fl" help no-such-command || true
run 2 "$fl" || true

# flashline chips: the table, as text and JSON, every line once.
run 0 "$fl" chips && { for fam in f0 f1 f2 f3 f4 f7 l0 l4; do
    grep -q "^$fam " "$dir/out" || no "flashline chips: no $fam row"; done
  grep -q "stm32f407" "$dir/out" || no "flashline chips: no stm32f407"; }
run 0 "$fl" chips --json && { jq -e 'length >= 30 and any(.[]; .dev_id == "0x419" and .banks == 2)' \
  "$dir/out" >/dev/null || no "flashline chips --json: $(head -c 300 "$dir/out")"; }
run 2 "$fl" chips --bogus && { grep -q "unknown option '--bogus'" "$dir/err" || no "chips --bogus: $(cat "$dir/err")"; }
run 2 "$fl" submit x.bin --family z9 && { grep -q "family is one of f0, f1" "$dir/err" ||
  no "submit --family z9: $(cat "$dir/err")"; }

# flashline-sim
for args in "--help" "-h" "run --help" "run -h" "ctl --help"; do
  # shellcheck disable=SC2086
  run 0 "$sim" $args && { grep -q '^usage: flashline-sim run' "$dir/out" || no "flashline-sim $args: no usage"; }
done
run 2 "$sim" run --no-such-option -- true && { grep -q "unknown option '--no-such-option'; see flashline-sim --help" "$dir/err" ||
  no "flashline-sim run --no-such-option: $(cat "$dir/err")"; }
run 2 "$sim" ctl --no-such-option x && { grep -q "unknown option '--no-such-option'" "$dir/err" ||
  no "flashline-sim ctl --no-such-option: $(cat "$dir/err")"; }
run 2 "$sim" run stray -- true && { grep -q "unexpected argument 'stray'" "$dir/err" || no "flashline-sim run stray: $(cat "$dir/err")"; }

[ $fails = 0 ] && echo "help: all ok"
exit $((fails > 0))
