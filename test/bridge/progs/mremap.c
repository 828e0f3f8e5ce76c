// SPDX-License-Identifier: GPL-2.0-only
/*
 * mremap(2) of memory an IOAS maps. The kernel moves page table entries, not
 * pages: a pinned buffer moved elsewhere is the same memory at its new
 * address (MD_CHECK_MAP against the new address passes, writes there reach
 * the pinned pages), while an area nothing pinned yet keeps its old user
 * address, and a later pin meets whatever is mapped there then. Also the
 * errno of each bad call (the order differs between 6.12 and 7.2, which
 * validates the parameters before it looks at the VMA), shrinking and
 * growing in place, MREMAP_DONTUNMAP, an mlocked mapping that grows, and a
 * move of two VMAs at once (7.2 moves both, 6.12 refuses). One line per
 * check; exit 0 when all passed. The kernel generation comes from uname,
 * or from argv[1] ("6" or "7") under exec, where uname is the host's.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/utsname.h>

#include "progs.h"

#define PG 4096UL
#define TEST_OP_MD_CHECK_MAP 3
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

struct tcmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int fd;

static int tc(struct tcmd *c)
{
	c->size = sizeof(*c);
	return ioctl(fd, IOMMU_TEST_CMD, c);
}

/* MD_CHECK_MAP of `n` pages at `iova` of domain `hwpt` against the user memory at `va` */
static int check_map(uint32_t hwpt, uint64_t iova, void *va, unsigned long n)
{
	struct tcmd c = { .op = TEST_OP_MD_CHECK_MAP, .id = hwpt, .u = { iova, n * PG, (uintptr_t)va } };
	return tc(&c);
}

static int ioas_map(uint32_t ioas, void *va, unsigned long n, uint64_t iova)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = n * PG, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

static char *anon(void *at, unsigned long n, int prot)
{
	return mmap(at, n * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED_NOREPLACE : 0), -1, 0);
}

static long sys_mremap(void *a, unsigned long ol, unsigned long nl, int flags, void *na)
{
	return (long)mremap(a, ol, nl, flags, na);
}

/* a free range of n pages (mapped and unmapped again) */
static char *hole(unsigned long n)
{
	char *p = anon(NULL, n, PROT_NONE);
	munmap(p, n * PG);
	return p;
}

