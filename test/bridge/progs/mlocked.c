// SPDX-License-Identifier: GPL-2.0-only
/*
 * MAP_LOCKED and mlock() answer to the model's RLIMIT_MEMLOCK, not to the
 * limit of the machine exec runs on (a container's hard limit of 8 MiB would
 * refuse the first 16 MiB here): root raises its limit to 40 MiB, drops
 * CAP_IPC_LOCK from its effective set and locks 16 MiB by mmap and 16 MiB by
 * mlock; the next 16 MiB are EAGAIN (mmap, mlock_future_ok()) and ENOMEM
 * (mlock, apply_vma_lock_flags()'s caller), VmLck stays 32 MiB, and iommufd's
 * pins meet the same limit. The values are what Linux 6.12.95 and 7.2.13
 * answer; one line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

#define MB (1ul << 20)

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	return syscall(SYS_capset, &h, d);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas != 0, "IOAS_ALLOC", 0);
	struct { uint32_t size, op, id, reserved; uint64_t u[30]; } md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "a mock domain: maps pin", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct rlimit rl = { 40 * MB, 40 * MB };
	V(0, 0, "RLIMIT_MEMLOCK 40 MiB", setrlimit(RLIMIT_MEMLOCK, &rl));
	V(0, 0, "CAP_IPC_LOCK dropped from the effective set", drop_ipc_lock());
	char *a = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	check(a != MAP_FAILED, "16 MiB MAP_LOCKED", (long)a);
	check(file_field("/proc/self/status", "VmLck") == 16384, "VmLck 16384 kB", file_field("/proc/self/status", "VmLck"));
	char *b = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	V(0, 0, "mlock of 16 MiB more", mlock(b, 16 * MB));
	check(file_field("/proc/self/status", "VmLck") == 32768, "VmLck 32768 kB", file_field("/proc/self/status", "VmLck"));
	errno = 0;
	void *c = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	check(c == MAP_FAILED && errno == EAGAIN, "16 MiB more MAP_LOCKED: EAGAIN", (long)c);
	char *d = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	V(-1, ENOMEM, "mlock of 16 MiB more: ENOMEM", mlock(d, 16 * MB));
	V(0, 0, "mlock of 8 MiB of it: 40 MiB, at the limit", mlock(d, 8 * MB));
	check(file_field("/proc/self/status", "VmLck") == 40960, "VmLck 40960 kB", file_field("/proc/self/status", "VmLck"));
	/* iommufd charges the user's locked_vm (account mode USER), which mlock does not touch */
	struct ioas_map m = { .size = sizeof(m), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)a, .length = 16 * MB };
	V(0, 0, "IOAS_MAP of the MAP_LOCKED 16 MiB", ioctl(fd, IOMMU_IOAS_MAP, &m));
	m.user_va = (uintptr_t)b;
	V(0, 0, "IOAS_MAP of the mlocked 16 MiB: 32 MiB pinned, the user's own count", ioctl(fd, IOMMU_IOAS_MAP, &m));
	m.user_va = (uintptr_t)d;
	V(-1, ENOMEM, "IOAS_MAP of 16 MiB more: over the limit", ioctl(fd, IOMMU_IOAS_MAP, &m));
	check(file_field("/proc/self/status", "VmPin") == 32768, "VmPin 32768 kB", file_field("/proc/self/status", "VmPin"));
	V(0, 0, "munlock of the mmap'd 16 MiB", munlock(a, 16 * MB));
	check(file_field("/proc/self/status", "VmLck") == 24576, "VmLck 24576 kB", file_field("/proc/self/status", "VmLck"));
	return failed;
}
