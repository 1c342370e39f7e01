#!/usr/bin/env bash
# Install the flashline .deb in a clean Debian 12 (bookworm) chroot and check
# that a station would come up: dependencies resolve from the archive, the
# maintainer scripts create the user, the directories and the stat override,
# the udev rule, unit, sysusers and tmpfiles files are in place,
# `systemd-analyze verify` accepts the installed unit, flashlined starts as
# user flashline, answers `flashline probes` on the default socket and
# drains on SIGTERM; then remove and purge.
#
#   deploy/check-deb.sh [DEB]     (default: build/deb/tests/deploy/deb/flashline_*.deb,
#                                  made by ctest -R deploy.deb or cpack -G DEB)
#
# Not a ctest test: it needs root, debootstrap and a Debian mirror, and takes
# minutes. Environment: MIRROR (default http://deb.debian.org/debian),
# CHECK_DEB_BASE (where the pristine chroot is cached between runs, default
# /var/tmp/flashline-bookworm-base; delete it to start from scratch).
# Exit: 0 all checks passed, 1 a check failed, 2 cannot run (not root, no
# debootstrap, mirror unreachable).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deb=${1:-}
if [ -z "$deb" ]; then
  deb=$(ls "$top"/build/*/tests/deploy/deb/flashline_*.deb 2>/dev/null | head -n1 || true)
fi
mirror=${MIRROR:-http://deb.debian.org/debian}
base=${CHECK_DEB_BASE:-/var/tmp/flashline-bookworm-base}

say() { printf '== %s\n' "$*"; }
die() { printf 'check-deb: %s\n' "$*" >&2; exit 2; }

[ -n "$deb" ] && [ -f "$deb" ] || die "no .deb given or found; build one: ctest -R deploy.deb"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "needs debootstrap: apt-get install debootstrap"

# The base system, made once: minbase plus what every Debian 12 station has
# (systemd, udev) and what a real install of the package exercises.
if [ ! -e "$base/.flashline-base-ok" ]; then
  say "debootstrap bookworm from $mirror into $base (once; cached)"
  rm -rf "$base"
  if ! debootstrap --variant=minbase --include=systemd,udev,ca-certificates bookworm "$base" \
    "$mirror" >/tmp/check-deb-debootstrap.log 2>&1; then
    tail -n 20 /tmp/check-deb-debootstrap.log >&2
    die "debootstrap failed (mirror $mirror unreachable?); log: /tmp/check-deb-debootstrap.log"
  fi
  touch "$base/.flashline-base-ok"
fi

root=$(mktemp -d /var/tmp/flashline-check-deb.XXXXXX)
cleanup() {
  for m in "$root/proc" "$root/sys" "$root/dev/pts" "$root/dev"; do
    mountpoint -q "$m" && umount -l "$m"
  done
  rm -rf "$root"
}
trap cleanup EXIT
say "fresh copy of the base in $root"
cp -a "$base/." "$root/"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As in any chroot: nothing may start services (our postinst starts none
# anyway: there is no /run/systemd/system here).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/flashline.deb"

inroot() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
fail=0
check() { # description, command...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

say "dpkg -i (dependencies missing on a bare system: expected to fail)"
inroot dpkg -i /tmp/flashline.deb || true
say "apt-get -f install (the dependencies from the archive, then configure)"
inroot apt-get update -qq
inroot apt-get -f install -y -q --no-install-recommends
check "package installed" sh -c "chroot '$root' dpkg-query -W -f='\${Status}' flashline | grep -qx 'install ok installed'"
check "libwebsockets-evlib-uv pulled in (dlopen'ed plugin)" \
  test -e "$root/usr/lib/x86_64-linux-gnu/libwebsockets-evlib_uv.so" -o \
  -n "$(ls "$root"/usr/lib/*/libwebsockets-evlib_uv.so 2>/dev/null)"

say "the user, the directories, the files"
pw=$(inroot getent passwd flashline || true)
echo "$pw"
check "user flashline exists" test -n "$pw"
check "user flashline is a system user" test "$(cut -d: -f3 <<<"$pw")" -lt 1000
check "home /var/lib/flashline, no login shell" \
  sh -c "echo '$pw' | grep -Eq ':/var/lib/flashline:/(usr/)?s?bin/(nologin|false)\$'"