int main(int argc, char **argv)
{
	struct utsname u;
	uname(&u);
	int v7 = argc > 1 ? argv[1][0] == '7' : u.release[0] == '7';
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd), bare = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	check(fd >= 0 && ioas && bare && ioctl(fd, IOMMU_TEST_CMD, &md) == 0, "open, two IOASes, a domain on the first", 0);
	uint32_t hwpt = md.out_hwpt_id;
	struct tcmd ca = { .op = TEST_OP_CREATE_ACCESS, .id = bare };
	check(tc(&ca) == 0, "an access on the second", 0);
	uint32_t acc = (uint32_t)ca.u[0];

	/* bad calls */
	/* 8 pages with a hole of 2 after them (the VMA ends there whatever was mapped above) */
	char *a = anon(NULL, 10, PROT_READ | PROT_WRITE);
	munmap(a + 8 * PG, 2 * PG);
	for (int i = 0; i < 8; i++)
		a[i * PG] = 'a' + i;
	V(-1, EINVAL, "unknown flag: EINVAL", sys_mremap(a, PG, PG, 8, NULL));
	V(-1, EINVAL, "MREMAP_FIXED without MAYMOVE: EINVAL", sys_mremap(a, PG, PG, MREMAP_FIXED, a + 4 * PG));
	V(-1, EINVAL, "MREMAP_DONTUNMAP without MAYMOVE: EINVAL", sys_mremap(a, PG, PG, MREMAP_DONTUNMAP, NULL));
	V(-1, EINVAL, "MREMAP_DONTUNMAP that resizes: EINVAL", sys_mremap(a, PG, 2 * PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, NULL));
	V(-1, EINVAL, "an unaligned address: EINVAL", sys_mremap(a + 1, PG, PG, 0, NULL));
	V(-1, EINVAL, "a new length of 0: EINVAL", sys_mremap(a, PG, 0, 0, NULL));
	char *gap = hole(4);
	V(-1, EFAULT, "nothing mapped at the address: EFAULT", sys_mremap(gap, PG, 2 * PG, MREMAP_MAYMOVE, NULL));
	/* 7.2 checks the new length against TASK_SIZE before it looks for a VMA */
	V(-1, v7 ? EINVAL : EFAULT, "a huge new length over nothing mapped: EFAULT on 6.12, EINVAL on 7.2", sys_mremap(gap, PG, 1UL << 62, MREMAP_MAYMOVE, NULL));
	V(-1, EINVAL, "a private mapping duplicated (old length 0): EINVAL", sys_mremap(a, 0, PG, MREMAP_MAYMOVE, NULL));
	V(-1, EINVAL, "MREMAP_FIXED onto the range itself: EINVAL", sys_mremap(a, 2 * PG, 2 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, a + PG));
	V(-1, EINVAL, "MREMAP_FIXED to an unaligned address: EINVAL", sys_mremap(a, PG, PG, MREMAP_FIXED | MREMAP_MAYMOVE, gap + 1));
	V(-1, EFAULT, "growing a range that runs past its VMA: EFAULT", sys_mremap(a + 6 * PG, 4 * PG, 6 * PG, MREMAP_MAYMOVE, NULL));
	char *wall = anon(a + 8 * PG, 1, PROT_READ);
	check(wall == a + 8 * PG, "a mapping right after it", (long)(wall - a));
	V(-1, ENOMEM, "growing with the next page taken and no MAYMOVE: ENOMEM", sys_mremap(a, 8 * PG, 9 * PG, 0, NULL));

	/* pinned, then moved: the domain keeps the pages, now at the new address */
	check(ioas_map(ioas, a, 8, 0x40100000) == 0, "map the 8 pages where the domain pins them", 0);
	check(ioas_map(bare, a, 8, 0x40100000) == 0, "and where nothing pins them yet", 0);
	char *b = (char *)sys_mremap(a, 8 * PG, 12 * PG, MREMAP_MAYMOVE, NULL);
	check(b != MAP_FAILED && b != a, "growing past the mapping after it moves the range", (long)(b - a));
	check(b[0] == 'a' && b[7 * PG] == 'h' && b[9 * PG] == 0, "the contents moved with it, the new pages read zero", b[0]);
	V(0, 0, "MD_CHECK_MAP: the domain maps the pages now at the new address", check_map(hwpt, 0x40100000, b, 8));
	V(-1, EFAULT, "and the old address holds nothing to check against", check_map(hwpt, 0x40100000, a, 8));
	b[PG] = 'B';
	char got = 0;
	check(access_rw(fd, acc, 0x40100000 + PG, &got, 1, RW_SLOW_PATH) == -1 && errno == EFAULT, "the area nothing pinned reads its old address: EFAULT", got);
	struct tcmd cp = { .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(tc(&cp) == 0, "an access on the pinned IOAS", 0);
	/* one page would be read at the user address (iopt_pages_rw_page()); two go through the pinned PFNs */
	static char two[2 * PG];
	V(-1, EFAULT, "a one-page slow read pins the old address: EFAULT", access_rw(fd, (uint32_t)cp.u[0], 0x40100000 + PG, &got, 1, RW_SLOW_PATH));
	V(0, 0, "a two-page one reads the pinned pages", access_rw(fd, (uint32_t)cp.u[0], 0x40100000 + PG, two, 2 * PG, RW_SLOW_PATH));
	check(two[0] == 'B' && two[PG] == 'c', "what was written at the new address", two[0]);
	struct tcmd md2 = { .op = TEST_OP_MOCK_DOMAIN, .id = bare };
	V(-1, EFAULT, "a domain attached to the unpinned IOAS pins the old address: EFAULT", tc(&md2));

	/* the old address mapped again: a pin now takes those pages */
	char *again = anon(a, 8, PROT_READ | PROT_WRITE);
	check(again == a, "new memory at the old address", (long)(again - a));
	a[0] = 'n';
	V(0, 0, "now the domain attaches", tc(&md2));
	V(0, 0, "and maps the old address's new pages", check_map((uint32_t)(md2.u[0] >> 32), 0x40100000, a, 8));
	V(0, 0, "ACCESS_RW reads them", access_rw(fd, acc, 0x40100000, &got, 1, RW_SLOW_PATH));
	check(got == 'n', "the byte written there", got);

	/* shrink and grow in place */
	char *c = anon(NULL, 6, PROT_READ | PROT_WRITE);
	memset(c, 'c', 6 * PG);
	check(ioas_map(ioas, c, 6, 0x40400000) == 0, "map 6 pages", 0);
	V((long)c, 0, "shrinking to 2 pages stays in place", sys_mremap(c, 6 * PG, 2 * PG, 0, NULL));
	got = 0;
	V(0, 0, "the pages unmapped by the shrink are still pinned", access_rw(fd, (uint32_t)cp.u[0], 0x40400000 + 4 * PG, two, 2 * PG, RW_SLOW_PATH));
	check(two[0] == 'c' && two[PG] == 'c', "with their contents", two[PG]);
	V(-1, EFAULT, "a one-page read of them meets the unmapped address", access_rw(fd, (uint32_t)cp.u[0], 0x40400000 + 5 * PG, &got, 1, RW_SLOW_PATH));
	V((long)c, 0, "growing back to 4 pages stays in place", sys_mremap(c, 2 * PG, 4 * PG, 0, NULL));
	check(c[PG] == 'c' && c[3 * PG] == 0, "the kept page keeps its bytes, the new ones read zero", c[3 * PG]);
	V(-1, EINVAL, "MD_CHECK_MAP against the grown range: the third page is a new one", check_map(hwpt, 0x40400000, c, 4));
	V(0, 0, "the first two still match", check_map(hwpt, 0x40400000, c, 2));

	/* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and empty */
	char *d = anon(NULL, 4, PROT_READ | PROT_WRITE);
	memset(d, 'd', 4 * PG);
	check(ioas_map(ioas, d, 4, 0x40800000) == 0, "map 4 pages", 0);
	char *e = (char *)sys_mremap(d, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	check(e != MAP_FAILED && e != d, "MREMAP_DONTUNMAP moves them", (long)(e - d));
	check(e[0] == 'd' && d[0] == 0, "the bytes are at the new address, the old one reads zero", d[0]);
	V(0, 0, "the domain maps the pages at the new address", check_map(hwpt, 0x40800000, e, 4));
	V(-1, EINVAL, "not the old one's fresh pages", check_map(hwpt, 0x40800000, d, 4));

	/* MREMAP_FIXED onto a mapping replaces it */
	char *f = anon(NULL, 2, PROT_READ | PROT_WRITE);
	char *h = anon(NULL, 2, PROT_READ | PROT_WRITE);
	memset(f, 'f', 2 * PG);
	memset(h, 'h', 2 * PG);
	check(ioas_map(ioas, f, 2, 0x40c00000) == 0, "map 2 pages", 0);
	V((long)h, 0, "MREMAP_FIXED moves them over another mapping", sys_mremap(f, 2 * PG, 2 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, h));
	check(h[0] == 'f', "which now holds the moved bytes", h[0]);
	V(0, 0, "and the pinned pages", check_map(hwpt, 0x40c00000, h, 2));

	/* an mlocked mapping grows: the new pages are locked and present */
	long lck0 = file_field("/proc/self/status", "VmLck");
	char *l = anon(NULL, 2, PROT_READ | PROT_WRITE);
	check(mlock(l, 2 * PG) == 0, "mlock 2 pages", 0);
	char *l2 = (char *)sys_mremap(l, 2 * PG, 5 * PG, MREMAP_MAYMOVE, NULL);
	check(l2 != MAP_FAILED, "grow it to 5", 0);
	check(file_field("/proc/self/status", "VmLck") - lck0 == 20, "VmLck counts the 5 pages", file_field("/proc/self/status", "VmLck") - lck0);
	unsigned char vec[5] = { 0 };
	check(mincore(l2, 5 * PG, vec) == 0 && vec[2] && vec[4], "the grown pages are present", vec[4]);

	/* two VMAs (different protections) moved at once */
	char *m = anon(NULL, 4, PROT_READ | PROT_WRITE);
	memset(m, 'm', 4 * PG);
	check(mprotect(m + 2 * PG, 2 * PG, PROT_READ) == 0, "make the upper half read-only: two VMAs", 0);
	char *to = hole(4);
	long r = sys_mremap(m, 4 * PG, 4 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, to);
	if (v7) {
		check(r == (long)to, "7.2 moves both VMAs of the range", r);
		check(r == (long)to && to[0] == 'm' && to[3 * PG] == 'm', "with their bytes", 0);
	} else {
		check(r == -1 && errno == EFAULT, "6.12 will not move a range across two VMAs: EFAULT", r);
		check(m[3 * PG] == 'm', "and leaves it where it was", m[3 * PG]);
	}
	/* MREMAP_FIXED of a range that runs past its VMA into a gap */
	char *p = anon(NULL, 4, PROT_READ | PROT_WRITE);
	memset(p, 'p', 2 * PG);
	munmap(p + 2 * PG, 2 * PG);
	char *pt = hole(4);
	r = sys_mremap(p, 4 * PG, 4 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, pt);
	if (v7)
		check(r == (long)pt && pt[PG] == 'p', "7.2 moves the part of the range that is mapped", r);
	else
		check(r == -1 && errno == EFAULT, "6.12: EFAULT past the VMA", r);
	/* DONTUNMAP compares the lengths as given (6.12) or page-aligned (7.2) */
	char *q = anon(NULL, 1, PROT_READ | PROT_WRITE);
	q[0] = 'q';
	r = sys_mremap(q, PG, PG - 1, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (v7)
		check(r != -1 && ((char *)r)[0] == 'q', "7.2: DONTUNMAP of 4096 to 4095 bytes is the same length", r);
	else
		check(r == -1 && errno == EINVAL, "6.12: DONTUNMAP of 4096 to 4095 bytes: EINVAL", r);

	/* a THP moved whole to a 2 MiB boundary stays one; moved 4 KiB off one it is split */
	char *raw = anon(NULL, 1536, PROT_READ | PROT_WRITE);
	char *t = (char *)(((uintptr_t)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	check(madvise(t, 2UL << 20, MADV_HUGEPAGE) == 0, "MADV_HUGEPAGE on 2 MiB", 0);
	memset(t, 't', 2UL << 20);
	check(smaps_field(t, "AnonHugePages", NULL) == 2048, "a THP", smaps_field(t, "AnonHugePages", NULL));
	check(ioas_map(ioas, t, 512, 0x41000000) == 0, "map it where the domain pins it", 0);
	char *t2 = t + (2UL << 20) * 2;
	V((long)t2, 0, "MREMAP_FIXED to another 2 MiB boundary", sys_mremap(t, 2UL << 20, 2UL << 20, MREMAP_FIXED | MREMAP_MAYMOVE, t2));
	check(smaps_field(t2, "AnonHugePages", NULL) == 2048, "still a THP there", smaps_field(t2, "AnonHugePages", NULL));
	V(0, 0, "the domain maps it at its new address", check_map(hwpt, 0x41000000, t2, 512));
	char *t3 = t + PG;
	V((long)t3, 0, "MREMAP_FIXED 4 KiB past the old boundary", sys_mremap(t2, 2UL << 20, 2UL << 20, MREMAP_FIXED | MREMAP_MAYMOVE, t3));
	check(smaps_field(t3, "AnonHugePages", NULL) == 0 && t3[(2UL << 20) - 1] == 't', "split to 4 KiB pages, the bytes kept", smaps_field(t3, "AnonHugePages", NULL));
	V(0, 0, "and the domain still maps the same pages", check_map(hwpt, 0x41000000, t3, 512));

	/* hugetlb: lengths rounded to the huge page, no growth, no DONTUNMAP (VM_DONTEXPAND), moves on its boundaries */
	char *hr = anon(NULL, 2048, PROT_NONE);
	char *hb = (char *)(((uintptr_t)hr + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	munmap(hr, 2048 * PG);
	char *hp = mmap(hb, 4UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED_NOREPLACE, -1, 0);
	check(hp == hb, "4 MiB of hugetlb", (long)hp);
	hp[0] = 'H';
	hp[(2UL << 20) + 1] = 'I';
	V((long)hp, 0, "shrinking hugetlb by 1 MiB rounds up to no change", sys_mremap(hp, 4UL << 20, 3UL << 20, 0, NULL));
	check(hp[(2UL << 20) + 1] == 'I', "the second huge page is still there", hp[(2UL << 20) + 1]);
	V((long)hp, 0, "shrinking it to 2 MiB", sys_mremap(hp, 4UL << 20, 2UL << 20, 0, NULL));
	V(-1, ENOMEM, "the second huge page is gone (madvise: ENOMEM)", madvise(hp + (2UL << 20), 2UL << 20, MADV_NORMAL));
	V(-1, EINVAL, "growing hugetlb: EINVAL", sys_mremap(hp, 2UL << 20, 4UL << 20, MREMAP_MAYMOVE, NULL));
	V(-1, EINVAL, "a hugetlb address off its huge page: EINVAL", sys_mremap(hp + PG, PG, PG, MREMAP_MAYMOVE, NULL));
	V(-1, EINVAL, "MREMAP_DONTUNMAP of hugetlb (VM_DONTEXPAND): EINVAL", sys_mremap(hp, 2UL << 20, 2UL << 20, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
	char *ht = hb + (4UL << 20);
	V((long)ht, 0, "moved to the next 2 MiB boundary but one", sys_mremap(hp, 2UL << 20, 2UL << 20, MREMAP_MAYMOVE | MREMAP_FIXED, ht));
	check(ht[0] == 'H' && smaps_field(ht, "KernelPageSize", NULL) == 2048, "its bytes, still a 2 MiB page", smaps_field(ht, "KernelPageSize", NULL));

	V(112 + 2048, 0, "VmPin counts the 28 pages and the THP the domains pinned, wherever they moved", file_field("/proc/self/status", "VmPin"));
	return failed;
}
