/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A dirty bitmap of 64 GiB of IOVA space (4 MiB of bitmap, several iova_bitmap chunks) and a
 * bitmap pointer 4093 bytes into a page.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* QEMU asks for the dirty bitmap of the whole guest address space: a multi-MiB bitmap (iova_bitmap chunks), offset pointer */
static int fd;
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), s, h0, i;
	R("dev", mock_dev(fd, ioas, 0, &s, &h0, &i));
	struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = i, .pt_id = ioas };
	R("hwpt", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	uint32_t hw = a.out_hwpt_id;
	R("replace", md_replace(fd, s, hw, NULL));
	char *A = anon(64 << 10);
	memset(A, 1, 64 << 10);
	uint64_t iova;
	for (int k = 0; k < 4; k++) { iova = 0x1000000 + k * 0x10000000 + 0x1000; map(fd, ioas, A + k * 4096, 4096, &iova, FX); }
	iova = 0x7ffff000; R("map last page of aperture", map(fd, ioas, A + 0x8000, 4096, &iova, FX));
	struct iommu_hwpt_set_dirty_tracking st = { .size = sizeof(st), .flags = 1, .hwpt_id = hw };
	R("track", ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &st));
	uint64_t bits = 1;
	for (int k = 0; k < 4; k++) {
		struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_DIRTY, .id = hw };
		c.dirty.iova = 0x1001000 + k * 0x10000000; c.dirty.length = 4096; c.dirty.page_size = 4096; c.dirty.uptr = (uintptr_t)&bits;
		R("dirty", ioctl(fd, IOMMU_TEST_CMD, &c));
	}
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_DIRTY, .id = hw };
	c.dirty.iova = 0x7ffff800; c.dirty.length = 2048; c.dirty.page_size = 2048; c.dirty.uptr = (uintptr_t)&bits;
	R("dirty last 2K", ioctl(fd, IOMMU_TEST_CMD, &c));
	size_t bml = (8 << 20) + 4096;
	uint8_t *bm = anon(bml);
	uint64_t psz[] = { 2048, 4096, 2048 };
	uint64_t lens[] = { 1ULL << 36, 1ULL << 36, 1ULL << 31 };
	int offs[] = { 8, 0, 4093 };
	for (int t = 0; t < 3; t++) {
		memset(bm, 0, bml);
		struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hw, .flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, .iova = 0, .length = lens[t], .page_size = psz[t], .data = (uintptr_t)(bm + offs[t]) };
		errno = 0;
		int rc = ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
		P("get len=%llx psz=%llu off=%d -> %d %d bits:", (unsigned long long)lens[t], (unsigned long long)psz[t], offs[t], rc, rc ? errno : 0);
		uint64_t n = lens[t] / psz[t];
		uint8_t *b = bm + offs[t];
		for (uint64_t x = 0; !rc && x < n / 8; x++)
			if (b[x]) for (int y = 0; y < 8; y++) if (b[x] & (1 << y)) P(" %llx", (unsigned long long)(x * 8 + y));
		P("\n");
	}
	return 0;
}
