#!/bin/sh
# Fetch Debian's kernels for other architectures into DIR/<abi>/: Module.symvers (from
# linux-headers-<abi>-<flavour>), modules/ (the /lib/modules tree of linux-image-<abi>-<flavour>)
# and, where the image ships an ELF kernel in /boot (bookworm: ppc64el), vmlinux. Each
# flavour is fetched once (a later ABI is not fetched while one is there); a .deb already in
# DIR/deb is used as it is.
#
#   scripts/fetch-arch-corpus.sh DIR ARCH...     ARCH: arm64 armhf i386 ppc64el s390x
#                                                mips64el (bookworm) riscv64 (trixie)
#
# apt runs with a private state under DIR/apt (its own sources, lists and cache), so the
# system's architectures and package lists are left alone. Prints nothing on stdout.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR ARCH..." >&2; exit 2; }
out=$1
shift
mkdir -p "$out/apt/lists/partial" "$out/apt/cache/archives/partial" "$out/deb"
out=$(cd "$out" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
sources=$out/apt/sources.list
: >"$sources"
: >"$out/apt/status"
opts="-o Dir::Etc::SourceList=$sources -o Dir::Etc::SourceParts=/nonexistent
 -o Dir::State::Lists=$out/apt/lists -o Dir::Cache=$out/apt/cache
 -o Dir::State::status=$out/apt/status -o Acquire::Languages=none
 -o Dir::Cache::pkgcache=$out/apt/cache/pkgcache.bin -o Dir::Cache::srcpkgcache=$out/apt/cache/srcpkgcache.bin"
bookworm= trixie=
for arch in "$@"; do
    case $arch in
    riscv64) trixie="$trixie${trixie:+,}$arch" ;;
    arm64 | armhf | i386 | ppc64el | s390x | mips64el) bookworm="$bookworm${bookworm:+,}$arch" ;;
    *) echo "fetch-arch-corpus: unknown architecture '$arch' (arm64 armhf i386 ppc64el s390x mips64el riscv64)" >&2; exit 2 ;;
    esac
    opts="$opts -o APT::Architectures::=$arch"
done
[ -z "$bookworm" ] || echo "deb [arch=$bookworm signed-by=$keyring] http://deb.debian.org/debian bookworm main" >>"$sources"
[ -z "$trixie" ] || echo "deb [arch=$trixie signed-by=$keyring] http://deb.debian.org/debian trixie main" >>"$sources"
apt() { # apt-get/apt-cache with the private state
    tool=$1
    shift
    # shellcheck disable=SC2086 # $opts is a word list on purpose
    "$tool" $opts "$@"
}

flavour_of() {
    case $1 in
    arm64) echo arm64 ;; armhf) echo armmp ;; i386) echo 686 ;; ppc64el) echo powerpc64le ;;
    s390x) echo s390x ;; mips64el) echo 5kc-malta ;; riscv64) echo riscv64 ;;
    esac
}
abi_of() { # linux-headers-<flavour>:<arch> depends on linux-headers-<abi>-<flavour>
    apt apt-cache depends "linux-headers-$2:$1" 2>/dev/null \
        | awk -v f="-$2" '/Depends: linux-headers-/ { p = $2; sub(":.*", "", p); sub("^linux-headers-", "", p); print p; exit }'
}
fetch_deb() { # package:arch -> the .deb's path (downloaded unless already there)
    name=${1%%:*}
    set -- "$1" "$out"/deb/"$name"_*.deb
    if [ ! -f "$2" ]; then
        (cd "$out/deb" && apt apt-get download -q "$1" >&2)
        set -- "$1" "$out"/deb/"$name"_*.deb
    fi
    echo "$2"
}

have() { # a kernel of this flavour is already fetched (no network then)
    for d in "$out"/*-"$1"; do
        [ -f "$d/Module.symvers" ] && [ -d "$d/modules" ] && return 0
    done
    return 1
}

updated=
for arch in "$@"; do
    flavour=$(flavour_of "$arch")
    have "$flavour" && continue
    if [ -z "$updated" ]; then
        apt apt-get update -qq >&2
        updated=1
    fi
    abi=$(abi_of "$arch" "$flavour")
    [ -n "$abi" ] || { echo "fetch-arch-corpus: no linux-headers-$flavour for $arch in apt's lists" >&2; exit 1; }
    dir=$out/$abi
    if [ -f "$dir/Module.symvers" ] && [ -d "$dir/modules" ]; then
        continue
    fi
    mkdir -p "$dir"
    deb=$(fetch_deb "linux-headers-$abi:$arch")
    dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/src/linux-headers-$abi/Module.symvers" >"$dir/Module.symvers.tmp"
    mv "$dir/Module.symvers.tmp" "$dir/Module.symvers"
    image=linux-image-$abi
    # Debian's build (arm64, i386, amd64 also ship a signed copy); riscv64 has only one.
    if apt apt-cache show --no-all-versions "$image-unsigned:$arch" 2>/dev/null | grep -q '^Package:'; then
        image=$image-unsigned
    fi
    deb=$(fetch_deb "$image:$arch")
    rm -rf "$dir/tmp"
    mkdir -p "$dir/tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/tmp" --wildcards './boot/*' '*/lib/modules/*'
    for kernel in "$dir"/tmp/boot/vmlinux-*; do # an ELF kernel with its symbols
        if [ -f "$kernel" ] && [ "$(head -c 4 "$kernel" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            mv "$kernel" "$dir/vmlinux"
        fi
    done
    rm -rf "$dir/modules"
    # trixie merged /usr: /usr/lib/modules
    mv "$dir/tmp/lib/modules/$abi" "$dir/modules" 2>/dev/null || mv "$dir/tmp/usr/lib/modules/$abi" "$dir/modules"
    rm -rf "$dir/tmp"
done
# KSQL_FETCH_ARCH_DBG=1: also each kernel's vmlinux from its -dbg package (400 MB-1 GB each,
# so not by default), for the packages that ship only a compressed or PE image.
if [ "${KSQL_FETCH_ARCH_DBG:-0}" = 1 ]; then
    for arch in "$@"; do
        flavour=$(flavour_of "$arch")
        for dir in "$out"/*-"$flavour"; do
            [ -f "$dir/Module.symvers" ] && [ ! -f "$dir/vmlinux" ] || continue
            abi=$(basename "$dir")
            if [ -z "$updated" ]; then
                apt apt-get update -qq >&2
                updated=1
            fi
            deb=$(fetch_deb "linux-image-$abi-dbg:$arch")
            dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/lib/debug/boot/vmlinux-$abi" >"$dir/vmlinux.tmp"
            mv "$dir/vmlinux.tmp" "$dir/vmlinux"
            rm -f "$deb"
        done
    done
fi
rm -f "$out"/deb/*.deb
rm -rf "$out/apt" # ~70 MB of package lists per architecture, only needed to fetch
