#!/usr/bin/env bash
# `npm test`: every check the project has, in one go. Each step runs even if an earlier one failed,
# so one run shows everything that is wrong. When VFIO_UAPI_COUNT_FILE is set, each step appends its
# counts there (vitest through test/count-reporter.ts) for .ci/run's closing line.
set -u
cd "$(dirname "$0")/.."
failed=0
step() {
  local name=$1; shift
  echo "── $name: $*"
  if "$@"; then
    [ -n "${VFIO_UAPI_COUNT_FILE:-}" ] && echo "$name 1 0 0" >> "$VFIO_UAPI_COUNT_FILE"
  else
    failed=1
    [ -n "${VFIO_UAPI_COUNT_FILE:-}" ] && echo "$name 0 1 0" >> "$VFIO_UAPI_COUNT_FILE"
  fi
}
# The compiled packages are what the CLI tests, the examples and the consumer test run.
step build node packages/build.mjs
step format npx --no-install prettier --check --log-level warn .
step typecheck npx --no-install tsc --noEmit
step spec-check node packages/vfio-uapi/bin/vfio-uapi.js check
step gen-check node packages/vfio-uapi/bin/vfio-uapi.js gen --check
# vitest reports its own counts; a crash before any test still counts as a failure.
before=$( [ -n "${VFIO_UAPI_COUNT_FILE:-}" ] && wc -l < "$VFIO_UAPI_COUNT_FILE" || echo 0)
if ! npx --no-install vitest run; then failed=1; fi
after=$( [ -n "${VFIO_UAPI_COUNT_FILE:-}" ] && wc -l < "$VFIO_UAPI_COUNT_FILE" || echo 0)
if [ -n "${VFIO_UAPI_COUNT_FILE:-}" ] && [ "$before" = "$after" ]; then echo "vitest 0 1 0" >> "$VFIO_UAPI_COUNT_FILE"; fi
# The packed packages installed into scratch projects as a user would (reports its own counts).
if ! node --import tsx test/package/consumer.ts --no-build; then failed=1; fi
exit $failed
