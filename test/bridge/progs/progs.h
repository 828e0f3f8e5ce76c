/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the bridge's test programs share: the iommufd ioctl numbers and
 * structs they use (include/uapi/linux/iommufd.h, iommufd_test.h), one
 * "ok WHAT" / "FAIL WHAT" line per check, and IOMMU_IOAS_ALLOC.
 */
#ifndef BRIDGE_PROGS_H
#define BRIDGE_PROGS_H
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#define T ';'
#define IOMMU_DESTROY _IO(T, 0x80)
#define IOMMU_IOAS_ALLOC _IO(T, 0x81)
#define IOMMU_IOAS_MAP _IO(T, 0x85)
#define IOMMU_IOAS_UNMAP _IO(T, 0x86)
#define IOMMU_TEST_CMD _IO(T, 0xa0)
#define TEST_OP_MOCK_DOMAIN 2
#define TEST_OP_MD_CHECK_REFS 4
#define TEST_OP_CREATE_ACCESS 5
#define TEST_OP_ACCESS_PAGES 7
#define TEST_OP_ACCESS_RW 8

struct ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct ioas_map { uint32_t size, flags, ioas_id, reserved; uint64_t user_va, length, iova; };

static int failed;

static __attribute__((unused)) void check(int cond, const char *what, long got)
{
	if (cond)
		printf("ok %s\n", what);
	else {
		printf("FAIL %s (got %ld, errno %d)\n", what, got, errno);
		failed = 1;
	}
	fflush(stdout);
}

/* the call answers `want` (>= 0), or -1 with errno `err` */
static __attribute__((unused)) void check_rc(long got, long want, int err, const char *what)
{
	int e = errno;
	check(want >= 0 ? got == want : got == -1 && e == err, what, got);
}

/* V(want, err, what, call): run `call` with errno cleared and check_rc() its answer */
#define V(want, err, what, call)              \
	do {                                  \
		errno = 0;                    \
		long r_ = (long)(call);       \
		check_rc(r_, want, err, what); \
	} while (0)

static __attribute__((unused)) uint32_t ioas_alloc(int fd)
{
	struct ioas_alloc a = { .size = sizeof(a) };
	return ioctl(fd, IOMMU_IOAS_ALLOC, &a) ? 0 : a.out_ioas_id;
}
#endif
