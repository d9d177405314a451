#!/usr/bin/env bash
# Regenerate the committed reports from the overlays. Exit codes of `vfio-uapi diff` are expected
# (10/11/20), so they are printed rather than treated as failures.
set -u
cd "$(dirname "$0")/../.."
R=examples/uapi-history/reports
run() { # name old new [extra args]
  local name=$1 old=$2 new=$3; shift 3
  npx vfio-uapi diff "$old" "$new" --format markdown --svg-dir "$R/$name" --out "$R/$name.md" "$@"; echo "$name: markdown exit $?"
  npx vfio-uapi diff "$old" "$new" --out "$R/$name.txt" "$@"; echo "$name: text exit $?"
  npx vfio-uapi diff "$old" "$new" --json --out "$R/$name.json" "$@"; echo "$name: json exit $?"
}
run 2022-review examples/uapi-history/rfc-2022 examples/uapi-history/v6.2
run 2022-review-allowed examples/uapi-history/rfc-2022 examples/uapi-history/v6.2 --allow examples/uapi-history/allowed-breaks.txt
run 2022-v7 examples/uapi-history/rfc-2022 examples/uapi-history/v7-2022
run 2022-v7-to-6.2 examples/uapi-history/v7-2022 examples/uapi-history/v6.2
run 6.1-to-6.2 examples/uapi-history/v6.1 examples/uapi-history/v6.2
run 7.0-to-7.1 examples/uapi-history/v7.0 examples/uapi-history/v7.1
npx prettier --write examples/uapi-history/reports >/dev/null
