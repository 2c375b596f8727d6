#!/bin/sh
# How the modules here were built (Debian 12, linux-headers-6.1.0-50-amd64, gcc-12):
#   sh build.sh /usr/src/linux-headers-6.1.0-50-amd64
# 1. The sources as they are: modpost's own verdicts go to modpost.txt (it stops the build).
# 2. The same sources with modpost told to go on (KBUILD_MODPOST_WARN=1: unresolved symbols
#    warn; KBUILD_NSDEPS=1: missing namespace imports warn), for .ko files the loader checks
#    can read. modpost has no switch for the GPL-only rule, so gpl_proprietary.ko is built
#    with MODULE_LICENSE("GPL") and its .modinfo licence then set back to "Proprietary"
#    with objcopy, as a repackaged vendor module would carry it.
set -eu
KDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
cp "$HERE"/*.c "$HERE"/Kbuild "$WORK"/
make -s -C "$KDIR" M="$WORK" modules 2>"$WORK/err.txt" || true
grep "^ERROR: modpost\|^WARNING: modpost" "$WORK/err.txt" | sed "s#$WORK/##" > "$HERE/modpost.txt"
make -s -C "$KDIR" M="$WORK" clean
sed -i 's/MODULE_LICENSE("Proprietary")/MODULE_LICENSE("GPL")/' "$WORK/gpl_proprietary.c"
make -s -C "$KDIR" M="$WORK" KBUILD_MODPOST_WARN=1 KBUILD_NSDEPS=1 modules 2>/dev/null
objcopy --dump-section .modinfo="$WORK/modinfo" "$WORK/gpl_proprietary.ko"
sed -i 's/license=GPL/license=Proprietary/' "$WORK/modinfo"
objcopy --update-section .modinfo="$WORK/modinfo" "$WORK/gpl_proprietary.ko"
for m in gpl_proprietary unexported namespace namespace_imported; do
	strip --strip-debug -o "$HERE/$m.ko" "$WORK/$m.ko"
done
rm -rf "$WORK"
