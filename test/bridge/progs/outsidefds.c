// SPDX-License-Identifier: GPL-2.0-only
/*
 * Descriptors the program opened itself, which iommufd still takes by
 * number: stdout and stderr, a directory, one dup2()ed far above the others.
 * fget() finds a file there that is neither a memfd nor a dma-buf, so
 * DMABUF_REVOKE says EINVAL (dma_buf_get()), and IOAS_MAP_FILE maps it as a
 * file whose pages nobody can pin: fine without a domain, then the fill of a
 * domain or an access fails. An O_PATH descriptor or a closed number is
 * EBADF. The answers are Linux 7.2.13's; 6.12.95 has no IOAS_MAP_FILE and no
 * dma-buf test op (ENOTTY, EOPNOTSUPP). One line per check; exit 0 when all
 * passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progs.h"

#define MAP_RW 6
#define TEST_OP_DMABUF_REVOKE 23
#define IOVA (1ull << 24) /* the mock domain's aperture starts there */

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int fd;

static long dmabuf_revoke(int dfd)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_DMABUF_REVOKE };
	memcpy(&c.u[0], &dfd, 4); /* dmabuf_revoke.dmabuf_fd, then revoked */
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

static long map_file(uint32_t ioas, int f, uint64_t iova)
{
	struct ioas_map_file m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_RW, .ioas_id = ioas, .fd = f, .length = 0x4000, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}

static long unmap(uint32_t ioas, uint64_t iova)
{
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = 0x4000 };
	return ioctl(fd, IOMMU_IOAS_UNMAP, &u);
}

static long mock_domain(uint32_t ioas)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

static long access_pages(uint32_t ioas, uint64_t iova)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	c.u[0] = 1ull << 32; /* create_access.flags: MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
	if (ioctl(fd, IOMMU_TEST_CMD, &c))
		return -2;
	uint32_t afd = (uint32_t)c.u[0];
	uint64_t buf[4];
	struct test_cmd p = { .size = sizeof(p), .op = TEST_OP_ACCESS_PAGES, .id = afd };
	p.u[1] = iova;                  /* access_pages.iova */
	p.u[2] = 0x4000;                /* length */
	p.u[3] = (uintptr_t)buf;        /* uptr */
	long r = ioctl(fd, IOMMU_TEST_CMD, &p);
	int e = errno;
	close(afd);
	errno = e;
	return r;
}

int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas != 0, "IOAS_ALLOC", 0);
	errno = 0;
	if (map_file(ioas, 1, IOVA) && errno == ENOTTY) {
		V(-1, EOPNOTSUPP, "no dma-buf test op on this kernel", dmabuf_revoke(1));
		return failed;
	}
	check(unmap(ioas, IOVA) == 0, "stdout maps as a file without a domain, and unmaps", 0);
	V(-1, EINVAL, "DMABUF_REVOKE of stdout: EINVAL, no dma-buf", dmabuf_revoke(1));
	V(-1, EINVAL, "DMABUF_REVOKE of stderr: EINVAL", dmabuf_revoke(2));
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	V(-1, EINVAL, "DMABUF_REVOKE of a directory: EINVAL", dmabuf_revoke(dir));
	int high = dup2(dir, 700);
	check(high == 700, "dup2 of the directory to 700", high);
	V(-1, EINVAL, "DMABUF_REVOKE of descriptor 700: EINVAL", dmabuf_revoke(700));
	V(-1, EBADF, "DMABUF_REVOKE of a closed descriptor: EBADF", dmabuf_revoke(699));
	V(-1, EBADF, "DMABUF_REVOKE of -1: EBADF", dmabuf_revoke(-1));
	int path = open("/", O_PATH);
	V(-1, EBADF, "DMABUF_REVOKE of an O_PATH descriptor: EBADF", dmabuf_revoke(path));
	V(-1, EBADF, "IOAS_MAP_FILE of an O_PATH descriptor: EBADF", map_file(ioas, path, IOVA));
	V(-1, EBADF, "IOAS_MAP_FILE of a closed descriptor: EBADF", map_file(ioas, 699, IOVA));
	V(0, 0, "IOAS_MAP_FILE of descriptor 700 (the directory)", map_file(ioas, 700, IOVA));
	V(-1, EINVAL, "ACCESS_PAGES over it: nothing to pin, EINVAL", access_pages(ioas, IOVA));
	V(-1, EINVAL, "a mock domain cannot be filled from it: EINVAL", mock_domain(ioas));
	V(0, 0, "the directory's area unmaps", unmap(ioas, IOVA));
	V(0, 0, "then the mock domain attaches", mock_domain(ioas));
	V(-1, EINVAL, "IOAS_MAP_FILE of stderr with the domain there: EINVAL", map_file(ioas, 2, IOVA));
	close(high);
	V(-1, EBADF, "descriptor 700 closed: EBADF", map_file(ioas, 700, IOVA));
	return failed;
}
