// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmap(2) checks the file before it looks at the address
 * (ksys_mmap_pgoff(): a descriptor that is no open file, or an O_PATH one,
 * is EBADF; MAP_HUGETLB of a file not on hugetlbfs EINVAL), then the address
 * (MAP_FIXED_NOREPLACE over a mapping: EEXIST), then what the file allows
 * (do_mmap(): a pipe has no mmap, ENODEV; a writable shared mapping of a
 * read-only open, EACCES). A MAP_FIXED that fails any of these leaves the
 * mapping it named as it was: here a buffer an IOAS maps through a mock
 * domain keeps its bytes, its pages (the domain still maps what the buffer
 * holds, each pinned once) and its VMA (a second IOAS_MAP of it succeeds).
 * And a MAP_HUGETLB refused for its descriptor leaves no huge mapping
 * behind at its 2 MiB-aligned address. MAP_SHARED_VALIDATE: refused for
 * anonymous memory, taken by MAP_HUGETLB's hugetlbfs file, which then checks
 * the flags (exec stands ordinary memory in for it). One line per check;
 * exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "progs.h"

#define PG 4096UL
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 3
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

/* mmap's errno (0: it mapped) */
static int mm(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	errno = 0;
	void *p = mmap(addr, len, prot, flags, fd, off);
	return p == MAP_FAILED ? errno : 0;
}

/* the bytes of buf are all c */
static int all(const char *buf, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

int main(void)
{
	const size_t len = 8 * PG;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 0x5a, len);
	int fd = open("/dev/iommu", O_RDWR);
	struct ioas_alloc al = { .size = sizeof(al) };
	V(0, 0, "IOAS_ALLOC", ioctl(fd, IOMMU_IOAS_ALLOC, &al));
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = al.out_ioas_id };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct ioas_map map = { .size = sizeof(map), .flags = MAP_WRITEABLE | MAP_READABLE, .ioas_id = al.out_ioas_id,
				.user_va = (uintptr_t)buf, .length = len };
	V(0, 0, "IOAS_MAP of the buffer (the mock domain pins it)", ioctl(fd, IOMMU_IOAS_MAP, &map));
	uint64_t iova1 = map.iova;
	V(0, 0, "MD_CHECK_REFS: each page pinned once", md_check_refs(fd, buf, len, 1));

	int pfd[2];
	V(0, 0, "pipe", pipe(pfd));
	int zero = open("/dev/zero", O_RDWR);
	int opath = open("/dev/zero", O_PATH);
	int ro = open("/proc/self/exe", O_RDONLY);
	check(zero >= 0 && opath >= 0 && ro >= 0, "opened /dev/zero (twice) and the program", 0);

	int e = mm(buf, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, -1, 0);
	check(e == EBADF, "MAP_FIXED over the buffer, fd -1 without MAP_ANONYMOUS: EBADF", e);
	e = mm(buf, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_HUGETLB, -1, 0);
	check(e == EBADF, "MAP_FIXED|MAP_HUGETLB without MAP_ANONYMOUS, fd -1: EBADF", e);
	e = mm(buf + PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, opath, 0);
	check(e == EBADF, "MAP_FIXED of an O_PATH descriptor: EBADF", e);
	e = mm(NULL, PG, PROT_READ, MAP_PRIVATE, opath, 0);
	check(e == EBADF, "an O_PATH descriptor anywhere: EBADF", e);
	e = mm(buf, PG, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_HUGETLB, zero, 0);
	check(e == EINVAL, "MAP_FIXED|MAP_HUGETLB of /dev/zero: EINVAL", e);
	e = mm(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_HUGETLB, ro, 0);
	check(e == EINVAL, "MAP_HUGETLB of a regular file: EINVAL", e);
	e = mm(buf + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, pfd[0], 0);
	check(e == ENODEV, "MAP_FIXED of a pipe: ENODEV", e);
	e = mm(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0);
	check(e == ENODEV, "a pipe anywhere: ENODEV", e);
	e = mm(buf + 3 * PG, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ro, 0);
	check(e == EACCES, "MAP_FIXED writable and shared of a read-only open: EACCES", e);
	e = mm(buf + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, pfd[0], 0);
	check(e == EEXIST, "MAP_FIXED_NOREPLACE of a pipe over the buffer: EEXIST before ENODEV", e);
	e = mm(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 100);
	check(e == EINVAL, "an offset not page-aligned: EINVAL before the descriptor", e);

	check(all(buf, len, 0x5a), "the buffer keeps its bytes", 0);
	V(0, 0, "MD_CHECK_MAP: the domain maps the buffer's own pages", md_check_map(fd, md.out_hwpt_id, iova1, buf, len));
	V(0, 0, "MD_CHECK_REFS: still pinned once each", md_check_refs(fd, buf, len, 1));
	map.iova = 0;
	V(0, 0, "and its VMA: a second IOAS_MAP of it", ioctl(fd, IOMMU_IOAS_MAP, &map));
	V(0, 0, "MD_CHECK_MAP of the second area: the same pages", md_check_map(fd, md.out_hwpt_id, map.iova, buf, len));
	V(0, 0, "MD_CHECK_REFS: pinned twice each (each area pins for itself)", md_check_refs(fd, buf, len, 2));

	/* a 2 MiB-aligned free place: MAP_HUGETLB refused for its descriptor maps nothing there */
	char *r = mmap(NULL, 4UL << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *h = (char *)(((uintptr_t)r + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	V(0, 0, "munmap of the reservation", munmap(r, 4UL << 20));
	e = mm(h, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_HUGETLB, -1, 0);
	check(e == EBADF, "MAP_FIXED|MAP_HUGETLB at a 2 MiB boundary, fd -1 without MAP_ANONYMOUS: EBADF", e);
	e = mm(h, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, -1, 0);
	check(e == EBADF, "then MAP_FIXED there, fd -1: EBADF again (no huge mapping was left)", e);
	e = mm(h + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_ANONYMOUS, -1, 0);
	check(e == 0, "MAP_FIXED_NOREPLACE of one page inside it maps", e);
	/* MAP_SHARED_VALIDATE: anonymous memory refuses it, a hugetlbfs file (MAP_HUGETLB's) checks the flags */
	e = mm(NULL, 4UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
	check(e == EINVAL, "MAP_SHARED_VALIDATE of anonymous memory: EINVAL", e);
	void *hp = MAP_FAILED;
	errno = 0;
	hp = mmap(NULL, 4UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << 26), -1, 0);
	check(hp != MAP_FAILED, "MAP_SHARED_VALIDATE|MAP_HUGETLB|MAP_HUGE_2MB: maps", errno);
	if (hp != MAP_FAILED)
		munmap(hp, 4UL << 20);
	e = mm(NULL, 4UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_SYNC, -1, 0);
	check(e == EOPNOTSUPP, "and with MAP_SYNC, which hugetlbfs does not support: EOPNOTSUPP", e);
	e = mm(NULL, 4UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_HUGETLB | 0x800000, -1, 0);
	check(e == EOPNOTSUPP, "and with an unknown flag: EOPNOTSUPP", e);

	memset(buf, 0x33, len);
	check(all(buf, len, 0x33), "the buffer is still writable", 0);
	return failed;
}
