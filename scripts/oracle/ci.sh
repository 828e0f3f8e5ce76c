#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The oracle suite for CI (.ci/run calls it after npm test): every example, every
# regression program, the oracle programs of test/oracle/programs/ (generated from
# the conformance scenarios), test/oracle/handwritten/ (raw ioctls) and
# test/oracle/programs-612/ (the newer commands' scenarios) run on the
# real Linux 6.12 and 7.2 kernels under QEMU beside the model (profiles v6.12 and
# latest), call by call; then the bridge test programs (test/bridge/progs, run
# under exec by npm test) run on the kernels themselves and must pass there too,
# and progs/sweep.c must print on each what it prints under exec; `iommufd-sim oracle`
# runs three of them as C programs the same way.
# Ends with "oracle: N passed, N failed" (programs) and exits non-zero on any
# divergence src/oracle/known-divergences.yaml does not explain, on a stale row
# there, on a bridge program failing on a kernel, or when no kernel is found. One boot per kernel:
# the guest runs with ASLR off and the model with the same exec layout, so a run
# is deterministic and a divergence is never booted away.
#
# Kernels: ../shared/oracle/bzImage and ../shared/oracle-7.2/bzImage beside the
# project (the workspace's prebuilt ones), else those scripts/oracle/build-kernels.sh
# cached (${XDG_CACHE_HOME:-~/.cache}/iommufd-sim/kernels/*/), or ORACLE_KERNELS
# ("path/bzImage path/bzImage", each with init.cpio.gz beside it).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

kernels=()
if [ -n "${ORACLE_KERNELS:-}" ]; then
  read -r -a kernels <<<"$ORACLE_KERNELS"
else
  for d in "$ROOT/../shared/oracle" "$ROOT/../shared/oracle-7.2"; do
    [ -f "$d/bzImage" ] && kernels+=("$(cd "$d" && pwd)/bzImage")
  done
  if [ ${#kernels[@]} -eq 0 ]; then
    for d in "${XDG_CACHE_HOME:-$HOME/.cache}"/iommufd-sim/kernels/*/; do
      [ -f "$d/bzImage" ] && kernels+=("${d%/}/bzImage")
    done
  fi
fi
if [ ${#kernels[@]} -eq 0 ]; then
  echo "oracle: no oracle kernel found. Looked in $ROOT/../shared/oracle/ and $ROOT/../shared/oracle-7.2/"
  echo "oracle: (the workspace's prebuilt Linux 6.12 / 7.2) and ${XDG_CACHE_HOME:-~/.cache}/iommufd-sim/kernels/."
  echo "oracle: build them with scripts/oracle/build-kernels.sh (Debian linux-source-6.12 / -7.2, ~25 min, as root),"
  echo "oracle: or set ORACLE_KERNELS=\"/path/bzImage ...\" (init.cpio.gz beside each)."
  echo "oracle: 0 passed, 1 failed"
  exit 1
fi

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && need sudo && sudo="sudo"
  # A fresh machine has no package lists yet: update once, then install.
  $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y --no-install-recommends "$@" >/dev/null; } ||
    { echo "oracle: cannot install $* (apt-get)"; return 1; }
}
need qemu-system-x86_64 || apt_install qemu-system-x86 || { echo "oracle: 0 passed, 1 failed"; exit 1; }
need "${CC:-cc}" || apt_install gcc libc6-dev || { echo "oracle: 0 passed, 1 failed"; exit 1; }

programs=(examples test/regressions)
[ -d test/oracle/programs ] && programs+=(test/oracle/programs)
[ -d test/oracle/handwritten ] && programs+=(test/oracle/handwritten)
# scenario programs of the 6.12/7.2 commands (hwpt_alloc, viommu, fault queues, ...)
[ -d test/oracle/programs-612 ] && programs+=(test/oracle/programs-612)

passed=0
failed=0
status=0
# count REPORT PASSED FAILED: add a JSON report's summary to the counts (the two expressions of its
# summary `s`); no report is one failure
count() {
  if [ -s "$1" ]; then
    read -r p f < <(node -e "const s = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')).summary; console.log(\`\${$2} \${$3}\`);" "$1")
    passed=$((passed + p))
    failed=$((failed + f))
  else
    failed=$((failed + 1))
  fi
  rm -f "$1"
}
for k in "${kernels[@]}"; do
  report=$(mktemp)
  echo "oracle: $(basename "$(dirname "$k")") ($k)"
  npx tsx scripts/oracle/run.ts --kernel "$k" --report "$report" "${programs[@]}"
  rc=$?
  count "$report" 's.agree + s.explained + s.skipped' 's.diverged + s.errors + s.stale.length'
  [ $rc -ne 0 ] && status=1
done
# `iommufd-sim oracle` with C programs: built for the VM and for exec, stdout and exit status compared
# (a program that spawns itself with arguments, one of the kernel's identity, one of event queues).
for k in "${kernels[@]}"; do
  report=$(mktemp)
  npx tsx src/cli/main.ts oracle --kernel "$k" --report "$report" test/bridge/progs/spawn.c test/bridge/progs/uname.c test/bridge/progs/events.c
  count "$report" 's.agree' 's.diverged + s.errors'
done
# The bridge test programs (test/bridge/progs), whose checks are the kernels' answers, on the kernels themselves.
kargs=()
for k in "${kernels[@]}"; do kargs+=(--kernel "$k"); done
bridge_log=$(mktemp)
npx tsx scripts/oracle/bridge-progs.ts "${kargs[@]}" 2>&1 | tee "$bridge_log"
read -r bp bf < <(sed -nE 's/^bridge-progs: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$bridge_log" | tail -1)
rm -f "$bridge_log"
passed=$((passed + ${bp:-0}))
failed=$((failed + ${bf:-1}))
echo "oracle: $passed passed, $failed failed"
[ $failed -ne 0 ] && status=1
exit $status
