#!/bin/sh

# Install the Debian packages divehttpd needs to build and to run its test
# suite; with --bench also what bench/ compares against (nginx, wrk); with
# --dev also clang (CI builds with both compilers).  Only packages that are
# missing are installed, and "apt-get update" runs only when something is.
#
#   sh scripts/install-deps.sh [--bench] [--dev]     (as root)

set -eu

usage() {
    echo "usage: sh scripts/install-deps.sh [--bench] [--dev]"
}

bench=no
dev=no

for arg
do
    case "$arg" in
        --bench)    bench=yes ;;
        --dev)      dev=yes ;;
        -h|--help)  usage; exit 0 ;;
        *)          usage >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    echo "$0: must run as root (apt-get installs packages)" >&2
    exit 1
fi

if ! command -v apt-get > /dev/null 2>&1 \
   || ! command -v dpkg-query > /dev/null 2>&1
then
    echo "$0: apt-get and dpkg-query not found: this script is for Debian" >&2
    exit 1
fi

# Build: compiler, make, pkg-config and the libraries configure tests.
# libc6-dev is only a recommendation of gcc, and recommendations are not
# installed here, so it is named.
build_pkgs="gcc libc6-dev make pkg-config libssl-dev libpcre2-dev
            libcjson-dev libdb5.3-dev zlib1g-dev libbz2-dev liblz4-dev
            libzstd-dev libcrypt-dev"

# Tests: prove and Test::More come with perl; curl, openssl s_client and
# IO::Socket::SSL are clients; procps gives ps and pgrep; prometheus gives
# promtool (t/metrics_formats.t checks the /metrics output with it);
# gzip, bzip2, lz4 and zstd make the compressed Stream Load bodies.
test_pkgs="perl curl openssl libio-socket-ssl-perl procps prometheus
           gzip bzip2 lz4 zstd"

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null \
        | grep -q '^install ok installed$'
}

missing=
want() {
    for pkg
    do
        installed "$pkg" && continue
        # pkgconf provides pkg-config; either will do.
        if [ "$pkg" = pkg-config ] && command -v pkg-config > /dev/null 2>&1
        then
            continue
        fi
        missing="$missing $pkg"
    done
}

want $build_pkgs $test_pkgs

# bench/run-stream-load.sh computes with bc
[ $dev = yes ] && want clang bc

need_nginx=no
if [ $bench = yes ]; then
    want wrk

    # Any of Debian's nginx flavours serves as the baseline.
    need_nginx=yes
    for pkg in nginx-light nginx nginx-core nginx-full nginx-extras; do
        installed "$pkg" && need_nginx=no
    done
fi

if [ -z "$missing" ] && [ $need_nginx = no ]; then
    echo "install-deps: all packages present"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive

echo "install-deps: apt-get update"
apt-get update -q

if [ $need_nginx = yes ]; then
    # The light flavour is enough; older or trimmed archives only have nginx.
    if apt-cache policy nginx-light 2>/dev/null \
       | grep -q 'Candidate: [0-9]'
    then
        missing="$missing nginx-light"
    else
        missing="$missing nginx"
    fi
fi

echo "install-deps: installing$missing"
# $missing is a list of words: split on purpose.
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
