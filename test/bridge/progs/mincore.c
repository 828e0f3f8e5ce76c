// SPDX-License-Identifier: GPL-2.0-only
/*
 * mincore(2) answers from the program's kernel, not the host's: a byte
 * written in a 2 MiB block is a THP (THP `always`, as the oracle VMs and
 * exec's model), so all 512 pages are resident; pages IOAS_MAP pinned for a
 * mock domain are resident though the program never touched them (GUP
 * faulted them in); a read maps the zero page (resident); MADV_DONTNEED
 * empties the range; a memfd page written through one mapping is resident
 * through another that never touched it (the page cache); an ACCESS_RW that
 * fails leaves its untouched buffer untouched, one that reads writes it. EINVAL, ENOMEM and
 * EFAULT as the kernel. The values are what Linux 6.12.95 and 7.2.13 answer;
 * one line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

#define HP (2 << 20)
#define PG 4096

static unsigned char vec[2 * HP / PG];

/* Pages of [va, va + len) mincore() says are resident; -1 (errno set) when the call fails. */
static long resident(void *va, size_t len)
{
	if (mincore(va, len, vec))
		return -1;
	long n = 0;
	for (size_t k = 0; k < (len + PG - 1) / PG; k++)
		n += vec[k] & 1;
	return n;
}

/* A 2 MiB-aligned block of a mapping of its own (its unaligned ends PROT_NONE). */
static char *block(void)
{
	char *m = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		exit(2);
	char *b = (char *)(((uintptr_t)m + HP - 1) & ~(uintptr_t)(HP - 1));
	if (b > m)
		mprotect(m, b - m, PROT_NONE);
	mprotect(b + HP, m + 2 * HP - (b + HP), PROT_NONE);
	return b;
}

int main(void)
{
	volatile char x;
	long v;

	char *a = block();
	v = resident(a, HP);
	check(v == 0, "a fresh block: nothing resident", v);
	a[PG] = 1;
	v = resident(a, HP);
	check(v == 512, "one byte written: the THP's 512 pages", v);
	madvise(a, HP, MADV_DONTNEED);
	v = resident(a, HP);
	check(v == 0, "MADV_DONTNEED: nothing", v);

	char *z = block();
	madvise(z, HP, MADV_NOHUGEPAGE);
	x = z[0];
	z[2 * PG] = 1;
	v = resident(z, 4 * PG);
	check(v == 2 && vec[0] == 1 && vec[1] == 0 && vec[2] == 1, "MADV_NOHUGEPAGE: the zero page read and a page written", v);

	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu", fd);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	char *p = block();
	madvise(p, HP, MADV_NOHUGEPAGE);
	struct ioas_map map = { .size = sizeof(map), .flags = 1 | 2 | 4, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 16 * PG, .iova = 1 << 24 };
	V(0, 0, "IOAS_MAP of 16 untouched pages", ioctl(fd, IOMMU_IOAS_MAP, &map));
	v = resident(p, 32 * PG);
	check(v == 16 && vec[15] == 1 && vec[16] == 0, "the 16 pinned pages resident (GUP faulted them), the rest not", v);
	/* ACCESS_RW touches its user buffer only once it gets that far: copy_to_user() after a read that succeeded */
	struct { uint32_t size, op, id, reserved; uint32_t out_access_fd, flags; uint32_t pad[58]; } ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	V(0, 0, "CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &ca));
	char *u = block();
	madvise(u, HP, MADV_NOHUGEPAGE);
	V(-1, EOPNOTSUPP, "ACCESS_RW with an unknown flag into an untouched buffer: EOPNOTSUPP", access_rw(fd, ca.out_access_fd, 1 << 24, u, 16, 1 << 8));
	V(-1, ENOENT, "ACCESS_RW read of an IOVA nothing maps: ENOENT", access_rw(fd, ca.out_access_fd, 1 << 30, u + PG, 16, 0));
	v = resident(u, 4 * PG);
	check(v == 0, "the failed reads never touched their buffers: nothing resident", v);
	V(0, 0, "ACCESS_RW read of the mapped IOVA", access_rw(fd, ca.out_access_fd, 1 << 24, u + 2 * PG, 16, 0));
	v = resident(u, 4 * PG);
	check(v == 1 && vec[2] == 1, "its copy_to_user() wrote its buffer's page: resident", v);

	int m = syscall(SYS_memfd_create, "mc", 0);
	check(m >= 0 && ftruncate(m, 8 * PG) == 0, "memfd of 32 KiB", m);
	char *s1 = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	char *s2 = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	s1[3 * PG] = 1;
	v = resident(s2, 8 * PG);
	check(v == 1 && vec[3] == 1, "a memfd page written through one mapping is resident through the other", v);

	errno = 0;
	v = resident(a + 1, PG);
	check(v == -1 && errno == EINVAL, "an unaligned start: EINVAL", v);
	char *h = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(h + 2 * PG, PG);
	errno = 0;
	v = resident(h, 3 * PG);
	check(v == -1 && errno == ENOMEM, "a range ending in a hole: ENOMEM", v);
	errno = 0;
	v = mincore(a, PG, NULL);
	check(v == -1 && errno == EFAULT, "a NULL vector: EFAULT", v);
	(void)x;
	return failed;
}
