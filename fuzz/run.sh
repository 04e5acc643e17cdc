#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), with its dictionary.
# Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Crashes land in fuzz/artifacts/TARGET/; reproduce one with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(aws_answer tencent_answer alibaba_answer huawei_answer config key_id time)
fi
dict_for() {
    case "$1" in
        aws_answer) echo dict/xml.dict ;;
        *_answer) echo dict/json.dict ;;
        config) echo dict/config.dict ;;
        *) echo "" ;;
    esac
}
failed=()
for target in "${targets[@]}"; do
    dict="$(dict_for "$target")"
    mkdir -p "corpus/$target"
    echo "== $target (${seconds}s)"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 ${dict:+-dict="$dict"}; then
        failed+=("$target")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crash"
