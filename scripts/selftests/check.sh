#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# CI check: the kernel's iommu selftests, unmodified, pass under `iommufd-sim exec` as on the real
# kernel of the same version:
#   VERSION=6.12 (default), profile v6.12: iommufd 190/190, iommufd_fail_nth 7/7, no skips (6.12.95);
#   VERSION=7.2, profile latest: iommufd 241 pass + 5 skip, iommufd_fail_nth 8/8 (7.2.13 skips the same 5).
# Builds them first when the cache has none (KERNEL_SRC=... or a fetch of Debian's linux-source-$VERSION,
# see build.sh). Exit 0 only when both binaries give exactly those counts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=${VERSION:-6.12}
case "$VERSION" in
  6.12) PROFILE=v6.12
        EXPECT=("iommufd pass:190 fail:0 skip:0" "iommufd_fail_nth pass:7 fail:0 xfail:0 skip:0") ;;
  7.2)  PROFILE=latest
        EXPECT=("iommufd pass:241 fail:0 skip:5" "iommufd_fail_nth pass:8 fail:0 xfail:0 skip:0") ;;
  *) echo "check.sh: no expectations for VERSION=$VERSION (6.12 or 7.2)" >&2; exit 2 ;;
esac
OUT=${OUT:-$ROOT/node_modules/.cache/iommufd-sim/selftests/$VERSION}
[ -x "$OUT/iommufd" ] && [ -x "$OUT/iommufd_fail_nth" ] || VERSION=$VERSION OUT=$OUT "$ROOT/scripts/selftests/build.sh"
cd "$ROOT"
rc=0
for t in "${EXPECT[@]}"; do
  set -- $t
  bin=$1; shift
  log=$(mktemp)
  npx tsx src/cli/main.ts exec --caps all --profile "$PROFILE" --ktap -- "$OUT/$bin" > "$log" 2>&1 || true
  summary=$(grep '^# iommufd-sim exec' "$log" | tail -1)
  echo "$bin: $summary"
  for want in "$@"; do
    case "$summary" in *"$want"*) ;; *) echo "  expected $want" >&2; grep -E '^not ok|Expected' "$log" | head -20 >&2; rc=1 ;; esac
  done
  rm -f "$log"
done
exit $rc
