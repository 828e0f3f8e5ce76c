// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM dropping its privileges after opening /dev/iommu: the pages an
 * IOAS_MAP creates are charged to the caller's real UID's user unless
 * CAP_IPC_LOCK is effective, so setuid and its kin, PR_SET_KEEPCAPS and
 * capset decide who pays and when RLIMIT_MEMLOCK says ENOMEM
 * (kernel/sys.c, cap_emulate_setxuid()). Start it as root with every
 * capability (under exec: --caps all); the same checks pass on Linux 6.12
 * and 7.2. One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

struct cap_hdr { uint32_t version; int pid; };
struct cap_dat { uint32_t eff, perm, inh; };
#define CAP_V3 0x20080522
#define CAP_IPC_LOCK_BIT (1u << 14)

static int fd;
static uint32_t ioas;
static char *mem;
static uint64_t next_iova = 1ull << 24;

/* IOAS_MAP of `len` bytes of `mem` at the next free IOVA: 0 or -1 with errno */
static int map(size_t len)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 1 | 2 | 4 /* FIXED_IOVA, WRITEABLE, READABLE */, .ioas_id = ioas,
			      .user_va = (uintptr_t)mem, .length = len, .iova = next_iova };
	int r = ioctl(fd, IOMMU_IOAS_MAP, &m);
	next_iova += 1ull << 22;
	return r;
}

static void caps(uint32_t *eff, uint32_t *perm)
{
	struct cap_hdr h = { CAP_V3, 0 };
	struct cap_dat d[2];
	syscall(SYS_capget, &h, d);
	*eff = d[0].eff;
	*perm = d[0].perm;
}

static int capset_ipc_lock(uint32_t eff, uint32_t perm)
{
	struct cap_hdr h = { CAP_V3, 0 };
	struct cap_dat d[2] = { { eff, perm, 0 }, { 0, 0, 0 } };
	return syscall(SYS_capset, &h, d);
}

int main(void)
{
	uint32_t eff, perm;
	fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu", fd);
	ioas = ioas_alloc(fd);
	struct { uint32_t size, op, id, reserved; uint32_t u[60]; } md = { sizeof(md), TEST_OP_MOCK_DOMAIN, ioas, 0, { 0 } };
	V(0, 0, "MOCK_DOMAIN (every map pins)", ioctl(fd, IOMMU_TEST_CMD, &md));
	/* read through a descriptor opened now: later a plain user may not walk to /proc */
	int sfd = open("/proc/self/status", O_RDONLY);
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	/* RLIMIT_MEMLOCK is the model's under exec: read back as set, even where the host's own hard limit is lower */
	struct rlimit big = { 1ul << 30, 2ul << 30 }, got = { 0, 0 }, old = { 0, 0 };
	V(0, 0, "RLIMIT_MEMLOCK 1 GiB, hard 2 GiB, as root (CAP_SYS_RESOURCE)", setrlimit(RLIMIT_MEMLOCK, &big));
	V(0, 0, "getrlimit(RLIMIT_MEMLOCK)", getrlimit(RLIMIT_MEMLOCK, &got));
	check(got.rlim_cur == 1ul << 30 && got.rlim_max == 2ul << 30, "getrlimit reads 1 GiB, hard 2 GiB", (long)(got.rlim_cur >> 20));
	struct rlimit rl = { 64 << 10, 64 << 10 };
	V(0, 0, "RLIMIT_MEMLOCK 64 KiB by prlimit(), the old limits returned", prlimit(0, RLIMIT_MEMLOCK, &rl, &old));
	check(old.rlim_cur == 1ul << 30 && old.rlim_max == 2ul << 30, "prlimit's old limits: 1 GiB, hard 2 GiB", (long)(old.rlim_cur >> 20));
	memset(&got, 0, sizeof(got));
	syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &got);
	check(got.rlim_cur == 64 << 10 && got.rlim_max == 64 << 10, "prlimit64 system call reads 64 KiB, hard 64 KiB", (long)(got.rlim_cur >> 10));
	V(0, 0, "setresuid(0, 0, 0) as root", setresuid(0, 0, 0));

	V(0, 0, "root with CAP_IPC_LOCK maps 1 MiB over the limit (not charged)", map(1 << 20));
	V(-1, EINVAL, "PR_SET_KEEPCAPS 2 -> EINVAL", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
	V(-1, EINVAL, "setuid(-1) -> EINVAL", setuid((uid_t)-1));

	V(0, 0, "seteuid(1000)", seteuid(1000));
	caps(&eff, &perm);
	check(eff == 0 && perm != 0, "the effective UID leaving 0 empties the effective set, not the permitted one", eff);
	V(-1, ENOMEM, "euid 1000 without CAP_IPC_LOCK: 1 MiB over root's limit -> ENOMEM", map(1 << 20));
	V(0, 0, "seteuid(0)", seteuid(0));
	caps(&eff, &perm);
	check(eff == perm && perm != 0, "back to euid 0: effective = permitted", eff);
	V(0, 0, "root again maps 1 MiB", map(1 << 20));

	V(0, 0, "PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	V(0, 0, "setresuid(1000, 1000, 1000) keeping capabilities", setresuid(1000, 1000, 1000));
	caps(&eff, &perm);
	check(eff == 0 && perm != 0, "keep-caps: permitted kept, effective empty", eff);
	V(-1, ENOMEM, "uid 1000 without CAP_IPC_LOCK: 128 KiB -> ENOMEM", map(128 << 10));
	V(0, 0, "capset: CAP_IPC_LOCK effective again", capset_ipc_lock(CAP_IPC_LOCK_BIT, CAP_IPC_LOCK_BIT));
	V(0, 0, "uid 1000 with CAP_IPC_LOCK maps 1 MiB", map(1 << 20));
	V(-1, EPERM, "capset cannot take back a dropped permitted capability", capset_ipc_lock(CAP_IPC_LOCK_BIT, CAP_IPC_LOCK_BIT | (1u << 7)));
	V(0, 0, "capset: nothing left", capset_ipc_lock(0, 0));

	V(-1, EPERM, "setuid(0) without CAP_SETUID -> EPERM", setuid(0));
	V(-1, EPERM, "setreuid(-1, 2000) without CAP_SETUID -> EPERM", setreuid((uid_t)-1, 2000));
	V(0, 0, "setresuid to the IDs it has", setresuid(1000, 1000, 1000));
	V(0, 0, "setuid(1000) to its own real UID", setuid(1000));
	long before = fd_field(sfd, "VmPin");
	V(-1, ENOMEM, "uid 1000: 128 KiB over its 64 KiB -> ENOMEM", map(128 << 10));
	V(0, 0, "uid 1000: 32 KiB fits", map(32 << 10));
	long after = fd_field(sfd, "VmPin");
	check(before >= 0 && after - before == 32, "VmPin grew by the 32 KiB charged", after - before);
	V(0, 0, "uid 1000: 32 KiB more reaches the limit exactly", map(32 << 10));
	V(-1, ENOMEM, "uid 1000: one page past it -> ENOMEM", map(4096));

	/* a child of the dropped process pays to the same user */
	pid_t c = fork();
	if (c == 0) {
		failed = 0;
		V(-1, ENOMEM, "the child's 4 KiB: its user is at the limit -> ENOMEM", map(4096));
		_exit(failed);
	}
	int st = 0;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child agreed", st);
	return failed;
}
