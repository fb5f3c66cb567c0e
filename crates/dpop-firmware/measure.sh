#!/usr/bin/env bash
# Builds the firmware in four configurations, runs each under QEMU (mps2-an386, Cortex-M4F),
# prints flash (.text + .rodata + .data), static RAM (.data + .bss + .uninit) and the peak
# stack of each operation (stack painting: see src/main.rs), and fails past the budgets.
# Needs: the thumbv7em-none-eabihf target, qemu-system-arm, and `size` (binutils).
set -euo pipefail
cd "$(dirname "$0")"

# Budgets (bytes), ES256 at opt-level z. The goals are 48 KiB flash for create + verify, 4 KiB
# of stack to create and 8 KiB to verify (device limits, or a caller-provided scratch buffer).
# Verification with the scratch provided by the caller is held to the 8 KiB goal; with its
# scratch on its own stack (2,811 B for Limits::DEVICE) it needs more, and that budget is the
# figure reached so far with a small margin, so that CI catches any regression.
FLASH_BUDGET=$((48 * 1024))
CREATE_STACK_BUDGET=$((4 * 1024))
VERIFY_STACK_BUDGET=$((8 * 1024))
VERIFY_OWN_SCRATCH_STACK_BUDGET=$((10 * 1024))

target_dir="${CARGO_TARGET_DIR:-target}"
elf="$target_dir/thumbv7em-none-eabihf/release/dpop-firmware"
failed=0

section() { size -A "$elf" | awk -v s="$1" '$1 == s { print $2 }'; }

run() {
  local label=$1
  shift
  cargo build --locked --release --quiet "$@"
  local text rodata data bss uninit
  text=$(section .text); rodata=$(section .rodata); data=$(section .data)
  bss=$(section .bss); uninit=$(section .uninit)
  local flash=$((text + rodata + ${data:-0}))
  local ram=$((${data:-0} + ${bss:-0} + ${uninit:-0}))
  local out
  if ! out=$(timeout 120 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" 2>&1); then
    printf '%s\nFAIL: %s did not exit with status 0 under QEMU\n' "$out" "$label"
    failed=1
    return
  fi
  printf '%-28s flash %6d B   static RAM %4d B\n' "$label" "$flash" "$ram"
  printf '%s\n' "$out" | sed -n 's/^stack /    peak stack /p'
  if [ "$label" = "ES256 create + verify" ] && [ "$flash" -gt "$FLASH_BUDGET" ]; then
    echo "FAIL: flash $flash B > budget $FLASH_BUDGET B"
    failed=1
  fi
  # The stack budgets are for ES256-only builds with the device limits.
  [ "$label" = "ES256 + ES384 + ES512" ] && return
  local n
  while read -r n; do
    if [ "$n" -gt "$CREATE_STACK_BUDGET" ]; then
      echo "FAIL: ES256 create stack $n B > budget $CREATE_STACK_BUDGET B"; failed=1
    fi
  done < <(printf '%s\n' "$out" | sed -n 's/^stack ES256 create: \([0-9]*\) bytes$/\1/p')
  while read -r n; do
    if [ "$n" -gt "$VERIFY_STACK_BUDGET" ]; then
      echo "FAIL: ES256 verify stack $n B > budget $VERIFY_STACK_BUDGET B"; failed=1
    fi
  done < <(printf '%s\n' "$out" | sed -n 's/^stack ES256 verify (caller.s scratch): \([0-9]*\) bytes$/\1/p')
  while read -r n; do
    if [ "$n" -gt "$VERIFY_OWN_SCRATCH_STACK_BUDGET" ]; then
      echo "FAIL: ES256 verify stack (scratch on its own stack) $n B > budget $VERIFY_OWN_SCRATCH_STACK_BUDGET B"
      failed=1
    fi
  done < <(printf '%s\n' "$out" | sed -n 's/^stack ES256 verify: \([0-9]*\) bytes$/\1/p')
}

run "ES256 create + verify"
run "ES256 create only" --no-default-features --features create
run "ES256 verify only" --no-default-features --features verify,own-scratch
run "ES256 + ES384 + ES512" --features es384,es512,default-limits,own-scratch
echo "budgets (ES256): flash <= $FLASH_BUDGET B (create + verify), stack <= $CREATE_STACK_BUDGET B (create), <= $VERIFY_STACK_BUDGET B (verify, Limits::DEVICE)"
exit "$failed"
