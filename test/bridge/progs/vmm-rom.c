/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ROM-style mappings: READABLE-only maps of PROT_READ memory, PROT_NONE, no flags, a write-sealed
 * memfd through MAP and MAP_FILE, an O_RDONLY fd; device writes into ROM (EPERM).
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
static int access_rw_(int fd, uint32_t acc, uint64_t iova, void *p, uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_ACCESS_RW, .id = acc };
	c.access_rw.iova = iova; c.access_rw.length = len; c.access_rw.uptr = (uintptr_t)p; c.access_rw.flags = flags;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
/* QEMU-like ROM/readonly regions: READABLE-only maps, PROT_READ memory, sealed memfd, device write into ROM */
static int fd;
static int mapfile(uint32_t ioas, int mfd, uint64_t start, uint64_t len, uint64_t iova, uint32_t flags)
{
	struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } m = { 40, flags, ioas, mfd, start, len, iova };
	return ioctl(fd, _IO(IOMMUFD_TYPE, 0x8f), &m);
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), st, hw, idev;
	R("attach", mock_dev(fd, ioas, 0, &st, &hw, &idev));
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas };
	ca.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	R("create access", ioctl(fd, IOMMU_TEST_CMD, &ca));
	uint32_t acc = ca.create_access.out_access_fd;
	char *ro = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *none = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova;
	iova = 0x1000000; R("ro mem, R only", map(fd, ioas, ro, 1 << 20, &iova, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 0x1100000; R("ro mem, RW", map(fd, ioas, ro, 1 << 20, &iova, FX));
	iova = 0x1200000; R("none mem, R", map(fd, ioas, none, 1 << 20, &iova, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 0x1300000; R("no flags", map(fd, ioas, ro, 1 << 20, &iova, IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 0x1400000; R("W only on ro mem", map(fd, ioas, ro, 1 << 20, &iova, IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	int mfd = memfd_create("rom", MFD_ALLOW_SEALING);
	ftruncate(mfd, 1 << 20);
	char *w = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(w, 0x5a, 1 << 20);
	munmap(w, 1 << 20);
	R("seal write", fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE));
	char *sr = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, mfd, 0);
	iova = 0x1500000; R("sealed shared ro map, R", map(fd, ioas, sr, 1 << 20, &iova, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 0x1600000; R("sealed shared ro map, RW", map(fd, ioas, sr, 1 << 20, &iova, FX));
	R("sealed map_file R", mapfile(ioas, mfd, 0, 1 << 20, 0x1700000, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	R("sealed map_file RW", mapfile(ioas, mfd, 0, 1 << 20, 0x1800000, FX));
	char rofd_path[64]; snprintf(rofd_path, sizeof(rofd_path), "/proc/self/fd/%d", mfd);
	int rfd = open(rofd_path, O_RDONLY);
	R("rdonly fd map_file R", mapfile(ioas, rfd, 0, 1 << 20, 0x1900000, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	R("rdonly fd map_file RW", mapfile(ioas, rfd, 0, 1 << 20, 0x1a00000, FX));
	char buf[64];
	memset(buf, 0, sizeof(buf));
	R("device read ROM (sealed)", access_rw_(fd, acc, 0x1700010, buf, 16, 0)); P(" %02x%02x\n", (uint8_t)buf[0], (uint8_t)buf[15]);
	R("device write ROM", access_rw_(fd, acc, 0x1700010, buf, 16, MOCK_ACCESS_RW_WRITE));
	R("device write ROM slow", access_rw_(fd, acc, 0x1700010, buf, 16, MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
	R("device read ro anon", access_rw_(fd, acc, 0x1000000, buf, 16, 0)); P(" %02x\n", (uint8_t)buf[0]);
	R("device write ro anon (R only)", access_rw_(fd, acc, 0x1000000, buf, 16, MOCK_ACCESS_RW_WRITE));
	R("device read unmapped", access_rw_(fd, acc, 0x1f00000, buf, 16, 0));
	R("device read spanning ro anon end", access_rw_(fd, acc, 0x10ffff8, buf, 16, 0));
	R("check map ro", check_map(fd, hw, 0x1000000, ro, 1 << 20));
	R("check map sealed", check_map(fd, hw, 0x1500000, sr, 1 << 20));
	uint64_t len;
	R("unmap all", unmap(fd, ioas, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	return 0;
}
