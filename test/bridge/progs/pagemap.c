// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/self/pagemap as the model's page tables answer it: present, file or
 * shared, mapped exclusively, the PFN for a reader with CAP_SYS_ADMIN; the
 * zero page and the huge zero page; copy-on-write after fork (a pinned page
 * excepted); a memfd mapped twice; THP and hugetlb; the entry-size rules of
 * pagemap_read(). Pages the program touched with its own CPU count. Start
 * it as root (under exec: --caps all). The expected values are what Linux
 * 6.12.95 and 7.2.13 answer; one line per check, exit 0 when all passed.
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
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096
/* bits 55..63 of an entry, shifted down: 0x100 present, 0x40 file or shared, 0x2 exclusive */
#define PRESENT 0x100
#define FILEPG 0x40
#define EXCL 0x2

struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };
static int pmfd;

static uint64_t ent(void *va)
{
	uint64_t e = 0;
	if (pread(pmfd, &e, 8, ((uintptr_t)va / PG) * 8) != 8)
		return ~0ull;
	return e;
}
static uint64_t pfn(void *va) { return ent(va) & ((1ull << 55) - 1); }
static unsigned flags(void *va) { return (unsigned)(ent(va) >> 55); }
static void expect_flags(void *va, unsigned want, const char *what)
{
	unsigned got = flags(va);
	check(got == want, what, got);
}

/* The VmFlags line of the smaps entry of the VMA holding `va` has `flag` (" gu"). */
static int smaps_has_flag(void *va, const char *flag)
{
	static char buf[1 << 20];
	int fd = open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		return 0;
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = 0;
	char head[32];
	snprintf(head, sizeof(head), "%lx-", (unsigned long)(uintptr_t)va);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, head, strlen(head)) != 0)
			continue;
		char *f = strstr(l, "VmFlags:");
		if (!f)
			return 0;
		char *end = strchr(f, '\n');
		if (end)
			*end = 0;
		return strstr(f, flag) != NULL;
	}
	return 0;
}

