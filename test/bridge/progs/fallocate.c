// SPDX-License-Identifier: GPL-2.0-only
/*
 * fallocate(2) of a memfd that iommufd pins (vfs_fallocate(), shmem_fallocate()):
 * the VFS checks and their order (mode, then FMODE_WRITE, then the file
 * type), allocation with and without KEEP_SIZE, and PUNCH_HOLE over pinned
 * pages: a pinned page leaves the file but keeps its bytes for the IOAS, a
 * new pin of the range takes a fresh zeroed page, a partial punch zeroes
 * the bytes it covers in place (the pinned page sees the zeros); a one-page
 * ACCESS_RW slow read pins the program's page of now, a longer one reads
 * the IOAS's. A VMM's
 * discard of guest memory behind a device does the same. One line per
 * check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "progs.h"

#define PG 4096
#define IOVA 0x40000000UL
#define KEEP FALLOC_FL_KEEP_SIZE
#define PUNCH FALLOC_FL_PUNCH_HOLE
#define WRITE_ZEROES 0x80

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int fd;
static uint32_t ioas, acc;

static int map_at(void *va, uint64_t len, uint64_t iova)
{
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

/*
 * The byte at `iova` as the IOAS holds it: an ACCESS_RW of more than one page (iopt_pages_rw_slow()
 * reads the pinned pages, where a one-page slow read pins the program's page of now): 0-255, or -1.
 */
static int dma_byte(uint64_t iova)
{
	static unsigned char b[PG + 1];
	b[0] = 0x11;
	return access_rw(fd, acc, iova, b, sizeof(b), RW_SLOW_PATH) ? -1 : b[0];
}

