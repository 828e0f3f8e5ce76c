/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Two dirty-tracking HWPTs on one IOAS: enabling clears old dirty bits, disabling keeps them; replace
 * while tracking; IOAS_COPY into a tracked IOAS; unmap of dirty areas.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* migration corner cases: enable clears old dirt, disable keeps/loses bits, two dirty hwpts on one IOAS, replace while tracking, copy into tracked IOAS */
static int fd;
static void dirty(uint32_t hw, uint64_t iova)
{
	uint64_t bits = 1, nr = 0;
	errno = 0;
	int r = test_dirty(fd, hw, iova, 4096, 4096, &bits, &nr);
	P("dirty %u %llx -> %d %d nr=%llu\n", hw, (unsigned long long)iova, r, r ? errno : 0, (unsigned long long)nr);
}
static void get(const char *t, uint32_t hw, uint64_t iova, uint64_t len, uint32_t fl)
{
	static uint8_t b[4096];
	memset(b, 0, sizeof(b));
	struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hw, .flags = fl, .iova = iova, .length = len, .page_size = 4096, .data = (uintptr_t)b };
	errno = 0;
	int rc = ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	P("%s get %u -> %d %d bits:", t, hw, rc, rc ? errno : 0);
	for (uint64_t i = 0; !rc && i < len / 4096; i++)
		if (b[i / 8] & (1 << (i % 8))) P(" %llu", (unsigned long long)i);
	P("\n");
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), s1, h0, i1, s2, i2;
	R("dev1", mock_dev(fd, ioas, 0, &s1, &h0, &i1));
	R("dev2", mock_dev(fd, ioas, 0, &s2, &h0, &i2));
	uint32_t ha = dirty_hwpt(fd, "hwpt alloc", i1, ioas), hb = dirty_hwpt(fd, "hwpt alloc", i2, ioas);
	P("ha=%u hb=%u\n", ha, hb);
	R("dev1->ha", md_replace(fd, s1, ha, NULL));
	R("dev2->hb", md_replace(fd, s2, hb, NULL));
	char *A = anon(64 << 10);
	memset(A, 1, 64 << 10);
	uint64_t iova, len;
	for (int i = 0; i < 16; i++) { iova = 0x1000000 + i * 4096; map(fd, ioas, A + i * 4096, 4096, &iova, FX); }
	R("ha on", set_tracking(fd, ha, 1));
	dirty(ha, 0x1001000);
	dirty(hb, 0x1002000);
	R("hb on", set_tracking(fd, hb, 1));
	dirty(hb, 0x1003000);
	get("ha", ha, 0x1000000, 64 << 10, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	get("hb", hb, 0x1000000, 64 << 10, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	R("ha off", set_tracking(fd, ha, 0));
	get("ha off", ha, 0x1000000, 64 << 10, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	R("ha on again", set_tracking(fd, ha, 1));
	get("ha on again", ha, 0x1000000, 64 << 10, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	dirty(ha, 0x1004000);
	R("dev1 ha->hb while tracking", md_replace(fd, s1, hb, NULL));
	get("ha no devices", ha, 0x1000000, 64 << 10, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	dirty(ha, 0x1005000);
	R("ha off no devices", set_tracking(fd, ha, 0));
	R("destroy ha", destroy(fd, ha));
	/* new maps while tracking on: clean; copy into the tracked IOAS */
	iova = 0x1100000; R("map while tracking", map(fd, ioas, A, 4096, &iova, FX));
	get("hb new map", hb, 0x1100000, 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	uint32_t src = ioas_new(fd);
	iova = 0x5000000; R("src map", map(fd, src, A, 64 << 10, &iova, FX));
	struct iommu_ioas_copy c = { .size = sizeof(c), .flags = FX, .dst_ioas_id = ioas, .src_ioas_id = src, .length = 4096, .dst_iova = 0x1200000, .src_iova = 0x5002000 };
	/* (one page: two copied 4K pages that happen to be physically adjacent make one 8K leaf of 7.2's mock, dirty together) */
	R("copy into tracked", ioctl(fd, IOMMU_IOAS_COPY, &c));
	dirty(hb, 0x1200000);
	get("hb copy", hb, 0x1200000, 4096, 0);
	R("unmap part of 4K areas range", unmap(fd, ioas, 0x1002000, 0x3000, &len)); P(" len=%llx\n", (unsigned long long)len);
	get("hb after unmap", hb, 0x1000000, 64 << 10, 0);
	R("hb off", set_tracking(fd, hb, 0));
	get("hb off", hb, 0x1000000, 64 << 10, 0);
	R("dev2 -> ioas auto", md_replace(fd, s2, ioas, NULL));
	R("destroy hb busy?", destroy(fd, hb));
	R("dev1 -> ioas auto", md_replace(fd, s1, ioas, NULL));
	R("destroy hb", destroy(fd, hb));
	return 0;
}
