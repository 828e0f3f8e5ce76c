// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deterministic sweep of the VFIO type1 compatibility ioctls iommufd
 * answers (a xorshift stream from a fixed seed): VFIO_GET_API_VERSION ..
 * VFIO_IOMMU_DIRTY_PAGES and the command numbers around them, on the VFIO
 * container (/dev/vfio/vfio, an iommufd context of its own) and on
 * /dev/iommu, each with a compat IOAS set through IOMMU_VFIO_IOAS and a mock
 * domain on the second. argsz-led structs at their own size or another,
 * fields from a set of addresses, IOVAs, lengths and flags that matter,
 * integer arguments for CHECK_EXTENSION and SET_IOMMU, now and then an odd
 * request encoding or IOMMU_VFIO_IOAS itself. Each call prints its result
 * and a hash of the struct and of the buffer a cap chain or bitmap may go
 * to, so two runs compare line by line: the oracle suite runs it on Linux
 * 6.12 and 7.2 and under exec with the matching profile and requires the
 * same output. Every 150 calls both contexts are closed and set up again.
 * Not a check program: it prints, it does not judge.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progs.h"

#define UA 0x200000000000ULL
#define UB 0x210000000000ULL
#define CALLS 2400
#define EPISODE 150
#define VFIO_BASE 100
#define IOMMU_VFIO_IOAS _IO(T, 0x88)


/* argsz of each command's struct from VFIO_BASE (0: the argument is an integer, or none) */
static const uint32_t vsize[] = { 0, 0, 0, 8, 4, 4, 0, 0, 16, 32, 32, 16, 24, 32, 24, 0, 0, 8, 0, 0 };
static const uint32_t sizes[] = { 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 80, 96, 128, 200, 256 };
static const uint32_t v32[] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 0xffffffff, 0x80000000, 0x1000, 16, 24, 32, 64, 0x100 };
static const uint64_t v64[] = { UA, UA + 0x1000, UA + 0x1001, UB, UB + 0x800, UA + 0x3ff000, 0x1000, 0x2000, 0x200000, 0x400000, 0x10000, 0, 0, 0,
				1ULL << 40, ~0ULL, 0xfffffffffffff000ULL, 0x8000, 0x100000000ULL, 0x100000, 0x101000, 0x300000, 3, 8, 64,
				0x1000000, 0x1001000, 0x1200000, 0x2000000, 0x4000 };
static const unsigned long ints[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100, 0xffffffff, 3, 3, 1 };

static int vfd, ifd;

/* a context with an IOAS as its VFIO compat IOAS (IOMMU_VFIO_IOAS SET), one page range mapped */
static void compat(int fd, int domain)
{
	uint32_t a[3] = { 12, 0, 0 };
	ioctl(fd, _IO(T, 0x81), a);
	struct { uint32_t size; uint32_t ioas_id; uint16_t op, reserved; } v = { 12, a[2], 1, 0 };
	int r = ioctl(fd, IOMMU_VFIO_IOAS, &v);
	uint32_t md[18] = { 72, 2 /* MOCK_DOMAIN */, a[2] };
	int d = domain ? ioctl(fd, _IO(T, 0xa0), md) : -1;
	printf("setup fd %d ioas %u vfio_ioas %d domain %d\n", fd, a[2], r, d);
}

static void setup(void)
{
	vfd = open("/dev/vfio/vfio", O_RDWR);
	ifd = open("/dev/iommu", O_RDWR);
	compat(vfd, 0);
	compat(ifd, 1);
}

int main(void)
{
	static uint8_t buf[256];

	sweep_seed = 0x9e3779b97f4a7c15ULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sweep_buffers(UA, UB) < 0)
		return 1;
	setup();
	for (int i = 0; i < CALLS; i++) {
		if (i % EPISODE == EPISODE - 1) {
			close(vfd);
			close(ifd);
			setup();
		}
		memset(buf, 0, sizeof(buf));
		memset((void *)UB, 0, 0x10000);
		unsigned off = rnd() % 16 ? (unsigned)(rnd() % 20) : (unsigned)(rnd() % 40);
		unsigned nr = VFIO_BASE + off;
		uint32_t size = off < 20 && vsize[off] && rnd() % 4 ? vsize[off] : PICK(sizes);
		/* the compat calls most, with sensible fields: MAP_DMA, UNMAP_DMA, GET_INFO */
		if (rnd() % 2) {
			static const unsigned hot[] = { 12, 13, 13, 14, 14, 2, 1 };
			off = PICK(hot);
			nr = VFIO_BASE + off;
			size = rnd() % 5 ? vsize[off] : PICK(sizes);
		}
		uint32_t *w = (uint32_t *)buf;
		uint64_t *q = (uint64_t *)buf;
		w[0] = size;
		w[1] = rnd() % 3 ? (off == 13 ? 3 : off == 14 && rnd() % 4 == 0 ? 2 : 0) : PICK(v32);
		if (off == 13) { /* MAP_DMA: vaddr, iova, size */
			q[1] = rnd() % 4 ? UA + (rnd() % 16) * 0x1000 : PICK(v64);
			q[2] = rnd() % 3 ? (rnd() % 64) * 0x1000 : PICK(v64);
			q[3] = rnd() % 3 ? (1 + rnd() % 8) * 0x1000 : PICK(v64);
		} else if (off == 14) { /* UNMAP_DMA: iova, size, maybe a bitmap */
			q[1] = rnd() % 3 ? (rnd() % 64) * 0x1000 : PICK(v64);
			q[2] = rnd() % 3 ? (1 + rnd() % 8) * 0x1000 : PICK(v64);
			if (rnd() % 4 == 0) {
				q[3] = 0x1000;
				q[4] = 64;
				q[5] = UB;
			}
		} else {
			for (int k = 1; k < 16; k++)
				if (rnd() % 3 == 0)
					q[k] = PICK(v64);
		}
		unsigned long req = _IO(T, nr);
		if (rnd() % 10 == 0)
			req = _IOC(rnd() % 4, rnd() % 4 ? T : (unsigned)(rnd() % 256), nr, rnd() % 3 ? 0 : (unsigned)(rnd() % 0x3fff));
		void *arg = buf;
		if (off == 1 || off == 2 || (off >= 20 && rnd() % 2))
			arg = (void *)PICK(ints);
		if (rnd() % 24 == 0) { /* IOMMU_VFIO_IOAS itself: GET, SET, CLEAR_ALL, or a bad op */
			req = IOMMU_VFIO_IOAS;
			w[0] = rnd() % 4 ? 12 : PICK(sizes);
			w[1] = rnd() % 3 ? 1 + (uint32_t)(rnd() % 4) : PICK(v32);
			w[2] = (uint32_t)(rnd() % 4);
			arg = buf;
		}
		int tfd = rnd() % 2 ? vfd : ifd;
		errno = 0;
		long r = ioctl(tfd, req, arg);
		int e = r < 0 ? errno : 0;
		printf("%d %s req %lx off %u size %u -> %ld %d buf %016llx ub %016llx\n", i, tfd == vfd ? "vfio" : "iommu", req, off, size, r, e,
		       (unsigned long long)fnv(buf, sizeof(buf)), (unsigned long long)fnv((void *)UB, 0x10000));
	}
	printf("done\n");
	return 0;
}
