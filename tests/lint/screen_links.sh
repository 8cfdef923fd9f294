#!/bin/sh
# The screening engine links capp_base only, never capp's HTTP server (libmicrohttpd).
#   $1  kyc_screen's link libraries as CMake knows them (space-separated)
#   $2  the engine's CLI (kyc-screen)   $3  the kyc binary, the control: it does use the server
# The link line is checked because the linker drops a library nothing uses (--as-needed), so the
# binary alone could hide a dependency that is declared; the binary is checked for what it loads.
libs=$1 screen=$2 control=$3
case " $libs " in
*" capp "* | *MHD* | *microhttpd*)
    echo "kyc_screen links '$libs': it must link capp_base, not capp (the HTTP server)" >&2
    exit 1
    ;;
esac
ldd "$control" | grep -q libmicrohttpd || {
    echo "$control does not load libmicrohttpd: this check cannot see the library" >&2
    exit 1
}
if ldd "$screen" | grep libmicrohttpd; then
    echo "$screen loads the HTTP server (above): kyc_screen must link capp_base only" >&2
    exit 1
fi
exit 0
