#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# CI check: the kernel's 6.12 iommu selftests, unmodified, pass under `iommufd-sim exec --profile v6.12`
# as on the real 6.12 kernel (190/190 and 7/7 with no skips). Builds them first when the cache has none
# (KERNEL_SRC=... or a fetch of Debian's linux-source-6.12, see build.sh). Exit 0 only when both pass.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/node_modules/.cache/iommufd-sim/selftests/6.12}
[ -x "$OUT/iommufd" ] && [ -x "$OUT/iommufd_fail_nth" ] || VERSION=6.12 OUT=$OUT "$ROOT/scripts/selftests/build.sh"
cd "$ROOT"
rc=0
for t in "iommufd pass:190 fail:0" "iommufd_fail_nth pass:7 fail:0 xfail:0 skip:0"; do
  set -- $t
  bin=$1; shift
  log=$(mktemp)
  npx tsx src/cli/main.ts exec --caps all --profile v6.12 --ktap -- "$OUT/$bin" > "$log" 2>&1 || true
  summary=$(grep '^# iommufd-sim exec' "$log" | tail -1)
  echo "$bin: $summary"
  for want in "$@"; do
    case "$summary" in *"$want"*) ;; *) echo "  expected $want" >&2; grep -E '^not ok|Expected' "$log" | head -20 >&2; rc=1 ;; esac
  done
  rm -f "$log"
done
exit $rc
