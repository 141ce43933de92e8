#!/usr/bin/env bash
# Installs everything backupkit needs to build, test, benchmark and run its demo on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential cmake make g++ pkg-config ca-certificates \
    postgresql-15 postgresql-server-dev-15 postgresql-contrib \
    libzstd-dev zstd libgtest-dev googletest \
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron \
    clang-format procps util-linux sudo perl
