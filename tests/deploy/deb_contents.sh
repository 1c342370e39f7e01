#!/usr/bin/env bash
# deploy.deb: build the .deb with CPack from this build tree and check it:
# the files a station needs are in it (and the simulator is not), the
# control data (name, Depends filled in by dpkg-shlibdeps plus the dlopen'ed
# libwebsockets-evlib-uv, conffiles, maintainer scripts) is right.
#
#   deb_contents.sh BUILD_DIR OUT_DIR
# Exit 77 (skipped) without dpkg-shlibdeps (package dpkg-dev, deploy/setup.sh).
set -euo pipefail
build=$1
out=$2

for t in cpack dpkg-deb dpkg-shlibdeps; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed (apt-get install dpkg-dev)"; exit 77; }
done
rm -rf "$out"
mkdir -p "$out"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=("$out"/flashline_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || { ls -l "$out"; echo "FAIL: not one flashline_*.deb"; exit 1; }
deb=${debs[0]}
echo "== $deb"

fail=0
contents=$(dpkg-deb -c "$deb")
echo "$contents"
# path, mode (as tar lists it)
want=(
  "./usr/bin/flashline -rwxr-xr-x"
  "./usr/sbin/flashlined -rwxr-xr-x"
  "./lib/systemd/system/flashlined.service -rw-r--r--"
  "./lib/udev/rules.d/70-flashline-stlink.rules -rw-r--r--"
  "./usr/lib/sysusers.d/flashline.conf -rw-r--r--"
  "./usr/lib/tmpfiles.d/flashline.conf -rw-r--r--"
  "./etc/flashline/flashline.conf -rw-r--r--"
  "./usr/share/doc/flashline/copyright -rw-r--r--"
  "./usr/share/doc/flashline/flashline.conf.sample -rw-r--r--"
)
for w in "${want[@]}"; do
  path=${w% *}
  mode=${w##* }
  line=$(awk -v p="$path" '$6 == p' <<<"$contents")
  if [ -z "$line" ]; then
    echo "FAIL: $path is not in the package"
    fail=1
  elif [ "$(awk '{ print $1 }' <<<"$line")" != "$mode" ] ||
    [ "$(awk '{ print $2 }' <<<"$line")" != root/root ]; then
    echo "FAIL: $path is not $mode root/root: $line"
    fail=1
  fi
done
# Test tools stay out: the simulator, its preload library, test programs.
if grep -E 'flashline-sim|usbfast|/lib/flashline/|test_' <<<"$contents"; then
  echo "FAIL: test tools in the package"
  fail=1
fi

info=$(dpkg-deb -I "$deb")
echo "$info"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = flashline ] || { echo "FAIL: Package is not flashline"; fail=1; }
[ -n "$(field Maintainer)" ] || { echo "FAIL: no Maintainer"; fail=1; }
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || { echo "FAIL: Architecture"; fail=1; }
depends=$(field Depends)
echo "Depends: $depends"
# dpkg-shlibdeps worked: the libraries the binaries link are there with
# versions; and the run-time plugin dpkg-shlibdeps cannot see.
for d in libc6 libuv1 libsqlite3-0 libjansson4 libusb-1.0-0 libwebsockets17 libinih1 \
  libcurl4 libsystemd0 libwebsockets-evlib-uv; do
  grep -qE "(^|, )$d( \(|,|$)" <<<"$depends" || { echo "FAIL: Depends lacks $d"; fail=1; }
done
grep -qE 'libc6 \(>= ' <<<"$depends" || { echo "FAIL: Depends has no versions (shlibdeps off?)"; fail=1; }

ctl=$(mktemp -d)
trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$deb" "$ctl"
for s in postinst prerm postrm; do
  [ -x "$ctl/$s" ] || { echo "FAIL: no executable $s"; fail=1; continue; }
  sh -n "$ctl/$s" || { echo "FAIL: $s is not valid sh"; fail=1; }
done
[ "$(cat "$ctl/conffiles" 2>/dev/null)" = /etc/flashline/flashline.conf ] ||
  { echo "FAIL: conffiles is not /etc/flashline/flashline.conf"; fail=1; }
# The first install must not start (or enable) the daemon: see postinst.
if grep -E '^[[:space:]]*(systemctl|deb-systemd-invoke)( +-[-a-z]+)* +(start|enable|restart)' \
  "$ctl/postinst"; then
  echo "FAIL: postinst starts the service"
  fail=1
fi

[ $fail = 0 ] && echo "PASS: $(basename "$deb")"
exit $fail
