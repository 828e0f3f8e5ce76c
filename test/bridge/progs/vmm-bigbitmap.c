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
	uint32_t hw = dirty_hwpt(fd, "hwpt", i, ioas);
	R("replace", md_replace(fd, s, hw, NULL));
	char *A = anon(64 << 10);
	memset(A, 1, 64 << 10);
	uint64_t iova;
	for (int k = 0; k < 4; k++) { iova = 0x1000000 + k * 0x10000000 + 0x1000; map(fd, ioas, A + k * 4096, 4096, &iova, FX); }
	iova = 0x7ffff000; R("map last page of aperture", map(fd, ioas, A + 0x8000, 4096, &iova, FX));
	R("track", set_tracking(fd, hw, 1));
	uint64_t bits = 1, nr;
	for (int k = 0; k < 4; k++) R("dirty", test_dirty(fd, hw, 0x1001000 + k * 0x10000000, 4096, 4096, &bits, &nr));
	R("dirty last 2K", test_dirty(fd, hw, 0x7ffff800, 2048, 2048, &bits, &nr));
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