int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioas && !ioctl(fd, IOMMU_TEST_CMD, &md) && !ioctl(fd, IOMMU_TEST_CMD, &ca), "IOAS, mock domain, access", 0);
	acc = (uint32_t)ca.u[0];

	int mfd = memfd_create("guest", 0);
	check(mfd >= 0 && !ftruncate(mfd, 1 << 20), "memfd of 1 MiB", mfd);
	unsigned char *p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(p, 0x33, 1 << 20);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	/* (under exec a reopen through /proc is the host's descriptor: the model does not follow it) */
	int ro = open(path, O_RDONLY);
	struct stat st;

	/* vfs_fallocate(): offset and length, then the mode, then FMODE_WRITE, then the file */
	V(-1, EINVAL, "length 0: EINVAL", fallocate(mfd, 0, 0, 0));
	V(-1, EINVAL, "offset -1: EINVAL", fallocate(mfd, 0, -1, PG));
	V(-1, EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP", fallocate(mfd, PUNCH, 0, PG));
	V(-1, EOPNOTSUPP, "PUNCH_HOLE | ZERO_RANGE: EOPNOTSUPP", fallocate(mfd, PUNCH | FALLOC_FL_ZERO_RANGE | KEEP, 0, PG));
	V(-1, EOPNOTSUPP, "an unknown bit (0x100): EOPNOTSUPP", fallocate(mfd, 0x100, 0, PG));
	V(-1, EOPNOTSUPP, "COLLAPSE_RANGE | KEEP_SIZE: EOPNOTSUPP", fallocate(mfd, FALLOC_FL_COLLAPSE_RANGE | KEEP, 0, PG));
	V(-1, EOPNOTSUPP, "an unknown bit on a read-only descriptor: EOPNOTSUPP before EBADF", fallocate(ro, 0x100, 0, PG));
	V(-1, EBADF, "a read-only descriptor: EBADF", fallocate(ro, 0, 0, PG));
	V(-1, EOPNOTSUPP, "WRITE_ZEROES on the memfd: shmem refuses it", fallocate(mfd, WRITE_ZEROES, 0, PG));
	V(-1, EOPNOTSUPP, "ZERO_RANGE: shmem refuses it", fallocate(mfd, FALLOC_FL_ZERO_RANGE, 0, PG));
	V(-1, EFBIG, "offset + length past 2^63 - 1: EFBIG", fallocate(mfd, 0, INT64_MAX - PG, 2 * PG));
	V(-1, ENODEV, "/dev/iommu: ENODEV", fallocate(fd, 0, 0, PG));
	V(0, 0, "posix_fallocate of /dev/iommu answers ENODEV", posix_fallocate(fd, 0, PG) == ENODEV ? 0 : -1);

	/* allocation: the size grows unless KEEP_SIZE */
	V(0, 0, "allocate 1-2 MiB", fallocate(mfd, 0, 1 << 20, 1 << 20));
	check(!fstat(mfd, &st) && st.st_size == 2 << 20, "the size is 2 MiB", (long)st.st_size);
	V(0, 0, "allocate 2-3 MiB with KEEP_SIZE", fallocate(mfd, KEEP, 2 << 20, 1 << 20));
	check(!fstat(mfd, &st) && st.st_size == 2 << 20, "the size is still 2 MiB", (long)st.st_size);
	V(0, 0, "posix_fallocate to 3 MiB", posix_fallocate(mfd, 2 << 20, 1 << 20));
	check(!fstat(mfd, &st) && st.st_size == 3 << 20, "the size is 3 MiB", (long)st.st_size);
	/* mincore_page(): an allocated page is not uptodate, so not resident, until something writes it */
	unsigned char inc[2] = { 9, 9 };
	check(!mincore(p + (1 << 20), 2 * PG, inc) && (inc[0] & 1) == 0 && (inc[1] & 1) == 0, "allocated pages are not in core", inc[0]);
	/* shmem_file_read_iter(): pread of such a page reads zeros and leaves it not uptodate */
	char rb[8] = { 9 };
	check(pread(mfd, rb, 8, (1 << 20) + PG) == 8 && rb[0] == 0, "pread of an allocated page reads zeros", rb[0]);
	check(!mincore(p + (1 << 20), 2 * PG, inc) && (inc[1] & 1) == 0, "and leaves it out of core", inc[1]);
	check(p[(1 << 20) + 5] == 0, "an allocated page reads zeros", p[(1 << 20) + 5]);

	/* a hole punched under a pin */
	V(0, 0, "IOAS_MAP of the first MiB (pinned by the domain)", map_at(p, 1 << 20, IOVA));
	V(0, 0, "PUNCH_HOLE 8-72 KiB", fallocate(mfd, PUNCH | KEEP, 2 * PG, 16 * PG));
	check(dma_byte(IOVA + 4 * PG) == 0x33, "the pinned page keeps its bytes for the IOAS", dma_byte(IOVA + 4 * PG));
	check(p[4 * PG] == 0, "the mapping reads a new zeroed page there", p[4 * PG]);
	check(dma_byte(IOVA + PG) == 0x33, "a page before the hole keeps its bytes", dma_byte(IOVA + PG));
	V(0, 0, "IOAS_MAP of the hole again", map_at(p + 2 * PG, 16 * PG, IOVA + (4 << 20)));
	check(dma_byte(IOVA + (4 << 20) + 2 * PG) == 0, "the new pin sees the zeroed page", dma_byte(IOVA + (4 << 20) + 2 * PG));
	/* two bytes over pages 4 and 5, both in the hole: the slow path writes the pinned pages */
	unsigned char v[2] = { 0x33, 0x77 };
	V(0, 0, "ACCESS_RW write to the old pinned pages", access_rw(fd, acc, IOVA + 5 * PG - 1, v, 2, RW_WRITE | RW_SLOW_PATH));
	check(dma_byte(IOVA + 5 * PG) == 0x77, "the IOAS reads what was written", dma_byte(IOVA + 5 * PG));
	check(p[5 * PG] == 0 && dma_byte(IOVA + (4 << 20) + 3 * PG) == 0, "the file does not see it", p[5 * PG]);
	/* a one-page slow read pins the page the program maps now (iopt_pages_rw_page()) */
	unsigned char one = 0x11;
	V(0, 0, "a one-page ACCESS_RW slow read", access_rw(fd, acc, IOVA + 5 * PG, &one, 1, RW_SLOW_PATH));
	check(one == 0, "reads the file's new page, not the pinned one", one);

	/* a punch inside one page zeroes its bytes in place: the pinned page is that page */
	V(0, 0, "PUNCH_HOLE of 200 bytes at 100 KiB + 100", fallocate(mfd, PUNCH | KEEP, 100 * 1024 + 100, 200));
	check(dma_byte(IOVA + 100 * 1024 + 100) == 0 && dma_byte(IOVA + 100 * 1024 + 299) == 0, "the pinned page reads zeros there", dma_byte(IOVA + 100 * 1024 + 100));
	check(dma_byte(IOVA + 100 * 1024 + 99) == 0x33 && dma_byte(IOVA + 100 * 1024 + 300) == 0x33, "and its bytes around", dma_byte(IOVA + 100 * 1024 + 99));
	check(p[100 * 1024 + 150] == 0 && p[100 * 1024 + 300] == 0x33, "the mapping sees the same", p[100 * 1024 + 150]);
	return failed;
}