check "group flashline is its primary group" \
  test "$(inroot getent group flashline | cut -d: -f3)" = "$(cut -d: -f4 <<<"$pw")"
check "/var/lib/flashline 750 flashline:flashline" \
  test "$(inroot stat -c '%a %U %G' /var/lib/flashline)" = "750 flashline flashline"
check "/etc/flashline/flashline.conf 640 root:flashline (stat override)" \
  test "$(inroot stat -c '%a %U %G' /etc/flashline/flashline.conf)" = "640 root flashline"
check "conffile registered" sh -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' flashline | grep -q /etc/flashline/flashline.conf"
for f in /lib/udev/rules.d/70-flashline-stlink.rules /lib/systemd/system/flashlined.service \
  /usr/lib/sysusers.d/flashline.conf /usr/lib/tmpfiles.d/flashline.conf /usr/sbin/flashlined \
  /usr/bin/flashline; do
  check "$f installed" test -e "$root$f"
done
check "no flashline-sim in the package" test ! -e "$root/usr/bin/flashline-sim"
check "unit not enabled on first install" \
  test ! -L "$root/etc/systemd/system/multi-user.target.wants/flashlined.service"
check "every shared library resolves" sh -c "! chroot '$root' ldd /usr/sbin/flashlined /usr/bin/flashline | grep 'not found'"
# udevadm verify is newer than bookworm's systemd 252; udevadm test loads
# every rule file and reports a bad line as "FILE:LINE: ...".
check "udev parses the rule (udevadm test)" \
  sh -c "! chroot '$root' udevadm test /sys/class/mem/null 2>&1 | grep '70-flashline-stlink.rules:'"

say "systemd-analyze verify in the chroot"
out=$(inroot systemd-analyze verify --man=no /lib/systemd/system/flashlined.service 2>&1) && rc=0 || rc=$?
echo "$out"
check "systemd-analyze verify flashlined.service" sh -c "[ $rc = 0 ] && ! echo '$out' | grep -q flashlined"

say "flashlined as user flashline, default paths (as the unit runs it)"
inroot install -d -m 0750 -o flashline -g flashline /run/flashline
inroot runuser -u flashline -- sh -c 'flashlined --config /etc/flashline/flashline.conf >/tmp/flashlined.log 2>&1 & echo $! >/tmp/flashlined.pid'
for _ in $(seq 50); do [ -S "$root/run/flashline/api.sock" ] && break; sleep 0.1; done
check "api.sock 0660 flashline:flashline" \
  test "$(inroot stat -c '%a %U %G' /run/flashline/api.sock 2>/dev/null)" = "660 flashline flashline"
check "database created" test -s "$root/var/lib/flashline/flashline.db"
# No USB in the chroot: the daemon answers that it sees no probe (exit 3,
# "no probe"), which proves the client reached it through the default socket.
probes=$(chroot "$root" runuser -u flashline -- flashline probes 2>&1) && prc=0 || prc=$?
echo "  $probes (exit $prc)"
check "flashline probes answers through the daemon (as user flashline)" \
  sh -c "[ $prc = 0 ] || { [ $prc = 3 ] && echo '$probes' | grep -q flashlined; }"
pid=$(cat "$root/tmp/flashlined.pid")
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "flashlined drained and stopped on SIGTERM" sh -c "! kill -0 $pid 2>/dev/null && grep -q stopped '$root/tmp/flashlined.log'"
sed 's/^/  log: /' "$root/tmp/flashlined.log"

say "remove, purge"
inroot dpkg -r flashline
check "removed: config kept" test -e "$root/etc/flashline/flashline.conf"
inroot dpkg -P flashline
check "purged: config gone" test ! -e "$root/etc/flashline/flashline.conf"
check "purged: stat override gone" sh -c "! chroot '$root' dpkg-statoverride --list /etc/flashline/flashline.conf"
check "purged: the audit log is kept" test -s "$root/var/lib/flashline/flashline.db"

if [ $fail = 0 ]; then say "PASS: $(basename "$deb") installs and works in a clean bookworm chroot"; else say "FAIL"; fi
exit $fail
