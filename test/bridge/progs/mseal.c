// SPDX-License-Identifier: GPL-2.0-only
/*
 * mseal(2) (mm/mseal.c, v6.10) beside iommufd: the argument checks, the seal
 * as a VMA flag (a VMA of its own, `sl` in smaps), and what a sealed VMA
 * refuses with EPERM: munmap of any range holding it, mprotect, mremap, a
 * MAP_FIXED over it, and discarding advice when it is read-only anonymous
 * memory; mlock, an IOAS_MAP pin and a fork (whose copy is sealed too) go
 * through. Called by number (the C library may not name it). One line per
 * check; exit 0 when all passed on Linux 6.12 and 7.2 and under exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096
#define NR_MSEAL 462

static long do_mseal(void *a, size_t l, unsigned long flags)
{
	return syscall(NR_MSEAL, a, l, flags);
}

/* the VMA holding `va` shows `sl` among its VmFlags */
static int sealed(void *va)
{
	char flags[512] = "";
	smaps_field(va, "Rss", flags);
	return strstr(flags, " sl") != NULL;
}

int main(void)
{
	/* 16 pages with a hole of 4 after them (whatever the layout has beyond) */
	char *a = mmap(NULL, 20 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long lo = (unsigned long)a, hi = lo + 16 * PG;
	munmap(a + 16 * PG, 4 * PG);
	memset(a, 7, 16 * PG);
	V(-1, EINVAL, "flags 1: EINVAL", do_mseal(a + 4 * PG, 2 * PG, 1));
	V(-1, EINVAL, "an unaligned start: EINVAL", do_mseal(a + 1, PG, 0));
	V(-1, ENOMEM, "a range running past the mapping: ENOMEM", do_mseal(a + 12 * PG, 8 * PG, 0));
	check(!sealed(a + 12 * PG), "nothing sealed by it", sealed(a + 12 * PG));
	V(0, 0, "an empty range: 0", do_mseal(a + 4 * PG, 0, 0));
	V(0, 0, "pages 4-5 sealed (the length rounds up)", do_mseal(a + 4 * PG, PG + 1, 0));
	check(vmas_in(lo, hi) == 3, "a VMA of their own", vmas_in(lo, hi));
	check(sealed(a + 4 * PG) && !sealed(a), "sl in smaps for them alone", sealed(a + 4 * PG));
	V(-1, EPERM, "munmap of the whole mapping: EPERM", munmap(a, 16 * PG));
	check(a[0] == 7 && a[15 * PG] == 7, "nothing was unmapped", a[0]);
	V(-1, EPERM, "munmap from page 2 on: EPERM", munmap(a + 2 * PG, 14 * PG));
	check(vmas_in(lo, hi) == 4, "the VMA it starts in was split all the same", vmas_in(lo, hi));
	V(-1, EPERM, "mprotect of a sealed page: EPERM", mprotect(a + 4 * PG, PG, PROT_READ));
	V(-1, EPERM, "mremap of it: EPERM", (long)mremap(a + 4 * PG, 2 * PG, 4 * PG, MREMAP_MAYMOVE));
	V(-1, EPERM, "a MAP_FIXED over it: EPERM", (long)mmap(a + 5 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	V(0, 0, "MADV_DONTNEED of writable sealed memory", madvise(a + 4 * PG, 2 * PG, MADV_DONTNEED));
	check(a[4 * PG] == 0, "its pages read zeros again", a[4 * PG]);
	V(0, 0, "mlock of it", mlock(a + 4 * PG, 2 * PG));
	V(0, 0, "munlock", munlock(a + 4 * PG, 2 * PG));
	V(0, 0, "munmap of the unsealed pages before", munmap(a, 4 * PG));
	check(vmas_in(lo, hi) == 2, "two VMAs left", vmas_in(lo, hi));

	char *b = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(b, 9, 4 * PG);
	V(0, 0, "read-only", mprotect(b, 4 * PG, PROT_READ));
	V(0, 0, "then sealed", do_mseal(b, 4 * PG, 0));
	V(-1, EPERM, "MADV_DONTNEED of sealed read-only memory: EPERM", madvise(b, 4 * PG, MADV_DONTNEED));
	V(-1, EPERM, "MADV_FREE: EPERM", madvise(b, 4 * PG, MADV_FREE));
	V(-1, EPERM, "MADV_DONTFORK: EPERM", madvise(b, 4 * PG, MADV_DONTFORK));
	V(0, 0, "MADV_COLD does not discard", madvise(b, 4 * PG, MADV_COLD));
	check(b[0] == 9 && b[3 * PG] == 9, "its contents stay", b[0]);

	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "a mock domain", ioctl(fd, IOMMU_TEST_CMD, &md));
	memset(a + 4 * PG, 3, 2 * PG);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas,
			      .user_va = (uintptr_t)(a + 4 * PG), .length = 2 * PG, .iova = 1ull << 24 };
	V(0, 0, "IOAS_MAP of the sealed pages pins them", ioctl(fd, IOMMU_IOAS_MAP, &m));
	V(0, 0, "the domain maps them", md_check_map(fd, md.out_hwpt_id, 1ull << 24, a + 4 * PG, 2 * PG));

	pid_t c = fork();
	if (c == 0)
		_exit(munmap(a + 4 * PG, 2 * PG) == -1 && errno == EPERM && mprotect(b, PG, PROT_READ | PROT_WRITE) == -1 && errno == EPERM ? 0 : 1);
	int st = -1;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's copies are sealed", st);

	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX };
	V(0, 0, "IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	check(u.length == 2 * PG, "of the two pages", (long)u.length);
	V(-1, EPERM, "still sealed: munmap EPERM", munmap(a + 4 * PG, PG));
	close(fd);
	return failed;
}
