#!/usr/bin/env bash
# Installs everything backupkit needs to build, test, benchmark and run its demo on Debian 12.
#   scripts/install-deps.sh               apt-get update and install (idempotent)
#   scripts/install-deps.sh --if-missing  do nothing when every package is already installed
set -euo pipefail
PACKAGES=(
    build-essential cmake make g++ pkg-config ca-certificates
    postgresql-15 postgresql-server-dev-15 postgresql-contrib
    libzstd-dev zstd libgtest-dev googletest
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron
    clang-format procps util-linux sudo perl
)
PACKAGES+=( liblz4-dev libkrb5-dev )  # building Citus 13.2.2 for the Citus test suite (scripts/build-citus.sh)
PACKAGES+=( libpq-dev libsodium-dev )  # the backupkit command-line client (libpq; Argon2id + XChaCha20-Poly1305 for --encrypt)
PACKAGES+=( git )  # make dist (git archive) and test/tap/095_dist_tarball.sh
PACKAGES+=( dpkg-dev bison flex libreadline-dev zlib1g-dev liblz4-dev libssl-dev libicu-dev libxml2-dev )  # scripts/build-postgres.sh: servers 17-19 from source
PACKAGES+=( bzip2 xz-utils mount e2fsprogs )  # test/regression-db unpacks PostgreSQL's source tarball; test/fault mounts a small file system
if [ "${1:-}" = --if-missing ]; then
    missing=0
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing=1
    done
    [ "$missing" = 0 ] && exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
