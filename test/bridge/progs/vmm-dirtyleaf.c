/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dirty granularity of the mock page tables (7.2's AMDv1 leaf sizes) for hugetlb memory mapped at
 * differently aligned IOVAs; a bitmap straddling a page, in read-only memory, running into unmapped
 * memory.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* dirty granularity of hugetlb-backed RAM mapped at IOVAs of different alignment (leaf sizes), bitmap placement */
static int fd;
static uint32_t hw;
static void dirty(uint64_t iova)
{
	uint64_t bits = 1, nr = 0;
	errno = 0;
	int r = test_dirty(fd, hw, iova, 2048, 2048, &bits, &nr);
	P("dirty %llx -> %d %d nr=%llu\n", (unsigned long long)iova, r, r ? errno : 0, (unsigned long long)nr);
}
static char *bm0;
static int bmlen = 3 * 4096;
static void get(const char *what, uint64_t iova, uint64_t len, uint64_t psz, void *bm, int clear)
{
	memset(bm0, 0, bmlen);
	struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hw, .flags = clear ? 0 : IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, .iova = iova, .length = len, .page_size = psz, .data = (uintptr_t)bm };
	errno = 0;
	int rc = ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	P("%s -> %d %d", what, rc, rc ? errno : 0);
	uint8_t *b = bm;
	uint64_t cnt = 0, first = 0, last = 0;
	for (uint64_t i = 0; !rc && i < len / psz && (char *)b + i / 8 < bm0 + bmlen; i++)
		if (b[i / 8] & (1 << (i % 8))) { if (!cnt) first = i; last = i; cnt++; }
	P(" count=%llu first=%llu last=%llu\n", (unsigned long long)cnt, (unsigned long long)first, (unsigned long long)last);
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), st, h0, idev;
	R("attach", mock_dev(fd, ioas, 0, &st, &h0, &idev));
	hw = dirty_hwpt(fd, "hwpt dirty", idev, ioas);
	R("replace", md_replace(fd, st, hw, NULL));
	char *H = huge(4 << 20);
	if (!H) return 0;
	memset(H, 1, 4 << 20);
	char *M = H + (2 << 20);
	uint64_t iova;
	iova = 0x2000000; R("map a: 2M congruent", map(fd, ioas, H, 2 << 20, &iova, FX));
	iova = 0x2400000; R("map b: 64K phys+4K", map(fd, ioas, M + 0x1000, 0x10000, &iova, FX));
	iova = 0x2520000; R("map c: 384K congruent mod 128K", map(fd, ioas, M + 0x20000, 0x60000, &iova, FX));
	iova = 0x2600000; R("map d: 1M congruent", map(fd, ioas, M + 0x100000, 0x100000, &iova, FX));
	iova = 0x2a00800; R("map e: 2K-offset iova, phys+2K", map(fd, ioas, M + 0x800, 0x1000, &iova, FX));
	iova = 0x2b00000; R("map f: 12K from phys+0x3000 at iova 0x2b00000", map(fd, ioas, M + 0x83000, 0x3000, &iova, FX));
	R("track on", set_tracking(fd, hw, 1));
	char *bm = anon(3 * 4096);
	bm0 = bm;
	dirty(0x2000000 + 0x123800);
	get("a 2K", 0x2000000, 2 << 20, 2048, bm, 1);
	dirty(0x2400000 + 0x5800);
	get("b 2K", 0x2400000, 0x10000, 2048, bm, 1);
	dirty(0x2520000 + 0x800);
	dirty(0x2520000 + 0x40800);
	get("c 2K", 0x2500000, 0x100000, 2048, bm, 1);
	dirty(0x2600000 + 0x80000);
	get("d 2K", 0x2600000, 0x100000, 2048, bm, 1);
	dirty(0x2a00800 + 0x800);
	get("e 2K", 0x2a00000, 0x2000, 2048, bm, 1);
	dirty(0x2b00000 + 0x1000);
	get("f 2K", 0x2b00000, 0x4000, 2048, bm, 1);
	/* bitmap straddling a page boundary, then bitmaps partly unmapped / read-only */
	dirty(0x2000000 + 0x1ff800);
	get("a 2K bm straddling page", 0x2000000, 2 << 20, 2048, bm + 4096 - 64, 0);
	R("mprotect bm 3rd page ro", mprotect(bm + 8192, 4096, PROT_READ)); bmlen = 8192;
	get("a 2K bm into ro page", 0x2000000, 2 << 20, 2048, bm + 8192 - 64, 0);
	get("a 2K bm in ro page, nothing dirty range", 0x2400000, 0x10000, 2048, bm + 8192, 0);
	R("munmap bm 3rd page", munmap(bm + 8192, 4096));
	get("a 2K bm into unmapped", 0x2000000, 2 << 20, 2048, bm + 8192 - 64, 0);
	get("a 2K bm fits before unmapped", 0x2000000, 2 << 20, 2048, bm + 8192 - 128, 1);
	get("a again", 0x2000000, 2 << 20, 2048, bm, 1);
	return 0;
}
