#!/usr/bin/env bash
# Packs a release archive of cloudkeys for one target:
#   dist/cloudkeys-VERSION-TARGET.tar.gz (.zip for Windows) holding the binary, the README,
#   the licences, shell completions (bash, zsh, fish, PowerShell) and the man page, plus
#   dist/cloudkeys-VERSION-TARGET.{tar.gz,zip}.sha256.
#
# Usage: .github/scripts/package.sh TARGET        e.g. x86_64-unknown-linux-musl
#   Builds `cargo build --release --locked --target TARGET` unless CLOUDKEYS_BIN names a
#   binary already built for TARGET. Completions and the man page come from running a binary
#   of the host: the packed one when TARGET is the host, else CLOUDKEYS_HOST_BIN or a debug
#   build. DIST_DIR (default: dist) is where the archive goes.
# Locally, for the host: .github/scripts/package.sh "$(rustc -vV | sed -n 's/^host: //p')"
set -euo pipefail

target="${1:?usage: package.sh TARGET}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$(pwd)"
dist="${DIST_DIR:-dist}"
case "$dist" in /*) ;; *) dist="$root/$dist" ;; esac

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
exe=""
case "$target" in *windows*) exe=".exe" ;; esac

bin="${CLOUDKEYS_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release --locked --target "$target"
    bin="target/$target/release/cloudkeys$exe"
fi
[ -x "$bin" ] || { echo "error: no binary at $bin" >&2; exit 1; }

host="$(rustc -vV | sed -n 's/^host: //p')"
gen="${CLOUDKEYS_HOST_BIN:-}"
if [ -z "$gen" ]; then
    if [ "$target" = "$host" ]; then
        gen="$bin"
    else
        cargo build --locked
        gen="target/debug/cloudkeys"
    fi
fi

name="cloudkeys-$version-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/completions" "$dir/man"
cp "$bin" "$dir/cloudkeys$exe"
cp README.md LICENSE-MIT LICENSE-APACHE "$dir/"
"$gen" completions bash > "$dir/completions/cloudkeys.bash"
"$gen" completions zsh > "$dir/completions/_cloudkeys"
"$gen" completions fish > "$dir/completions/cloudkeys.fish"
"$gen" completions powershell > "$dir/completions/_cloudkeys.ps1"
"$gen" man > "$dir/man/cloudkeys.1"
for f in "$dir"/completions/* "$dir/man/cloudkeys.1"; do
    [ -s "$f" ] || { echo "error: $f is empty" >&2; exit 1; }
done

mkdir -p "$dist"
if [ -n "$exe" ]; then
    archive="$name.zip"
    rm -f "$dist/$archive"
    if command -v 7z >/dev/null 2>&1; then
        (cd "$stage" && 7z a -tzip -bd "$dist/$archive" "$name" >/dev/null)
    else
        (cd "$stage" && zip -qr "$dist/$archive" "$name")
    fi
else
    archive="$name.tar.gz"
    tar -C "$stage" -czf "$dist/$archive" "$name"
fi

# The sum file reads like sha256sum's output, so `sha256sum -c` checks it.
if command -v sha256sum >/dev/null 2>&1; then
    (cd "$dist" && sha256sum "$archive" > "$archive.sha256")
else
    (cd "$dist" && shasum -a 256 "$archive" > "$archive.sha256")
fi
echo "$dist/$archive"
