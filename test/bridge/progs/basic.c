// SPDX-License-Identifier: GPL-2.0-only
/*
 * A small iommufd client for the bridge tests: IOAS alloc/map/unmap of real
 * malloc and mmap memory, errno and fds as the kernel gives them. Prints one
 * line per check ("ok <what>" / "FAIL <what> ..."); exits with argv[1] (default 0)
 * when every check passed, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define T ';'
#define IOMMU_DESTROY _IO(T, 0x80)
#define IOMMU_IOAS_ALLOC _IO(T, 0x81)
#define IOMMU_IOAS_MAP _IO(T, 0x85)
#define IOMMU_IOAS_UNMAP _IO(T, 0x86)
#define MAP_FIXED_IOVA 1
#define MAP_WRITEABLE 2
#define MAP_READABLE 4

struct ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct ioas_map { uint32_t size, flags, ioas_id, reserved; uint64_t user_va, length, iova; };
struct ioas_unmap { uint32_t size, ioas_id; uint64_t iova, length; };

static int failed;

static void check(int cond, const char *what, long got)
{
	if (cond)
		printf("ok %s\n", what);
	else {
		printf("FAIL %s (got %ld, errno %d)\n", what, got, errno);
		failed = 1;
	}
}

static int map(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t iova, uint32_t flags, uint64_t *out)
{
	struct ioas_map m = { .size = sizeof(m), .flags = flags, .ioas_id = ioas,
			      .user_va = (uintptr_t)va, .length = len, .iova = iova };
	int rc = ioctl(fd, IOMMU_IOAS_MAP, &m);
	if (out)
		*out = m.iova;
	return rc;
}

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 0;
	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 3, "open /dev/iommu", fd);

	/* the fd is a real descriptor: fcntl works on it */
	check(fcntl(fd, F_GETFD) >= 0, "fcntl on the iommufd", fcntl(fd, F_GETFD));

	/* a real file opened after it lands on the next number */
	int devnull = open("/dev/null", O_RDONLY);
	check(devnull == fd + 1, "next real fd", devnull);

	struct ioas_alloc a = { .size = sizeof(a) };
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	check(rc == 0 && a.out_ioas_id != 0, "IOAS_ALLOC", rc);

	/* wrong size: EINVAL from the kernel's size check */
	struct ioas_alloc bad = { .size = 4 };
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &bad);
	check(rc == -1 && errno == EINVAL, "IOAS_ALLOC short size -> EINVAL", rc);

	/* a bad pointer: EFAULT */
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, (void *)8);
	check(rc == -1 && errno == EFAULT, "IOAS_ALLOC bad pointer -> EFAULT", rc);

	/* map malloc memory (found lazily in /proc/PID/maps) */
	char *heap = malloc(1 << 20);
	memset(heap, 0x5a, 1 << 20);
	char *page = (char *)(((uintptr_t)heap + 4095) & ~4095UL);
	uint64_t iova = 0;
	rc = map(fd, a.out_ioas_id, page, 65536, 0, MAP_READABLE | MAP_WRITEABLE, &iova);
	check(rc == 0 && iova != 0, "IOAS_MAP malloc memory", rc);

	/* map mmap memory at a fixed IOVA */
	char *buf = mmap(NULL, 1 << 21, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(buf != MAP_FAILED, "mmap", 0);
	rc = map(fd, a.out_ioas_id, buf, 1 << 21, 1ULL << 32, MAP_READABLE | MAP_WRITEABLE | MAP_FIXED_IOVA, NULL);
	check(rc == 0, "IOAS_MAP mmap memory at a fixed IOVA", rc);

	/* the same IOVA again: EEXIST */
	rc = map(fd, a.out_ioas_id, buf, 4096, 1ULL << 32, MAP_READABLE | MAP_FIXED_IOVA, NULL);
	check(rc == -1 && errno == EEXIST, "IOAS_MAP overlapping IOVA -> EEXIST", rc);

	/* no domain: nothing is pinned at MAP time, even for memory that is gone (as in the kernel) */
	char *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 8192);
	uint64_t hiova = 0;
	rc = map(fd, a.out_ioas_id, hole, 8192, 0, MAP_READABLE, &hiova);
	check(rc == 0, "IOAS_MAP unmapped memory without a domain", rc);
	struct ioas_unmap hu = { .size = sizeof(hu), .ioas_id = a.out_ioas_id, .iova = hiova, .length = 8192 };
	check(ioctl(fd, IOMMU_IOAS_UNMAP, &hu) == 0, "IOAS_UNMAP of it", 0);

	/* unmap both; the output length is written back */
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = a.out_ioas_id, .iova = 1ULL << 32, .length = 1 << 21 };
	rc = ioctl(fd, IOMMU_IOAS_UNMAP, &u);
	check(rc == 0 && u.length == 1 << 21, "IOAS_UNMAP", rc);
	u.iova = 1ULL << 32;
	rc = ioctl(fd, IOMMU_IOAS_UNMAP, &u);
	check(rc == -1 && errno == ENOENT, "IOAS_UNMAP again -> ENOENT", rc);

	/* ioctl on an ordinary fd goes to the real kernel */
	rc = ioctl(devnull, IOMMU_IOAS_ALLOC, &a);
	check(rc == -1 && errno == ENOTTY, "ioctl on /dev/null -> ENOTTY", rc);

	/* a destroyed id is gone */
	struct { uint32_t size, id; } d = { 8, a.out_ioas_id };
	rc = ioctl(fd, IOMMU_DESTROY, &d);
	check(rc == 0, "DESTROY", rc);
	rc = ioctl(fd, IOMMU_DESTROY, &d);
	check(rc == -1 && errno == ENOENT, "DESTROY again -> ENOENT", rc);

	check(close(fd) == 0, "close", 0);
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	check(rc == -1 && errno == EBADF, "ioctl after close -> EBADF", rc);
	fflush(stdout);
	return failed ? 1 : status;
}
