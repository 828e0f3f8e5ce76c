// SPDX-License-Identifier: GPL-2.0-only
/*
 * HugePages_Rsvd around the zap of private hugetlb pages: the zap of the
 * last mapping of an anonymous folio in the VMA that owns the reservation
 * gives its huge page the reservation back (__unmap_hugepage_range(): at
 * once in the VMA's map, in resv_huge_pages when free_huge_folio() frees
 * the folio). A pin puts the free off, so while an IOAS maps the folio the
 * count is short: munmap returns every reservation of the VMA, a refault
 * after MADV_DONTNEED consumes the restored one, and the unsigned counter
 * prints below zero (2^64 - n) until the unmap unpins. A forked child owns
 * no reservation and restores none; a shared mapping's folio is not anon.
 * Each step prints its result, so that the oracle suite compares the output
 * on Linux 6.12 and 7.2 (128 huge pages reserved) with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "progs.h"

#define HP (2 << 20)

static void pool(const char *what)
{
	char l[128];
	long free = -1;
	unsigned long resv = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	while (fgets(l, sizeof(l), f)) {
		sscanf(l, "HugePages_Free: %ld", &free);
		sscanf(l, "HugePages_Rsvd: %lu", &resv);
	}
	fclose(f);
	char sys[32] = "";
	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "r");
	if (f) {
		if (!fgets(sys, sizeof(sys), f))
			sys[0] = 0;
		fclose(f);
	}
	sys[strcspn(sys, "\n")] = 0;
	printf("%s: free %ld, reserved %lu (sysfs %s)\n", what, free, resv, sys);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	char *p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		printf("no huge pages\n");
		return 1;
	}
	pool("two huge pages mapped");
	p[0] = 1;
	pool("the first touched");
	SAID("MADV_DONTNEED of it", madvise(p, HP, MADV_DONTNEED));
	pool("its reservation back");
	p[0] = 1;
	p[HP] = 1;
	pool("both touched");
	SAID("munmap of the first", munmap(p, HP));
	pool("one left");
	SAID("munmap of the second", munmap(p + HP, HP));
	pool("none left");

	p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	p[0] = 1;
	pid_t c = fork();
	if (c == 0) {
		madvise(p, HP, MADV_DONTNEED);
		pool("the child's MADV_DONTNEED of a shared folio");
		p[0] = 2;
		pool("the child touches it again");
		_exit(0);
	}
	waitpid(c, NULL, 0);
	pool("the child gone");
	SAID("the parent's MADV_DONTNEED", madvise(p, 2 * HP, MADV_DONTNEED));
	pool("its reservation back");
	SAID("munmap", munmap(p, 2 * HP));

	p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	memset(p, 1, 2 * HP);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 2 * HP, .iova = 1 << 24 };
	SAID("IOAS_MAP of both", ioctl(fd, IOMMU_IOAS_MAP, &m));
	SAID("munmap while pinned", munmap(p, 2 * HP));
	pool("pinned, unmapped");
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 1 << 24, .length = 2 * HP };
	SAID("IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	pool("unpinned");

	p = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	p[0] = 1;
	m.user_va = (uintptr_t)p;
	m.length = HP;
	SAID("IOAS_MAP", ioctl(fd, IOMMU_IOAS_MAP, &m));
	SAID("MADV_DONTNEED while pinned", madvise(p, HP, MADV_DONTNEED));
	pool("pinned, zapped");
	p[0] = 2;
	pool("touched again");
	u.length = HP;
	SAID("IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	pool("unpinned");
	SAID("munmap", munmap(p, HP));
	pool("none left");

	p = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	p[0] = 1;
	SAID("shared: MADV_DONTNEED", madvise(p, HP, MADV_DONTNEED));
	pool("shared, zapped");
	SAID("munmap", munmap(p, HP));
	pool("none left");
	printf("done\n");
	return 0;
}
