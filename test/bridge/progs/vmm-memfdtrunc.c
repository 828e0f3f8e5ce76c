/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A memfd shrunk or hole-punched under a MAP_FILE area, before attach and while pinned: stale
 * device reads and MD_CHECK_MAP mismatch.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
/* guest RAM memfd shrunk / hole-punched under a MAP_FILE area: before attach and while pinned */
static int fd;
static int mapfile(uint32_t ioas, int mfd, uint64_t start, uint64_t len, uint64_t iova)
{
	struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } m = { 40, FX, ioas, mfd, start, len, iova };
	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t io1 = ioas_new(fd), io2 = ioas_new(fd), s, hw, i;
	int m1 = memfd_create("a", 0), m2 = memfd_create("b", 0);
	ftruncate(m1, 2 << 20); ftruncate(m2, 2 << 20);
	char *p1 = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, m1, 0);
	char *p2 = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, m2, 0);
	memset(p1, 0x11, 2 << 20); memset(p2, 0x22, 2 << 20);
	R("io1 mapfile (no domain)", mapfile(io1, m1, 0, 2 << 20, 0x1000000));
	R("mapfile beyond EOF", mapfile(io1, m1, 1 << 20, 2 << 20, 0x1400000));
	R("shrink m1 to 1M", ftruncate(m1, 1 << 20));
	R("attach io1 (area past EOF now)", mock_dev(fd, io1, 0, &s, &hw, &i));
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = io1 };
	R("access io1", ioctl(fd, IOMMU_TEST_CMD, &ca));
	uint32_t a1 = ca.create_access.out_access_fd;
	char b[16] = { 0 };
	R("rw io1 below EOF", access_rw_at(fd, a1, 0x1000000, b, 16, 0)); P(" %02x\n", (uint8_t)b[0]);
	R("rw io1 past EOF", access_rw_at(fd, a1, 0x1180000, b, 16, 0));
	R("rw io1 past EOF slow", access_rw_at(fd, a1, 0x1180000, b, 16, MOCK_ACCESS_RW_SLOW_PATH));
	R("grow m1 back", ftruncate(m1, 2 << 20));
	R("rw io1 after regrow", access_rw_at(fd, a1, 0x1180000, b, 16, 0)); P(" %02x\n", (uint8_t)b[0]);
	R("attach io1 after regrow", mock_dev(fd, io1, 0, &s, &hw, &i));
	R("io2 attach", mock_dev(fd, io2, 0, &s, &hw, &i));
	P("ids %u %u %u\n", s, hw, i);
	R("io2 mapfile (pinned)", mapfile(io2, m2, 0, 2 << 20, 0x1000000));
	struct iommu_test_cmd cb = { .size = sizeof(cb), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = io2 };
	R("access io2", ioctl(fd, IOMMU_TEST_CMD, &cb));
	uint32_t a2 = cb.create_access.out_access_fd;
	R("check map before punch", check_map(fd, hw, 0x1000000, p2, 2 << 20));
	R("punch hole 0..1M", fallocate(m2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
	P("cpu sees %02x\n", (uint8_t)p2[0]);
	R("device reads punched", access_rw_at(fd, a2, 0x1000000, b, 16, 0)); P(" %02x\n", (uint8_t)b[0]);
	R("device reads punched slow", access_rw_at(fd, a2, 0x1000000, b, 16, MOCK_ACCESS_RW_SLOW_PATH)); P(" %02x\n", (uint8_t)b[0]);
	R("check map punched half", check_map(fd, hw, 0x1000000, p2, 1 << 20));
	R("check map other half", check_map(fd, hw, 0x1100000, p2 + (1 << 20), 1 << 20));
	R("shrink m2 to 0", ftruncate(m2, 0));
	R("device reads after shrink", access_rw_at(fd, a2, 0x1100000, b, 16, 0)); P(" %02x\n", (uint8_t)b[0]);
	uint64_t len;
	R("unmap io2", unmap(fd, io2, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("mapfile of empty file", mapfile(io2, m2, 0, 4096, 0x1000000));
	R("close", close(fd));
	return 0;
}
