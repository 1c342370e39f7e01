#!/usr/bin/env bash
# deploy.sysusers_tmpfiles: the sysusers.d and tmpfiles.d files, applied by
# systemd's own tools to an empty root directory, give user and group
# flashline and /var/lib/flashline 0750 flashline:flashline.
#
#   sysusers_tmpfiles.sh SYSUSERS_CONF TMPFILES_CONF
# Exit 77 (skipped) without the tools, or when not root (tmpfiles chowns).
set -euo pipefail
sysusers=$1
tmpfiles=$2
for t in systemd-sysusers systemd-tmpfiles; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed (apt-get install systemd)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (systemd-tmpfiles chowns)"; exit 77; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc" "$root/var/lib" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp "$sysusers" "$root/usr/lib/sysusers.d/flashline.conf"
cp "$tmpfiles" "$root/usr/lib/tmpfiles.d/flashline.conf"
systemd-sysusers --root="$root"
grep -E '^flashline:' "$root/etc/passwd" "$root/etc/group"
uid=$(awk -F: '$1 == "flashline" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "flashline" { print $3 }' "$root/etc/group")
pgid=$(awk -F: '$1 == "flashline" { print $4 }' "$root/etc/passwd")
home=$(awk -F: '$1 == "flashline" { print $6 }' "$root/etc/passwd")
[ -n "$uid" ] && [ -n "$gid" ] || { echo "FAIL: no user or group flashline"; exit 1; }
[ "$uid" -lt 1000 ] || { echo "FAIL: uid $uid is not a system uid"; exit 1; }
[ "$pgid" = "$gid" ] || { echo "FAIL: primary group $pgid is not flashline ($gid)"; exit 1; }
[ "$home" = /var/lib/flashline ] || { echo "FAIL: home is $home"; exit 1; }

systemd-tmpfiles --root="$root" --create
got=$(stat -c '%a %u %g' "$root/var/lib/flashline")
[ "$got" = "750 $uid $gid" ] || { echo "FAIL: /var/lib/flashline is $got, want 750 $uid $gid"; exit 1; }
[ ! -e "$root/run/flashline" ] || { echo "FAIL: /run/flashline is the unit's RuntimeDirectory"; exit 1; }
echo "PASS: user flashline ($uid:$gid), /var/lib/flashline 0750"
