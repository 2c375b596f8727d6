#!/bin/sh
# Turn Debian's published kernel packages into the ksql history dataset: for every kernel ABI
# apt can still download (linux-headers-<abi>-<arch>; bookworm serves the current 6.1 ABI,
# bookworm-security/-updates the ones before it, bookworm-backports and trixie the newer
# series 6.12 and 7.x when those sources are in apt's lists), fetch the headers package
# once, keep its Module.symvers (all exports, with CRC, kind and namespace), and write one
# Parquet file per kernel with `ksql export --format parquet`.
#
#   scripts/history-dataset.sh DATASET_DIR [CACHE_DIR]      default cache: .corpus/history
#
#   KSQL_HISTORY_ARCH=amd64            the flavour suffix (arm64, ...; needs dpkg --add-architecture)
#   KSQL_HISTORY_SUITES="bookworm-backports trixie-backports"
#                                      also these Debian suites, through apt lists private to
#                                      the cache (CACHE_DIR/apt): the system's apt is untouched.
#                                      6.12 is in bookworm-backports and trixie, 7.x in
#                                      trixie-backports (Debian names those ABIs 6.12.95+deb12-amd64)
#   KSQL_HISTORY_ABIS="6.1.0-47-amd64 6.1.0-50-amd64"   only these ABIs (default: every one apt lists)
#   KSQL_HISTORY_SERIES="6.12 7"       only the newest listed ABI of each of these series
#   KSQL_HISTORY_EXPORT=0              fetch only (CI's corpus step), write no Parquet
#   KSQL_HISTORY_FULL=1                also linux-image-<abi> (every module: full rows, ~500 MB each)
#   KSQL=ksql                          the ksql command to run
#
# Prints one line per kernel. Needs apt-get, apt-cache, dpkg-deb and network (once: the
# cache keeps each ABI's Module.symvers and package version).
set -eu
out=${1:?usage: scripts/history-dataset.sh DATASET_DIR [CACHE_DIR]}
cache=${2:-.corpus/history}
arch=${KSQL_HISTORY_ARCH:-amd64}
ksql=${KSQL:-ksql}
command -v apt-cache >/dev/null || { echo "history-dataset: apt-cache not found" >&2; exit 1; }
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
apt_opts=""
if [ -n "${KSQL_HISTORY_SUITES:-}" ]; then
    apt=$cache/apt
    mkdir -p "$apt/lists/partial" "$apt/archives/partial"
    for suite in $KSQL_HISTORY_SUITES; do
        echo "deb http://deb.debian.org/debian $suite main"
    done > "$apt/sources.list"
    # The system's sources (sources.list.d) stay listed: the suites come on top of them.
    apt_opts="-o Dir::Etc::sourcelist=$apt/sources.list -o Dir::State::Lists=$apt/lists \
-o Dir::Cache=$apt -o Debug::NoDropPrivs=1"
    # shellcheck disable=SC2086  # a list of options
    apt-get $apt_opts update -qq >&2 || echo "history-dataset: apt-get update of $KSQL_HISTORY_SUITES failed" >&2
fi
list_abis() {
    # 6.1.0-50-amd64 up to Debian 12's own series; 6.12.95+deb12-amd64 from 6.12 on.
    # shellcheck disable=SC2086  # a list of options
    apt-cache $apt_opts search --names-only \
        "^linux-headers-[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+|\+deb[0-9]+)-$arch\$" \
        | awk '{print $1}' | sed 's/^linux-headers-//' | sort -V
}
newest_of_series() {
    listed=$(cat)
    for series in $KSQL_HISTORY_SERIES; do
        printf '%s\n' "$listed" | grep "^$(echo "$series" | sed 's/\./\\./g')\." | tail -n 1
    done
}
abis=${KSQL_HISTORY_ABIS:-$(list_abis)}
if [ -z "$abis" ]; then
    apt-get update -qq >&2 || true
    abis=$(list_abis)
fi
if [ -z "${KSQL_HISTORY_ABIS:-}" ] && [ -n "${KSQL_HISTORY_SERIES:-}" ]; then
    abis=$(printf '%s\n' $abis | newest_of_series)
fi
[ -n "$abis" ] || { echo "history-dataset: apt lists no linux-headers-*-$arch" >&2; exit 1; }
for abi in $abis; do
    dir=$cache/$abi
    if [ ! -f "$dir/Module.symvers" ] || [ ! -f "$dir/version" ]; then
        mkdir -p "$dir/deb"
        # shellcheck disable=SC2086  # a list of options
        (cd "$dir/deb" && apt-get $apt_opts download "linux-headers-$abi" >&2)
        deb=$(ls "$dir"/deb/linux-headers-"$abi"_*.deb)
        dpkg-deb -f "$deb" Version > "$dir/version"
        dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/src/linux-headers-$abi/Module.symvers" \
            > "$dir/Module.symvers.tmp"
        mv "$dir/Module.symvers.tmp" "$dir/Module.symvers"
        rm -rf "$dir/deb"
    fi
    sources="-s symvers:$dir/Module.symvers"
    if [ "${KSQL_HISTORY_FULL:-0}" = 1 ]; then
        if [ ! -d "$dir/modules" ]; then
            mkdir -p "$dir/deb"
            # shellcheck disable=SC2086  # a list of options
            (cd "$dir/deb" && apt-get $apt_opts download "linux-image-$abi" >&2 \
                || apt-get $apt_opts download "linux-image-$abi-unsigned" >&2)
            dpkg-deb --fsys-tarfile "$dir"/deb/linux-image-*.deb \
                | tar -x -C "$dir" --wildcards './lib/modules/*' './boot/System.map-*'
            mv "$dir/lib/modules/$abi" "$dir/modules" && rm -rf "$dir/lib" "$dir/deb"
        fi
        sources="$sources -s $dir/modules"
        [ -f "$dir/boot/System.map-$abi" ] && sources="$sources -s $dir/boot/System.map-$abi"
    fi
    if [ "${KSQL_HISTORY_EXPORT:-1}" != 0 ]; then
        # shellcheck disable=SC2086  # $sources is a list of options
        $ksql export --format parquet "$out" $sources --release "$abi" --arch "$arch" \
            --distro-version "$(cat "$dir/version")"
    else
        echo "$dir"
    fi
done
