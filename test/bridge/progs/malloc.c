// SPDX-License-Identifier: GPL-2.0-only
/*
 * malloc()ed memory as DMA memory: a large block (glibc serves it with a
 * mapping of its own, which free() unmaps and the next malloc() maps again,
 * usually at the same address) and the top of the heap (which free() trims
 * with the break), each mapped into an IOAS with a mock domain, read through
 * an access, freed under the pin, then allocated again: the pins keep the
 * old pages, the program sees new ones. glibc makes these mmap, munmap and
 * brk calls inside libc. Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <sys/mman.h>

#include "progs.h"

#define PG 4096

static int fd, acc;
static uint32_t ioas, hwpt;

/* the pages of [p, p + len) rounded inward: what an IOAS can map of a malloc()ed block */
static char *inner(void *p)
{
	return (char *)(((uintptr_t)p + PG - 1) & ~(uintptr_t)(PG - 1));
}

static void round_trip(const char *what, int grow, size_t len, uint64_t iova)
{
	unsigned char got[4] = { 0 };
	char line[160];
	char *p = malloc(len);
	char *va = inner(p);
	size_t n = 8 * PG;
	memset(p, 0x5a, len);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = n, .iova = iova };
	snprintf(line, sizeof(line), "%s: IOAS_MAP of 8 pages", what);
	said(line, ioctl(fd, IOMMU_IOAS_MAP, &m));
	snprintf(line, sizeof(line), "%s: MD_CHECK_MAP", what);
	said(line, md_check_map(fd, hwpt, iova, va, n));
	snprintf(line, sizeof(line), "%s: MD_CHECK_REFS 1", what);
	said(line, md_check_refs(fd, va, n, 1));
	va[3 * PG + 5] = 0x11;
	snprintf(line, sizeof(line), "%s: ACCESS_RW read", what);
	said(line, (got[0] = 0, access_rw(fd, acc, iova + 3 * PG + 5, got, 1, RW_SLOW_PATH)));
	snprintf(line, sizeof(line), "%s: byte read", what);
	said(line, got[0]);

	free(p);
	if (grow)
		malloc_trim(0);
	char *q = malloc(len);
	snprintf(line, sizeof(line), "%s: malloc again at the same address", what);
	said(line, q == p);
	memset(q, 0x77, len);
	/* (where glibc put it: the checks below are of the pages at its place) */
	va = inner(q);
	snprintf(line, sizeof(line), "%s: MD_CHECK_MAP against the new pages", what);
	said(line, md_check_map(fd, hwpt, iova, va, n));
	snprintf(line, sizeof(line), "%s: MD_CHECK_REFS 0 of the new pages", what);
	said(line, md_check_refs(fd, va, n, 0));
	snprintf(line, sizeof(line), "%s: ACCESS_RW read: still the pinned page", what);
	said(line, (got[0] = 0, access_rw(fd, acc, iova + 3 * PG + 5, got, 1, RW_SLOW_PATH)));
	snprintf(line, sizeof(line), "%s: byte read", what);
	said(line, got[0]);
	got[0] = 0x99;
	snprintf(line, sizeof(line), "%s: ACCESS_RW write to the pinned page", what);
	said(line, access_rw(fd, acc, iova + 3 * PG + 6, got, 1, RW_WRITE | RW_SLOW_PATH));
	snprintf(line, sizeof(line), "%s: the program's byte there", what);
	said(line, (unsigned char)va[3 * PG + 6]);
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = n };
	snprintf(line, sizeof(line), "%s: IOAS_UNMAP", what);
	said(line, ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	m.user_va = (uintptr_t)inner(q);
	snprintf(line, sizeof(line), "%s: IOAS_MAP of the new block", what);
	said(line, ioctl(fd, IOMMU_IOAS_MAP, &m));
	snprintf(line, sizeof(line), "%s: MD_CHECK_MAP", what);
	said(line, md_check_map(fd, hwpt, iova, inner(q), n));
	snprintf(line, sizeof(line), "%s: ACCESS_RW read", what);
	said(line, (got[0] = 0, access_rw(fd, acc, iova + 3 * PG + 5, got, 1, RW_SLOW_PATH)));
	snprintf(line, sizeof(line), "%s: byte read", what);
	said(line, got[0]);
	said(line, ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	free(q);
}

int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct md_check_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	said("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	hwpt = (uint32_t)(md.u[0] >> 32);
	struct md_check_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	said("CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &ca));
	acc = (int)ca.u[0];

	/* a block past the mmap threshold (128 KiB): a mapping of its own */
	round_trip("1 MiB block", 0, 1 << 20, 1ul << 30);
	/* the heap's top: a block below the threshold, freed and trimmed with the break */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 0);
	round_trip("heap block", 1, 64 * 1024, (1ul << 30) + (64ul << 20));
	/* a block realloc() grows: mremap moves or grows it */
	char *r = malloc(1 << 20);
	memset(r, 0x42, 1 << 20);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE, .ioas_id = ioas, .user_va = (uintptr_t)inner(r), .length = 8 * PG, .iova = (1ul << 30) + (128ul << 20) };
	said("realloc: IOAS_MAP", ioctl(fd, IOMMU_IOAS_MAP, &m));
	size_t off = (size_t)(inner(r) - r) + 3 * PG;
	char *r2 = realloc(r, 8 << 20);
	unsigned char got[1] = { 0 };
	said("realloc: ACCESS_RW read of the pinned page", (got[0] = 0, access_rw(fd, acc, (1ul << 30) + (128ul << 20) + 3 * PG, got, 1, RW_SLOW_PATH)));
	said("byte read", got[0]);
	said("realloc: the moved block's byte", (unsigned char)r2[off]);
	r2[off] = 0x24;
	said("realloc: ACCESS_RW read after writing the moved block", (got[0] = 0, access_rw(fd, acc, (1ul << 30) + (128ul << 20) + 3 * PG, got, 1, RW_SLOW_PATH)));
	said("byte read", got[0]);
	free(r2);
	printf("done\n");
	return 0;
}
