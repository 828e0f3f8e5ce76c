#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the oracle kernels the way ../shared/oracle*/ were built: Linux 6.12 and 7.2
# from Debian's linux-source-6.12 (bookworm-backports) / linux-source-7.2 (sid)
# packages, tinyconfig + the iommufd fragment (CONFIG_IOMMUFD_TEST, fault injection,
# VFIO cdev, emulated VT-d), with a busybox initramfs; installs QEMU. Debian 12, as
# root (apt-get); about 25 minutes on 2 cores. Nothing is downloaded but Debian packages.
#
#   scripts/oracle/build-kernels.sh [6.12] [7.2]      (default: both)
#
# Output, cached (a kernel already built is not rebuilt; FORCE=1 rebuilds):
#   ${XDG_CACHE_HOME:-~/.cache}/iommufd-sim/kernels/<version>/{bzImage,init.cpio.gz,config}
# which scripts/oracle/ci.sh finds when ../shared/oracle*/ are not there, and
#   npx iommufd-sim oracle --kernel ~/.cache/iommufd-sim/kernels/6.12/bzImage examples
# Env: VER_6_12 / VER_7_2 pin a package version (sid moves on), JOBS (make -j).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/iommufd-sim/kernels
JOBS=${JOBS:-$(nproc)}
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(6.12 7.2)

if [ "$(id -u)" -ne 0 ]; then echo "build-kernels: run as root (apt-get)"; exit 1; fi
apt-get install -y build-essential flex bison bc libelf-dev libssl-dev cpio kmod busybox-static \
  libcap-dev qemu-system-x86

guest_init() {
  cat <<'EOI'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
echo "INIT: up, kernel $(uname -r)"
for a in $(cat /proc/cmdline); do case "$a" in iommufd_test=shell) setsid cttyhack sh ;; esac; done
poweroff -f
EOI
}

build() {
  local v=$1 suite pkgver out W SRC
  case "$v" in
    6.12) suite=bookworm-backports; pkgver=${VER_6_12:-} ;;
    7.2) suite=sid; pkgver=${VER_7_2:-} ;;
    *) echo "build-kernels: unknown version $v (6.12 or 7.2)"; exit 2 ;;
  esac
  out=$CACHE/$v
  if [ -f "$out/bzImage" ] && [ -f "$out/init.cpio.gz" ] && [ -z "${FORCE:-}" ]; then
    echo "build-kernels: $v cached in $out"; return
  fi
  W=$CACHE/build-$v
  mkdir -p "$W" "$out"
  cd "$W"
  # linux-source-$v from $suite through a private apt config (/etc/apt is not touched)
  local MIRROR
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
  mkdir -p apt/lists/partial apt/cache/archives/partial debs
  echo "deb $MIRROR $suite main" > apt/sources.list
  cat > apt/apt.conf <<EOC
Dir::Etc::SourceList "$W/apt/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::State::Lists "$W/apt/lists";
Dir::Cache "$W/apt/cache";
EOC
  if ! ls debs/linux-source-"$v"_*.deb >/dev/null 2>&1; then
    APT_CONFIG=$W/apt/apt.conf apt-get update
    APT_CONFIG=$W/apt/apt.conf apt-cache policy "linux-source-$v" | sed -n 1,3p
    (cd debs && APT_CONFIG=$W/apt/apt.conf apt-get download "linux-source-$v${pkgver:+=$pkgver}")
  fi
  if [ ! -d "linux-source-$v" ]; then
    mkdir -p srcdeb && dpkg-deb -x debs/linux-source-"$v"_*.deb srcdeb
    tar -xaf "srcdeb/usr/src/linux-source-$v.tar.xz"
    rm -rf srcdeb
  fi
  SRC=$W/linux-source-$v
  # the options merged onto tinyconfig: those of the workspace's oracles (scripts/oracle/iommufd-<v>.fragment)
  cp "$HERE/iommufd-$v.fragment" "$W/iommufd.fragment"
  make -C "$SRC" O="$W/build" ARCH=x86_64 tinyconfig
  "$SRC/scripts/kconfig/merge_config.sh" -m -O "$W/build" "$W/build/.config" "$W/iommufd.fragment"
  make -C "$SRC" O="$W/build" ARCH=x86_64 olddefconfig
  while read -r l; do   # every fragment line must survive olddefconfig
    case "$l" in CONFIG_*|"# CONFIG_"*) grep -qx "$l" "$W/build/.config" || { echo "build-kernels: config lost: $l"; exit 1; } ;; esac
  done < "$W/iommufd.fragment"
  nice -n 5 make -C "$SRC" O="$W/build" ARCH=x86_64 -j"$JOBS" bzImage
  cp "$W/build/arch/x86/boot/bzImage" "$out/bzImage"
  cp "$W/build/.config" "$out/config"
  # initramfs: busybox + a minimal /init (iommufd-sim oracle puts its own /init and programs on top)
  local R
  R=$(mktemp -d)
  mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root}
  chmod 0755 "$R"
  cp /bin/busybox "$R/bin/busybox"
  guest_init > "$R/init" && chmod 0755 "$R/init"
  (cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out/init.cpio.gz"
  rm -rf "$R"
  echo "build-kernels: Linux $v in $out"
  if command -v qemu-system-x86_64 >/dev/null; then
    timeout 120 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nic none -kernel "$out/bzImage" \
      -initrd "$out/init.cpio.gz" -append "console=ttyS0 panic=-1 quiet" </dev/null | grep -a "INIT: up" \
      || { echo "build-kernels: the $v kernel did not boot"; exit 1; }
  fi
}

for v in "${versions[@]}"; do build "$v"; done
echo "build-kernels: done. Run: scripts/oracle/ci.sh   (or npx iommufd-sim oracle --kernel $CACHE/<version>/bzImage PROGRAMS)"
echo "build-kernels: the sources stay in $CACHE/build-* (delete them to save ~3 GB)"
