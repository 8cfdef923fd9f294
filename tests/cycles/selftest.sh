#!/bin/sh
# The cycle check must find a planted cycle and must not invent one (fixture/): a check that
# cannot fail proves nothing. Usage: selftest.sh PYTHON3 CHECK_CYCLES FIXTURE_DIR
python=$1 check=$2 fixture=$3
fail() { echo "selftest: $*" >&2; exit 1; }

out=$("$python" "$check" "$fixture" knot) && fail "knot/ has a cycle but the check passed: $out"
[ $? -eq 1 ] || fail "knot/: exit code is not 1"
echo "$out" | grep -q 'knot/one.c -> knot/two.c  uses two_put' || fail "knot/ edge missing: $out"
echo "$out" | grep -q 'knot/two.c -> knot/one.c  uses one_get' || fail "knot/ edge missing: $out"

out=$("$python" "$check" "$fixture" clean) || fail "clean/ has no cycle but the check failed: $out"
echo "selftest: ok"
