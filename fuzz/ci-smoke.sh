#!/usr/bin/env bash
# Fuzz smoke test (house style B7, step 6): builds every target, then runs each one briefly on
# its seed corpus. Exits non-zero if any target crashes, hangs or fails to build.
#
# Usage: fuzz/ci-smoke.sh [seconds-per-target]     (default 10, or $FUZZ_SMOKE_SECONDS)
#
# Uses the nightly toolchain when one is installed (AddressSanitizer on), else stable with
# RUSTC_BOOTSTRAP=1 and no sanitizer (`-s none`); see notes/rust-ecosystem.md section 6.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-${FUZZ_SMOKE_SECONDS:-10}}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if rustup toolchain list | grep -q nightly; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=()
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  sanitizer=(-s none)
fi

# `cargo fuzz` has no --locked; fail here instead if fuzz/Cargo.lock is out of date.
cargo metadata --locked --format-version 1 >/dev/null

# jwt_claims needs this package's `jwt` feature (jsonwebtoken with aws-lc-rs, a C build under the
# sanitizer that would add minutes to every run); it is run by hand, see README.md.
mapfile -t targets < <("${fuzz[@]}" list | grep -vx jwt_claims)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

echo "building ${#targets[@]} targets with ${fuzz[*]} ${sanitizer[*]}"
"${fuzz[@]}" build "${sanitizer[@]}"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  # The working corpus (fuzz/corpus/, ignored) starts from the tracked seeds, what the long runs
  # found (minimized; see README.md), and the inputs of past findings, so that a fix undone
  # fails here under the sanitizer.
  mkdir -p "corpus/$t"
  for dir in seeds found regressions; do
    if [ -d "$dir/$t" ]; then
      cp "$dir/$t"/* "corpus/$t/"
    fi
  done
  dict=()
  case "$t" in
    proof_claims | json_vs_serde | jwk_roundtrip | token_response | grant_responses | \
      resolver_claims | telemetry_claimed) dict=(-dict=dicts/json.dict) ;;
    htu) dict=(-dict=dicts/htu.dict) ;;
    authorization_header | www_authenticate | challenges) dict=(-dict=dicts/http.dict) ;;
    redirect) dict=(-dict=dicts/redirect.dict) ;;
  esac
  echo "==> $t (${seconds} s)"
  status=0
  "${fuzz[@]}" run "${sanitizer[@]}" "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${dict[@]}" \
    >"$logs/$t.log" 2>&1 || status=$?
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$logs/$t.log" | tail -n 1)
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    tail -n 60 "$logs/$t.log"
    summary+=("$t: FAILED (exit $status); crash input in fuzz/artifacts/$t/")
  else
    summary+=("$t: ok, ${runs:-?} runs")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz smoke failed: ${failed[*]}; see fuzz/README.md to reproduce and minimize" >&2
  exit 1
fi
