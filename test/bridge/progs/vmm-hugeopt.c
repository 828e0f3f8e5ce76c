/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HUGE_PAGES=0 and its effect on alignment and dirty granularity, toggled with areas present; 7.2's
 * MOCK_IOMMUPT_HUGE page table (ranges, a 2K-aligned map refused, 1M dirty leaves).
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* IOMMU_OPTION_HUGE_PAGES off as a VMM may set it: dirty granularity and alignment; the mock's huge page table type */
static int fd;
static int opt(uint32_t id, uint16_t op, uint32_t obj, uint64_t *val)
{
	struct iommu_option o = { .size = sizeof(o), .option_id = id, .op = op, .object_id = obj, .val64 = *val };
	int r = ioctl(fd, IOMMU_OPTION, &o);
	*val = o.val64;
	return r;
}
static void dirty(uint32_t hw, uint64_t iova)
{
	uint64_t bits = 1, nr = 0;
	errno = 0;
	int r = test_dirty(fd, hw, iova, 2048, 2048, &bits, &nr);
	P("dirty %llx -> %d %d nr=%llu\n", (unsigned long long)iova, r, r ? errno : 0, (unsigned long long)nr);
}
static void get(uint32_t hw, uint64_t iova, uint64_t len, uint64_t psz)
{
	static uint8_t b[8192];
	memset(b, 0, sizeof(b));
	struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hw, .iova = iova, .length = len, .page_size = psz, .data = (uintptr_t)b };
	errno = 0;
	int rc = ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	uint64_t cnt = 0, first = 0;
	for (uint64_t i = 0; !rc && i < len / psz; i++)
		if (b[i / 8] & (1 << (i % 8))) { if (!cnt) first = i; cnt++; }
	P("get %llx+%llx/%llx -> %d %d count=%llu first=%llu\n", (unsigned long long)iova, (unsigned long long)len, (unsigned long long)psz, rc, rc ? errno : 0, (unsigned long long)cnt, (unsigned long long)first);
}
/* dirty_hwpt() with selftest data choosing the mock page table (7.2: MOCK_IOMMUPT_HUGE; 0: no data), its id printed too */
static uint32_t typed_dirty_hwpt(uint32_t idev, uint32_t pt, uint32_t type)
{
	struct iommu_hwpt_selftest d = { .iotlb = 0, .pagetable_type = type };
	struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = idev, .pt_id = pt,
		.data_type = type ? IOMMU_HWPT_DATA_SELFTEST : 0, .data_len = type ? sizeof(d) : 0, .data_uptr = type ? (uintptr_t)&d : 0 };
	R("hwpt alloc", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	P(" id=%u\n", a.out_hwpt_id);
	return a.out_hwpt_id;
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	char *H = huge(4 << 20);
	if (!H) return 0;
	memset(H, 1, 4 << 20);
	uint32_t ioas = ioas_new(fd), st, h0, idev;
	uint64_t v, iova, len;
	v = 0; R("huge off (empty)", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	ranges(fd, ioas, "huge off no dev");
	iova = 0x1000800; R("map 2K-aligned iova, huge off, no dev", map(fd, ioas, H + 0x800, 0x1000, &iova, FX));
	R("attach", mock_dev(fd, ioas, 0, &st, &h0, &idev));
	uint32_t hw = typed_dirty_hwpt(idev, ioas, 0);
	R("replace", md_replace(fd, st, hw, NULL));
	ranges(fd, ioas, "huge off dev");
	iova = 0x2000000; R("map H 2M", map(fd, ioas, H, 2 << 20, &iova, FX));
	v = 1; R("huge on (areas+domain)", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	v = 0; R("huge off again", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	R("track on", set_tracking(fd, hw, 1));
	dirty(hw, 0x2123800);
	get(hw, 0x2000000, 2 << 20, 2048);
	R("unmap all", unmap(fd, ioas, 0, UINT64_MAX, &len));
	v = 1; R("huge on (domain, no areas)", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	iova = 0x2000000; R("map H 2M", map(fd, ioas, H, 2 << 20, &iova, FX));
	v = 0; R("huge off (areas+domain)", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	v = 9; R("get", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &v)); P(" val=%llu\n", (unsigned long long)v);
	dirty(hw, 0x2123800);
	get(hw, 0x2000000, 2 << 20, 2048);
	/* the mock's huge page table (7.2) */
	uint32_t ioas2 = ioas_new(fd);
	uint32_t hh = typed_dirty_hwpt(idev, ioas2, 1 /* MOCK_IOMMUPT_HUGE */);
	R("replace to huge pt", md_replace(fd, st, hh, NULL));
	ranges(fd, ioas2, "huge pt");
	iova = 0x2000000; R("huge pt map H 2M", map(fd, ioas2, H, 2 << 20, &iova, FX));
	iova = 0x2400000; R("huge pt map 64K", map(fd, ioas2, H + (2 << 20), 0x10000, &iova, FX));
	iova = 0x2800800; R("huge pt map 2K-aligned", map(fd, ioas2, H + (2 << 20) + 0x800, 0x800, &iova, FX));
	iova = 0x100000; R("huge pt map low iova", map(fd, ioas2, H + (3 << 20), 0x100000, &iova, FX));
	R("check map", check_map(fd, hh, 0x2000000, H, 2 << 20));
	R("track on huge", set_tracking(fd, hh, 1));
	dirty(hh, 0x2123800);
	get(hh, 0x2000000, 2 << 20, 2048);
	dirty(hh, 0x2401000);
	get(hh, 0x2400000, 0x10000, 2048);
	v = 0; R("huge off on ioas2", opt(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas2, &v));
	R("close", close(fd));
	return 0;
}
