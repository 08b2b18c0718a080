#!/usr/bin/env bash
# make layer: dist/gavel-layer-<arch>.zip with the layout of CONTRACT.md, for x86_64 and arm64.
#   extensions/gavel             static musl binary (cargo-zigbuild: zig is the C toolchain and
#                                cross linker, so arm64 builds here without a sysroot)
#   gavel/wrapper, gavel/bootstrap
#   gavel/policies/              shipped .wasm, manifest.json, and .cwasm where precompiled
# LAYER_ARCHES="x86_64" limits the architectures. Reproducible: paths are remapped, file times
# come from the commit, zip entries are sorted (see README "Layer build").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
arches=${LAYER_ARCHES:-x86_64 arm64}
venv=$root/.venv

say() { printf 'make layer: %s\n' "$*" >&2; }

# Toolchain: musl targets (rustup), cargo-zigbuild (crates.io), zig (PyPI's ziglang, in .venv).
for arch in $arches; do
    case $arch in
        x86_64) triple=x86_64-unknown-linux-musl ;;
        arm64) triple=aarch64-unknown-linux-musl ;;
        *) say "unknown architecture '$arch' in LAYER_ARCHES (x86_64, arm64)"; exit 2 ;;
    esac
    rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
done
command -v cargo-zigbuild >/dev/null || cargo install cargo-zigbuild --locked --version '^0.24'
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import ziglang' 2>/dev/null || "$venv/bin/pip" install --quiet 'ziglang>=0.13,<0.16'
# cargo-zigbuild runs `python3 -m ziglang` when there is no `zig` on PATH.
export PATH="$venv/bin:$PATH"

[ -f target/policies/manifest.json ] || { say "target/policies missing: run make policies"; exit 2; }

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
export GAVEL_BUILD_COMMIT=$commit
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
# Same bytes from any checkout directory: no absolute build paths in panic locations.
export RUSTFLAGS="--remap-path-prefix=$root=/gavel --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"

triple_of() { case $1 in x86_64) echo x86_64-unknown-linux-musl ;; arm64) echo aarch64-unknown-linux-musl ;; esac; }

# One cargo run for every target: the single-unit LTO of each binary runs on its own core.
targets=()
for arch in $arches; do targets+=(--target "$(triple_of "$arch")"); done
say "building ${arches// /, } ($commit)"
cargo zigbuild --locked --quiet --profile layer "${targets[@]}" -p gavel --bin gavel

mkdir -p dist
for arch in $arches; do
    triple=$(triple_of "$arch")
    qemu=""
    [ "$arch" = arm64 ] && qemu=$(command -v qemu-aarch64-static || true)
    bin=target/$triple/layer/gavel

    stage=target/layer-stage/$arch
    rm -rf "$stage"
    mkdir -p "$stage/extensions" "$stage/gavel/policies"
    cp "$bin" "$stage/extensions/gavel"
    cp layer/wrapper layer/bootstrap "$stage/gavel/"
    cp target/policies/*.wasm target/policies/manifest.json "$stage/gavel/policies/"
    cp target/policies/*.sig "$stage/gavel/policies/" 2>/dev/null || true

    # Precompile with the very binary that will load the code (gavel only loads a .cwasm its
    # own build wrote). arm64 runs under qemu-user where installed; without it the arm64
    # layer compiles policies at init instead, which is slower but equivalent.
    if [ "$arch" = x86_64 ] && [ "$(uname -m)" = x86_64 ]; then
        "$stage/extensions/gavel" policy precompile "$stage/gavel/policies"
    elif [ -n "$qemu" ]; then
        "$qemu" "$stage/extensions/gavel" policy precompile "$stage/gavel/policies"
    else
        say "no qemu-aarch64-static: the arm64 layer ships without precompiled policies (apt install qemu-user-static)"
    fi

    python3 layer/package.py "$stage" "dist/gavel-layer-$arch.zip"
done
for arch in $arches; do
    zip=dist/gavel-layer-$arch.zip
    say "$zip: $(stat -c %s "$zip") bytes, sha256 $(sha256sum "$zip" | cut -d' ' -f1)"
done
