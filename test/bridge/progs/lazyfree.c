// SPDX-License-Identifier: GPL-2.0-only
/*
 * MADV_FREE over memory an IOAS pins, then MADV_PAGEOUT (reclaim, which
 * drops clean lazily freed pages even without swap): a pinned page keeps its
 * bytes for the CPU and the device (try_to_unmap_one() counts the pin's
 * reference and keeps it), also one pinned after MADV_FREE, a page written
 * after MADV_FREE is kept, and an unpinned clean one reads as zeros. Under
 * exec the host takes the real advice, so the shim keeps the pinned pages off
 * the host's lazy free list, and before a MADV_PAGEOUT the server dirties the
 * real pages of those pinned since.
 * What Linux 6.12.95 and 7.2.13 answer; one line per check, exit 0 when all
 * passed. (The model does not drop the unpinned pages, so smaps' Rss is not
 * checked: docs/exec.md, Limits.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096
struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

static char dma(int fd, uint32_t acc, uint64_t iova)
{
	char c = 0x7f;
	int rc = access_rw(fd, acc, iova, &c, 1, 0);
	return rc ? -1 : c;
}

int main(void)
{
	/*
	 * One CPU throughout: MADV_FREE leaves the last pages it marks in this
	 * CPU's lazy-free batch, and MADV_PAGEOUT drains only the batch of the CPU
	 * it runs on (lru_add_drain()), so a program moved in between would keep
	 * them (under exec, on a loaded host of several CPUs)
	 */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	V(0, 0, "CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &ca));
	uint32_t acc = ca.u[0];
	const uint64_t iova = 1 << 24;

	/* 16 pages: the first 8 pinned by the map, the rest not */
	char *b = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(b, 'A', 16 * PG);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)b, .length = 8 * PG, .iova = iova };
	V(0, 0, "IOAS_MAP of the first 8 pages", ioctl(fd, IOMMU_IOAS_MAP, &m));
	V(0, 0, "MADV_FREE of all 16", madvise(b, 16 * PG, MADV_FREE));
	check(b[PG] == 'A' && b[12 * PG] == 'A', "freed lazily: the bytes are still there", b[PG]);
	b[8] = 'B';
	b[10 * PG] = 'B';
	check(dma(fd, acc, iova + 8) == 'B', "DMA reads the CPU's write after MADV_FREE to a pinned page", dma(fd, acc, iova + 8));
	V(0, 0, "MADV_PAGEOUT of all 16", madvise(b, 16 * PG, MADV_PAGEOUT));
	check(b[PG] == 'A', "a pinned clean page keeps its bytes for the CPU", b[PG]);
	check(dma(fd, acc, iova + PG) == 'A', "and for the device", dma(fd, acc, iova + PG));
	check(b[8] == 'B' && dma(fd, acc, iova + 8) == 'B', "the pinned page written after MADV_FREE keeps the write", b[8]);
	check(b[10 * PG] == 'B', "an unpinned page written after MADV_FREE is kept", b[10 * PG]);
	check(b[12 * PG] == 0 && b[9 * PG] == 0 && b[15 * PG] == 0, "the unpinned clean pages were dropped: zeros", b[12 * PG]);

	/* a page the device writes after MADV_FREE: the pin dirties it */
	char w = 'D';
	V(0, 0, "ACCESS_RW write to page 2", access_rw(fd, acc, iova + 2 * PG, &w, 1, RW_WRITE));
	check(b[2 * PG] == 'D', "the CPU sees the device's write", b[2 * PG]);
	V(0, 0, "unmap the IOAS", (int)({ struct { uint32_t size, ioas_id; uint64_t iova, length; } u = { 24, ioas, 0, ~0ULL }; ioctl(fd, IOMMU_IOAS_UNMAP, &u); }));
	check(b[PG] == 'A' && b[2 * PG] == 'D', "after the unpin the pages are still mapped", b[2 * PG]);
	V(0, 0, "MADV_PAGEOUT again", madvise(b, 16 * PG, MADV_PAGEOUT));
	check(b[PG] == 'A' && b[2 * PG] == 'D', "unpinned now, but no longer lazily free (reclaim set them swap-backed): kept", b[PG]);
	/* pinned after MADV_FREE: GUP for writing dirties the page, the pin holds it */
	char *e = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(e, 'E', 4 * PG);
	V(0, 0, "MADV_FREE of 4 fresh pages", madvise(e, 4 * PG, MADV_FREE));
	struct ioas_map m2 = { .size = sizeof(m2), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)e, .length = 2 * PG, .iova = iova + (1 << 20) };
	V(0, 0, "IOAS_MAP of the first 2 after it", ioctl(fd, IOMMU_IOAS_MAP, &m2));
	V(0, 0, "MADV_PAGEOUT of the 4", madvise(e, 4 * PG, MADV_PAGEOUT));
	check(e[0] == 'E' && e[PG] == 'E', "pinned after MADV_FREE: kept for the CPU", e[0]);
	check(dma(fd, acc, iova + (1 << 20) + PG) == 'E', "and for the device", dma(fd, acc, iova + (1 << 20) + PG));
	check(e[2 * PG] == 0 && e[3 * PG] == 0, "the unpinned two: dropped", e[2 * PG]);
	return failed;
}