int main(void)
{
	uint64_t e8[2];
	volatile char x;
	pmfd = open("/proc/self/pagemap", O_RDONLY);
	check(pmfd >= 0, "open /proc/self/pagemap", pmfd);
	V(-1, EINVAL, "a read at a position that is no whole entry -> EINVAL", pread(pmfd, e8, 8, 4));
	V(-1, EINVAL, "a read of a count that is no whole entry -> EINVAL", pread(pmfd, e8, 12, 0));
	V(0, 0, "a read of 0 bytes", pread(pmfd, e8, 0, 0));
	V(8, 0, "a read over the end of the address space stops there", pread(pmfd, e8, 16, (0x7ffffffff000ull / PG) * 8 - 8));
	V(0, 0, "a read past it reads nothing", pread(pmfd, e8, 16, (0x7ffffffff000ull / PG) * 8 + 8));
	V(16, 0, "read() moves the position", read(pmfd, e8, 16));
	V(16, 0, "lseek(SEEK_CUR) reports it", lseek(pmfd, 0, SEEK_CUR));

	char *a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_flags(a, 0, "anonymous, untouched: no entry");
	x = a[PG];
	expect_flags(a + PG, PRESENT, "anonymous, read: the zero page (present only)");
	check(pfn(a + PG) != 0, "the zero page's PFN shows to CAP_SYS_ADMIN", 0);
	x = a[4 * PG];
	check(pfn(a + 4 * PG) == pfn(a + PG), "every read page is the one zero page", 0);
	a[2 * PG] = 1;
	expect_flags(a + 2 * PG, PRESENT | EXCL, "anonymous, written: present, exclusive");

	/* fork: copy-on-write shares the page while the child lives */
	a[5 * PG] = 1;
	int p2[2];
	check(pipe(p2) == 0, "pipe", 0);
	pid_t c = fork();
	if (c == 0) {
		char b;
		_exit(read(p2[0], &b, 1) == 1 ? 0 : 1);
	}
	expect_flags(a + 5 * PG, PRESENT, "written before fork: shared with the child (not exclusive)");
	a[6 * PG] = 1;
	expect_flags(a + 6 * PG, PRESENT | EXCL, "written after fork: the parent's own");
	check(write(p2[1], "x", 1) == 1 && waitpid(c, NULL, 0) == c, "the child exits", 0);
	expect_flags(a + 5 * PG, PRESENT | EXCL, "the child gone: exclusive again");

	/* a DMA-pinned page is copied for the child at fork: the parent's stays exclusive */
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	a[7 * PG] = 1;
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)(a + 7 * PG), .length = PG, .iova = 1 << 24 };
	V(0, 0, "IOAS_MAP pins a written page", ioctl(fd, IOMMU_IOAS_MAP, &m));
	uint64_t before = pfn(a + 7 * PG);
	c = fork();
	if (c == 0) {
		char b;
		_exit(read(p2[0], &b, 1) == 1 ? 0 : 1);
	}
	expect_flags(a + 7 * PG, PRESENT | EXCL, "pinned page while the child lives: still exclusive (the child got a copy)");
	check(pfn(a + 7 * PG) == before, "the parent keeps the pinned page", 0);
	check(write(p2[1], "x", 1) == 1 && waitpid(c, NULL, 0) == c, "the child exits", 0);
	V(0, 0, "MADV_DONTNEED of the pinned page", madvise(a + 7 * PG, PG, MADV_DONTNEED));
	expect_flags(a + 7 * PG, 0, "after MADV_DONTNEED: no entry (the pin holds the page, not the mapping)");

	/* a memfd mapped shared twice, and privately */
	int mfd = memfd_create("m", 0);
	check(ftruncate(mfd, 4 * PG) == 0, "memfd of 4 pages", mfd);
	char *s1 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	char *s2 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	s1[0] = 1;
	expect_flags(s1, PRESENT | FILEPG | EXCL, "memfd page written through one mapping: file, exclusive");
	x = s2[0];
	expect_flags(s1, PRESENT | FILEPG, "the same page read through the second mapping: no longer exclusive");
	check(pfn(s1) == pfn(s2), "both mappings show one PFN", 0);
	expect_flags(s1 + PG, 0, "memfd page untouched: no entry");
	x = s1[2 * PG];
	expect_flags(s1 + 2 * PG, PRESENT | FILEPG | EXCL, "memfd hole read: a page cache page");
	char *pr = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	x = pr[0];
	expect_flags(pr, PRESENT | FILEPG, "private mapping read: the page cache page, mapped thrice");
	pr[0] = 2;
	expect_flags(pr, PRESENT | EXCL, "private mapping written: an anonymous copy");

	/* THP and the huge zero page */
	char *t = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ta = (char *)(((uintptr_t)t + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	V(0, 0, "MADV_HUGEPAGE", madvise(ta, 2 << 20, MADV_HUGEPAGE));
	ta[0] = 1;
	expect_flags(ta + 7 * PG, PRESENT | EXCL, "THP written at its head: the whole 2 MiB present, exclusive");
	check(pfn(ta + 7 * PG) == pfn(ta) + 7, "the THP's PFNs are contiguous", 0);
	char *tz = mmap(NULL, 4 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *tza = (char *)(((uintptr_t)tz + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	V(0, 0, "MADV_HUGEPAGE (read-only)", madvise(tza, 2 << 20, MADV_HUGEPAGE));
	x = tza[0];
	expect_flags(tza + 3 * PG, PRESENT | FILEPG, "THP read: the huge zero page (no anonymous folio, not mapcounted)");

	/* hugetlb: one write maps the whole folio */
	char *h = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "MAP_HUGETLB", 0);
	if (h != MAP_FAILED) {
		h[0] = 1;
		expect_flags(h + 5 * PG, PRESENT | EXCL, "hugetlb written at its start: page 5 present, exclusive");
	}
	char *pn = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_flags(pn, 0, "PROT_NONE: no entry");
	munmap(pn, 4 * PG);
	expect_flags(pn, 0, "unmapped: no entry");

	/* guard regions (7.x; 6.12 refuses the advice): a swap-type entry with the guard bit, the marker as its frame */
	char *g = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g[0] = 1;
	g[PG] = 1;
	errno = 0;
	int gr = madvise(g, PG, 102 /* MADV_GUARD_INSTALL */);
	if (gr == 0) {
		check(ent(g) == ((1ull << 62) | (1ull << 58) | 0x9f), "guard marker: swap, guard region, frame 0x9f (SWP_PTE_MARKER | PTE_MARKER_GUARD << 5)", (long)(ent(g) >> 55));
		check(smaps_has_flag(g, " gu"), "smaps VmFlags: gu on the VMA", 0);
	} else {
		check(errno == EINVAL, "no guard regions: MADV_GUARD_INSTALL -> EINVAL", errno);
		check(!smaps_has_flag(g, " gu"), "smaps VmFlags: no gu", 0);
	}
	expect_flags(g + PG, PRESENT | EXCL, "the page after the guard: present, exclusive");
	(void)x;
	return failed;
}
