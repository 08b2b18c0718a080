#!/usr/bin/env bash
# qemu-user-static lets `make test` run the arm64 layer binary (tests/all/layer.rs) and lets
# `make layer` precompile arm64 policies. Best effort: without root or apt, those tests check
# the ELF header only and the arm64 layer compiles its policies at init.
command -v qemu-aarch64-static >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get install -y -q qemu-user-static || { apt-get update -q && apt-get install -y -q qemu-user-static; }; } >/dev/null 2>&1 \
        || echo "qemu-user-static could not be installed; arm64 checks run without it" >&2
else
    echo "qemu-user-static not installed (needs root and apt); arm64 checks run without it" >&2
fi
exit 0
