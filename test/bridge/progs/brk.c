// SPDX-License-Identifier: GPL-2.0-only
/*
 * The program break as DMA memory: the heap brk() grows, mapped into an IOAS
 * with a mock domain, read through an access, then shrunk away under the pin
 * and grown again (fresh zeroed pages at the same addresses). Each step
 * prints its result, so that the oracle suite compares the output on Linux
 * 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "progs.h"

#define PG 4096

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static long check_map(int fd, uint32_t hwpt, uint64_t iova, void *va, uint64_t len)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_MD_CHECK_MAP, .id = hwpt, .u = { iova, len, (uintptr_t)va } };
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

static long check_refs(int fd, void *va, uint64_t len, uint32_t refs)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_MD_CHECK_REFS, .u = { len, (uintptr_t)va, refs } };
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

int main(void)
{
	unsigned char got[16];
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	said("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	uint32_t hwpt = (uint32_t)(md.u[0] >> 32);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	said("CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &ca));
	uint32_t acc = (uint32_t)ca.u[0];

	/* a page-aligned start, then 16 pages of break */
	char *b0 = sbrk(0);
	char *start = (char *)(((uintptr_t)b0 + PG - 1) & ~(uintptr_t)(PG - 1));
	said("sbrk to a page boundary", sbrk(start - b0) == (void *)-1 ? -1 : 0);
	said("sbrk 16 pages", sbrk(16 * PG) == (void *)-1 ? -1 : 0);
	memset(start, 0x3c, 16 * PG);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas,
			      .user_va = (uintptr_t)start, .length = 8 * PG, .iova = 1ul << 30 };
	said("IOAS_MAP of 8 pages of the break", ioctl(fd, IOMMU_IOAS_MAP, &m));
	said("MD_CHECK_MAP", check_map(fd, hwpt, 1ul << 30, start, 8 * PG));
	said("MD_CHECK_REFS 1", check_refs(fd, start, 8 * PG, 1));
	memset(got, 0, sizeof(got));
	said("ACCESS_RW read", access_rw(fd, acc, (1ul << 30) + 3 * PG + 5, got, sizeof(got), 0));
	said("byte read", got[0]);
	start[3 * PG + 5] = 0x11;
	said("ACCESS_RW read after a write", access_rw(fd, acc, (1ul << 30) + 3 * PG + 5, got, 1, RW_SLOW_PATH));
	said("byte read", got[0]);

	/* the break shrinks past the mapped pages: the pins keep the old pages */
	said("sbrk -16 pages", sbrk(-16 * PG) == (void *)-1 ? -1 : 0);
	said("MD_CHECK_REFS 0 of the gone range", check_refs(fd, start, 8 * PG, 0));
	said("ACCESS_RW read of the gone range", access_rw(fd, acc, (1ul << 30) + 3 * PG + 5, got, 1, RW_SLOW_PATH));
	said("byte read", got[0]);
	said("MD_CHECK_MAP of the gone range", check_map(fd, hwpt, 1ul << 30, start, 8 * PG));
	said("IOAS_MAP of the gone range", ioctl(fd, IOMMU_IOAS_MAP, &(struct ioas_map){ .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE, .ioas_id = ioas, .user_va = (uintptr_t)start, .length = PG, .iova = 2ul << 30 }));

	/* grown again: new zeroed pages, not the pinned ones */
	said("sbrk 16 pages again", sbrk(16 * PG) == (void *)-1 ? -1 : 0);
	said("a byte of the new break", start[3 * PG + 5]);
	said("MD_CHECK_MAP against the new pages", check_map(fd, hwpt, 1ul << 30, start, 8 * PG));
	said("ACCESS_RW read still the pinned page", access_rw(fd, acc, (1ul << 30) + 3 * PG + 5, got, 1, RW_SLOW_PATH));
	said("byte read", got[0]);
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 1ul << 30, .length = 8 * PG };
	said("IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	said("IOAS_MAP of the new break", ioctl(fd, IOMMU_IOAS_MAP, &m));
	said("MD_CHECK_MAP", check_map(fd, hwpt, 1ul << 30, start, 8 * PG));
	said("MD_CHECK_REFS 1", check_refs(fd, start, 8 * PG, 1));
	printf("done\n");
	return 0;
}
