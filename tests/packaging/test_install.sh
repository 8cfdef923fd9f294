#!/bin/sh
# `make install` into a DESTDIR with a PREFIX: the programs, the systemd unit for `kyc serve`
# (its ExecStart names the installed binary; hardened; verified by systemd-analyze when the
# machine has it) and the example environment file.
#
#   test_install.sh BUILD_DIR SOURCE_DIR
#
# It runs the install command of the Makefile's install target as `make -n` prints it, without
# the target's build step (the build tree is already built, and ctest must not rebuild it).
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
prefix=/opt/kyc-test

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmd=$(make -s -n -C "$src" install BUILD="$build" PREFIX="$prefix" DESTDIR="$stage" |
  grep -- 'cmake --install') || fail "make -n install prints no cmake --install"
sh -c "$cmd" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  fail "$cmd"
}

root=$stage$prefix
for bin in kyc cloudsim; do
  [ -x "$root/bin/$bin" ] || fail "$root/bin/$bin is not installed"
done
"$root/bin/kyc" serve --help >"$tmp/help" || fail "the installed kyc does not run"
grep -q -- '--db TARGET' "$tmp/help" || fail "kyc serve --help does not document --db TARGET"

unit=$root/lib/systemd/system/kyc.service
env=$root/share/doc/kyc/kyc.env.example
[ -f "$unit" ] || fail "no unit at $unit"
[ -f "$env" ] || fail "no example environment file at $env"
! grep -n '@[A-Z]*@' "$unit" || fail "placeholders left in the unit"
grep -qx "ExecStart=$prefix/bin/kyc serve \$KYC_ARGS" "$unit" || fail "ExecStart is not $prefix/bin/kyc"
grep -q "$prefix/share/doc/kyc/kyc.env.example" "$unit" || fail "the unit does not say where the example is"
for line in EnvironmentFile=/etc/kyc/kyc.env DynamicUser=yes User=kyc StateDirectory=kyc \
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet= \
  Restart=on-failure RestartPreventExitStatus=2 WantedBy=multi-user.target; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
for var in KYC_MASTER_KEY KYC_LISTEN KYC_PUBLIC_URL KYC_DB KYC_ARGS; do
  grep -q "^#*$var=" "$env" || fail "the example environment lacks $var"
done

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify checks that ExecStart exists: a copy points it into the staging directory.
  sed "s#^ExecStart=$prefix/bin/#ExecStart=$root/bin/#" "$unit" >"$tmp/kyc.service"
  systemd-analyze verify "$tmp/kyc.service" >"$tmp/verify.log" 2>&1 ||
    { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify"; }
  # verify exits 0 on unknown or misspelt keys and only warns: any word from it is a failure.
  [ ! -s "$tmp/verify.log" ] || { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify warned"; }
  # Exposure 0 (locked down) .. 10 (unprotected); the unit is at 1.2.
  systemd-analyze security --offline=yes --threshold=20 "$tmp/kyc.service" >"$tmp/security.log" 2>&1 ||
    { grep -v '✓' "$tmp/security.log" >&2; fail "systemd-analyze security: exposure above 2.0"; }
  echo "systemd-analyze verify and security: ok"
else
  echo "systemd-analyze not available: content checks only"
fi
echo "ok: installed under $stage$prefix"
