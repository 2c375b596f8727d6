#!/bin/sh
# Fetch a real Debian kernel's symbol files into a cache directory, for the corpus tests and
# the benchmarks: Module.symvers (linux-headers-<abi>-amd64), the modules (linux-image-<abi>,
# into modules/), and from linux-image-<abi>-dbg the real System.map and vmlinux (stripped of
# debug info with objcopy --strip-debug). Prints the directory. Needs apt-get (Debian),
# dpkg-deb, objcopy (binutils) and network.
#
#   scripts/fetch-corpus.sh [CACHE_DIR]        default: .corpus
#   KSQL_CORPUS_DBG=0 skips the 850 MB -dbg package (no System.map or vmlinux then).
#   KSQL_FETCH_TREE=0 skips the kernel source tree (linux-source-6.1, 139 MB, unpacked into
#   CACHE_DIR/src/linux-source-6.1) and the configuration (config-<abi>, from the headers).
#   KSQL_FETCH_ARCH="arm64 armhf riscv64" (the default; 0 skips): foreign-architecture
#   kernels into CACHE_DIR/arch/<abi>/ (Module.symvers and modules/, ~60 MB of .deb each),
#   through a private apt state (no dpkg --add-architecture): bookworm's arm64, armhf,
#   i386, ppc64el, s390x, mips64el; riscv64 from trixie (bookworm has no riscv64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-.corpus}
command -v apt-get >/dev/null || { echo "fetch-corpus: apt-get not found" >&2; exit 1; }
abi_pkg() {
    apt-cache depends linux-headers-amd64 2>/dev/null | awk '/Depends: linux-headers-/ {print $2; exit}'
}
pkg=$(abi_pkg)
if [ -z "$pkg" ]; then
    apt-get update -qq >&2 || true
    pkg=$(abi_pkg)
fi
[ -n "$pkg" ] || { echo "fetch-corpus: no linux-headers-amd64 in apt's lists" >&2; exit 1; }
abi=${pkg#linux-headers-}            # e.g. 6.1.0-56-amd64
dir=$cache/$abi
mkdir -p "$dir/deb"
dir=$(cd "$dir" && pwd)
cd "$dir/deb"
common=$(apt-cache depends "$pkg" | awk '/Depends: linux-headers-.*-common/ {print $2; exit}')
if [ ! -f "$dir/Module.symvers" ]; then
    apt-get download "$pkg" $common >&2
    for deb in linux-headers-*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
    cp "$dir/root/usr/src/$pkg/Module.symvers" "$dir/Module.symvers"
    rm -rf "$dir/root"
fi
if [ ! -d "$dir/modules" ]; then
    apt-get download "linux-image-$abi" >&2
    dpkg-deb --fsys-tarfile linux-image-"$abi"_*.deb \
        | tar -x -C "$dir" --wildcards './lib/modules/*'
    mv "$dir/lib/modules/$abi" "$dir/modules.tmp" && mv "$dir/modules.tmp" "$dir/modules"
    rm -rf "$dir/lib"
fi
if [ "${KSQL_CORPUS_DBG:-1}" != 0 ] && { [ ! -f "$dir/System.map" ] || [ ! -f "$dir/vmlinux" ]; }; then
    apt-get download "linux-image-$abi-dbg" >&2
    dpkg-deb --fsys-tarfile linux-image-"$abi"-dbg_*.deb \
        | tar -x -C "$dir" --wildcards './usr/lib/debug/boot/*'
    mv "$dir"/usr/lib/debug/boot/System.map-* "$dir/System.map"
    objcopy --strip-debug "$dir"/usr/lib/debug/boot/vmlinux-* "$dir/vmlinux"
    rm -rf "$dir/usr"
fi
if [ ! -f "$dir/config-$abi" ]; then
    [ -f "$dir/root/usr/src/$pkg/.config" ] || {
        apt-get download "$pkg" >&2
        dpkg-deb -x "$pkg"_*.deb "$dir/root"
    }
    cp "$dir/root/usr/src/$pkg/.config" "$dir/config-$abi"
    rm -rf "$dir/root"
fi
if [ "${KSQL_FETCH_TREE:-1}" != 0 ] && [ ! -f "$dir/../src/linux-source-6.1/Makefile" ]; then
    src=$(cd "$dir/.." && pwd)/src
    mkdir -p "$src"
    (cd "$src" && apt-get download linux-source-6.1 >&2)
    dpkg-deb --fsys-tarfile "$src"/linux-source-6.1_*.deb \
        | tar -x -O ./usr/src/linux-source-6.1.tar.xz | tar -xJ -C "$src"
    rm -f "$src"/linux-source-6.1_*.deb
fi
# depmod (kmod): ksql check's parity test compares with depmod -e -E on the module tree.
if ! command -v depmod >/dev/null && [ ! -x /usr/sbin/depmod ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq kmod >&2 || true
fi
rm -f "$dir"/deb/*.deb
# The history tests compare real ABIs' Module.symvers (two 6.1 ABIs, the newest 6.12 and 7.x;
# 1.7-3.3 MB headers packages, cached in CACHE_DIR/history/<abi>/); KSQL_FETCH_HISTORY=0
# skips them.
if [ "${KSQL_FETCH_HISTORY:-1}" != 0 ]; then
    two=$(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' \
        | sed 's/^linux-headers-//' | sort -V | tail -n 2 | tr '\n' ' ')
    KSQL_HISTORY_ABIS=$two KSQL_HISTORY_EXPORT=0 sh "$here/history-dataset.sh" - \
        "$dir/../history" >/dev/null || echo "fetch-corpus: history ABIs not fetched" >&2
    # And the newest ABI of the later series (6.12: bookworm-security; 7.x:
    # trixie-backports, built without CONFIG_MODVERSIONS), ~2 MB each.
    KSQL_HISTORY_SERIES="6.12 7" KSQL_HISTORY_SUITES=trixie-backports KSQL_HISTORY_EXPORT=0 \
        sh "$here/history-dataset.sh" - "$dir/../history" >/dev/null 2>&1 \
        || echo "fetch-corpus: 6.12/7.x history ABIs not fetched" >&2
fi
arches=${KSQL_FETCH_ARCH-arm64 armhf riscv64}
if [ "$arches" != 0 ] && [ -n "$arches" ]; then
    # shellcheck disable=SC2086 # a list of architectures
    "$here/fetch-arch-corpus.sh" "$dir/../arch" $arches >&2 \
        || echo "fetch-corpus: foreign-architecture kernels not fetched: their tests will skip" >&2
fi
echo "$dir"
