#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the kernel's iommu selftests (tools/testing/selftests/iommu/{iommufd,iommufd_fail_nth})
# from a kernel tree, for `iommufd-sim exec` (dynamic, so the LD_PRELOAD shim loads) and,
# with STATIC=1, statically for the oracle VMs. Nothing from the kernel tree enters the project.
#
#   KERNEL_SRC=/path/to/linux scripts/selftests/build.sh          # a kernel tree
#   KERNEL_SRC=/path/linux-source-6.12.tar.xz scripts/selftests/build.sh   # Debian's tarball
#   VERSION=6.12 scripts/selftests/build.sh     # fetch Debian's linux-source-6.12 (bookworm-backports)
#   VERSION=7.2  scripts/selftests/build.sh     # fetch Debian's linux-source-7.2 (sid)
#
# Output: $OUT (default node_modules/.cache/iommufd-sim/selftests/$VERSION)/{iommufd,iommufd_fail_nth}
# The 6.12 tree gets the compat patch of the 6.12 oracle (COMPAT_PATCH, default
# ../shared/oracle/iommufd-6.12-compat.patch): the Debian 6.12 tree carries selftest code
# backported from later kernels.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=${VERSION:-6.12}
OUT=${OUT:-$ROOT/node_modules/.cache/iommufd-sim/selftests/$VERSION}
CC=${CC:-cc}
command -v "$CC" >/dev/null || { echo "build.sh: C compiler '$CC' not found" >&2; exit 1; }
mkdir -p "$OUT"
W=$OUT/work
rm -rf "$W" && mkdir -p "$W"

NEEDED=(tools/testing/selftests/iommu tools/testing/selftests/kselftest.h tools/testing/selftests/kselftest_harness.h
        drivers/iommu/iommufd/iommufd_test.h include/uapi/linux/iommufd.h include/uapi/linux/vfio.h)

fetch_debian() {  # fetch linux-source-$VERSION with a private apt configuration (leaves /etc/apt alone)
  local suite
  case "$VERSION" in 6.12) suite=bookworm-backports ;; 7.2) suite=sid ;; *) echo "build.sh: no Debian suite known for $VERSION" >&2; exit 1 ;; esac
  local mirror A=$OUT/apt
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
  echo "deb $mirror $suite main" > "$A/sources.list"
  cat > "$A/apt.conf" <<EOC
Dir::Etc::SourceList "$A/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::State::Lists "$A/lists";
Dir::Cache "$A/cache";
EOC
  APT_CONFIG=$A/apt.conf apt-get update -qq
  (cd "$A/debs" && APT_CONFIG=$A/apt.conf apt-get download -qq "linux-source-$VERSION")
  mkdir -p "$A/x" && dpkg-deb -x "$A"/debs/linux-source-"$VERSION"_*.deb "$A/x"
  KERNEL_SRC=$(ls "$A"/x/usr/src/linux-source-"$VERSION".tar.*)
}

[ -n "${KERNEL_SRC:-}" ] || fetch_debian
S=$W/src
mkdir -p "$S"
if [ -d "$KERNEL_SRC" ]; then
  for p in "${NEEDED[@]}"; do mkdir -p "$S/$(dirname "$p")" && cp -r "$KERNEL_SRC/$p" "$S/$p"; done
else  # a linux-source tarball: take only what the selftests need
  top=$( (tar -tf "$KERNEL_SRC" || true) | head -1 | cut -d/ -f1)
  tar -xf "$KERNEL_SRC" -C "$W" "${NEEDED[@]/#/$top/}"
  rm -rf "$S" && mv "$W/$top" "$S"
fi
SELF=$S/tools/testing/selftests/iommu
[ -f "$SELF/iommufd.c" ] || { echo "build.sh: no tools/testing/selftests/iommu in $KERNEL_SRC" >&2; exit 1; }

if [ "$VERSION" = 6.12 ]; then
  PATCH=${COMPAT_PATCH:-$ROOT/../shared/oracle/iommufd-6.12-compat.patch}
  [ -f "$PATCH" ] || PATCH=/work/shared/oracle/iommufd-6.12-compat.patch
  patch -s -d "$S" -p1 -N < "$PATCH"
fi

# the uAPI headers the selftests include, newer than the distribution's
mkdir -p "$W/include/linux"
# (as headers_install does: no __user, no __counted_by annotations)
for h in iommufd.h vfio.h; do
  sed -e 's/\b__user\b//g' -e 's/__counted_by(\w*)//g' "$S/include/uapi/linux/$h" > "$W/include/linux/$h"
done

CF=(-D_GNU_SOURCE -O2 -Wall -Wno-unused-function -Wno-unused-result -Wno-unused-variable -isystem "$W/include"
    -I "$S/tools/testing/selftests")
[ "${STATIC:-0}" = 1 ] && CF+=(-static)
LIBS=(-lpthread)
if grep -q 'sys/capability.h' "$SELF"/*.c "$SELF"/*.h; then  # 7.x drops CAP_IPC_LOCK with libcap
  has_libcap() { echo '#include <sys/capability.h>' | "$CC" -E -x c - >/dev/null 2>&1; }
  if ! has_libcap && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build.sh: installing libcap-dev (the 7.x selftests include <sys/capability.h>)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcap-dev >/dev/null || true
  fi
  has_libcap || { echo "build.sh: these selftests need libcap headers (Debian: apt-get install libcap-dev)" >&2; exit 1; }
  LIBS+=(-lcap)
fi
for t in iommufd iommufd_fail_nth; do
  (cd "$SELF" && "$CC" "${CF[@]}" -o "$OUT/$t" "$t.c" "${LIBS[@]}")
done
echo "$KERNEL_SRC" > "$OUT/SOURCE"
echo "built: $OUT/iommufd $OUT/iommufd_fail_nth"
