/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Live-migration dirty tracking: SET_DIRTY_TRACKING on, off and twice, bad flags; TEST_OP_DIRTY on
 * hugetlb and anonymous memory (one 4 KiB page per area, so that no two pages share a mock leaf by
 * physical placement), GET_DIRTY_BITMAP with and without NO_CLEAR at page sizes 2K to 2M and 3K,
 * misaligned bitmap pointers, iova or length, length 0, wrap, past the aperture, a span over a hole
 * (7.2 and 6.12 stop at the hole and still return 0), unmap and remap.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* live migration dirty tracking as QEMU's iommufd backend does it, hugetlb and anon RAM */
static int fd;
static uint64_t bm[2048 + 1];
static int dirty_op(uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t psz, uint64_t *bits)
{
	uint64_t nr = 0;
	int r = test_dirty(fd, hwpt, iova, len, psz, bits, &nr);
	P("  nr_dirty=%llu ", (unsigned long long)nr);
	return r;
}
static void get(const char *what, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t psz, uint32_t flags, int off)
{
	memset(bm, 0, sizeof(bm));
	struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hwpt, .flags = flags, .iova = iova, .length = len, .page_size = psz, .data = (uintptr_t)((char *)bm + off) };
	errno = 0;
	int rc = ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	P("%s -> %d %d", what, rc, rc ? errno : 0);
	uint8_t *b = (uint8_t *)bm + off;
	uint64_t n = psz ? len / psz : 0, cnt = 0;
	for (uint64_t i = 0; !rc && i < n && i < 8 * 8 * 2048 - 64; i++)
		if (b[i / 8] & (1 << (i % 8))) { if (cnt < 6) P(" b%llu", (unsigned long long)i); cnt++; }
	P(" count=%llu\n", (unsigned long long)cnt);
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), st, hw0, idev;
	R("attach", mock_dev(fd, ioas, 0, &st, &hw0, &idev));
	uint32_t hw = dirty_hwpt(fd, "hwpt dirty", idev, ioas);
	R("replace", md_replace(fd, st, hw, NULL));
	char *H = huge(4 << 20), *A = anon(1 << 20);
	madvise(A, 1 << 20, MADV_NOHUGEPAGE);
	memset(A, 1, 1 << 20);
	uint64_t iova = 0x2000000;
	/* (one area per 2 MiB folio: two folios the VM happens to place side by side would make a larger leaf of 7.2's mock) */
	if (H) {
		memset(H, 1, 4 << 20);
		R("map H", map(fd, ioas, H, 2 << 20, &iova, FX));
		iova = 0x2200000;
		if (map(fd, ioas, H + (2 << 20), 2 << 20, &iova, FX)) P("map H upper half failed %d\n", errno);
	}
	for (int i = 0; i < 16; i++) { iova = 0x3000000 + i * 4096; if (map(fd, ioas, A + i * 4096, 4096, &iova, FX)) P("map A %d failed %d\n", i, errno); }
	get("get before enable", hw, 0x2000000, 4 << 20, 4096, 0, 0);
	R("get on auto hwpt (no dirty)", 0); get(" auto", hw0, 0x2000000, 4 << 20, 4096, 0, 0);
	R("track on auto hwpt", set_tracking(fd, hw0, 1));
	R("track bad flag", set_tracking(fd, hw, 2));
	R("track on", set_tracking(fd, hw, 1));
	R("track on again", set_tracking(fd, hw, 1));
	uint64_t bits[4] = { 1 };
	R("dirty H 4K@+4K", dirty_op(hw, 0x2001000, 4096, 4096, bits));
	R("dirty A 4K@+8K", dirty_op(hw, 0x3002000, 4096, 4096, bits));
	R("dirty A 2K@+0x41800", dirty_op(hw, 0x3009800, 2048, 2048, bits));
	R("dirty unmapped", dirty_op(hw, 0x4000000, 4096, 4096, bits));
	get("H 4K noclear", hw, 0x2000000, 4 << 20, 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("H 2M noclear", hw, 0x2000000, 4 << 20, 2 << 20, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("H 64K unaligned bm +4", hw, 0x2000000, 4 << 20, 65536, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 4);
	get("H 4K unaligned bm +1", hw, 0x2000000, 4 << 20, 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1);
	get("A 4K noclear", hw, 0x3000000, 0x10000, 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("A 2K noclear", hw, 0x3000000, 0x10000, 2048, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("A 8K noclear", hw, 0x3000000, 0x10000, 8192, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("span H..A 4K noclear", hw, 0x2000000, 0x3010000 - 0x2000000, 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0);
	get("iova unaligned to psz", hw, 0x2001000, 1 << 20, 8192, 0, 0);
	get("len unaligned", hw, 0x2000000, 0x3000, 8192, 0, 0);
	get("psz 0", hw, 0x2000000, 1 << 20, 0, 0, 0);
	get("psz 3K", hw, 0x2000000, 0x300000, 3072, 0, 0);
	get("len 0", hw, 0x2000000, 0, 4096, 0, 0);
	get("bad flag", hw, 0x2000000, 1 << 20, 4096, 2, 0);
	get("beyond aperture", hw, 0x7ff00000, 2 << 20, 4096, 0, 0);
	get("wrapping", hw, 0xfffffffffff00000ULL, 2 << 20, 4096, 0, 0);
	get("H part clear 1M", hw, 0x2000000, 1 << 20, 4096, 0, 0);
	get("H all after part clear", hw, 0x2000000, 4 << 20, 4096, 0, 0);
	get("H all again", hw, 0x2000000, 4 << 20, 4096, 0, 0);
	get("A 4K clear", hw, 0x3000000, 0x10000, 4096, 0, 0);
	get("A again", hw, 0x3000000, 0x10000, 4096, 0, 0);
	R("dirty A again", dirty_op(hw, 0x3002000, 4096, 4096, bits));
	R("unmap A (dirty)", unmap(fd, ioas, 0x3000000, 0x10000, &iova));
	iova = 0x3000000; R("remap A", map(fd, ioas, A, 1 << 20, &iova, FX));
	get("A after remap", hw, 0x3000000, 0x10000, 4096, 0, 0);
	R("track off", set_tracking(fd, hw, 0));
	R("dirty when off", dirty_op(hw, 0x3002000, 4096, 4096, bits));
	get("A when off", hw, 0x3000000, 0x10000, 4096, 0, 0);
	R("track off again", set_tracking(fd, hw, 0));
	R("track on 2", set_tracking(fd, hw, 1));
	get("A on 2", hw, 0x3000000, 0x10000, 4096, 0, 0);
	return 0;
}
