// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deterministic sweep of iommufd ioctls with random sizes and field values
 * (a xorshift stream from a fixed seed): every command number 0x80..0x94 and
 * IOMMU_TEST_CMD with its ops, mostly at the struct's own size, fields from a
 * set of ids, flags, lengths and addresses that matter (a user buffer at a
 * fixed address, the mock domain's aperture), now and then an odd encoding
 * of the request or another of the program's descriptors. Each call prints
 * its result and a hash of the struct and of the buffer it may point into,
 * so two runs compare line by line: the oracle suite runs it on Linux 6.12
 * and 7.2 and under exec with the matching profile and requires the same
 * output. Every 250 calls the context is closed and set up again. Not a
 * check program: it prints, it does not judge.
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
#define CALLS 3000
#define EPISODE 250


/* sizeof each command's struct in the 7.2 uAPI, 0x80 (DESTROY) .. 0x94 (HW_QUEUE_ALLOC); IOMMU_TEST_CMD's */
static const uint32_t csize[] = { 8, 12, 24, 40, 32, 40, 24, 24, 12, 48, 40, 16, 48, 32, 16, 40, 40, 24, 8, 32, 40 };
#define TEST_CMD_SIZE 72
static const uint32_t sizes[] = { 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 64, 72, 80, 88, 96, 104, 112, 128, 200 };
static const uint32_t v32[] = { 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 0xffffffff, 0x80000000, 0x1000, 0xfff, 0x200000, 16, 24, 32, 64, 0x100, 12, 0x7fffffff };
static const uint64_t v64[] = { UA, UA + 0x1000, UA + 0x1001, UB, UB + 0x800, UA + 0x3ff000, 0x1000, 0x2000, 0x200000, 0x400000, 0x10000, 0, 0, 1ULL << 40, ~0ULL,
				0xfffffffffffff000ULL, 0x8000, 0x100000000ULL, 0x100000, 0x101000, 0x300000, 3, 8, 64, 0x1000000, 0x1000000, 0x1001000, 0x1200000, 0x2000000, 0x4000 };

static int fd;

static void setup(void)
{
	uint32_t a[3] = { 12, 0, 0 };
	uint32_t md[TEST_CMD_SIZE / 4] = { TEST_CMD_SIZE, 2 /* MOCK_DOMAIN */ };
	struct { uint32_t size, flags, ioas_id, reserved; uint64_t user_va, length, iova; } m = { 40, 7, 0, 0, UA, 0x200000, 0x1000000 };

	fd = open("/dev/iommu", O_RDWR);
	ioctl(fd, _IO(T, 0x81), a);
	md[2] = a[2];
	ioctl(fd, _IO(T, 0xa0), md);
	m.ioas_id = a[2];
	ioctl(fd, _IO(T, 0x85), &m);
	printf("setup fd %d ioas %u stdev %u hwpt %u idev %u\n", fd, a[2], md[4], md[5], md[6]);
}

int main(void)
{
	static uint8_t buf[256];

	sweep_seed = 88172645463325252ULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sweep_buffers(UA, UB) < 0)
		return 1;
	int mfd = memfd_create("m", 0);
	ftruncate(mfd, 0x400000);
	printf("memfd %d\n", mfd);
	setup();
	for (int i = 0; i < CALLS; i++) {
		if (i % EPISODE == EPISODE - 1) {
			close(fd);
			setup();
		}
		memset(buf, 0, sizeof(buf));
		memset((void *)UB, 0, 0x10000);
		unsigned nr = rnd() % 4 == 0 ? 0xa0 : 0x80 + rnd() % 0x15;
		uint32_t size = rnd() % 4 ? (nr == 0xa0 ? TEST_CMD_SIZE : csize[nr - 0x80]) : PICK(sizes);
		int mode = rnd() % 3;
		if (mode == 0) {
			for (int w = 1; w < 50; w++)
				if (rnd() % 2 == 0)
					((uint32_t *)buf)[w] = PICK(v32);
			for (int w = 1; w < 25; w++)
				if (rnd() % 4 == 0)
					((uint64_t *)buf)[w] = PICK(v64);
		} else {
			/* sparse: ids and a few fields, flags mostly clear */
			for (int k = 0; k < 2 + (int)(rnd() % 3); k++)
				((uint32_t *)buf)[2 + rnd() % 8] = 1 + rnd() % 6;
			for (int k = 0; k < 1 + (int)(rnd() % 3); k++)
				((uint64_t *)buf)[1 + rnd() % 6] = PICK(v64);
			if (mode == 2)
				((uint32_t *)buf)[1] = rnd() % 8;
		}
		((uint32_t *)buf)[0] = size;
		if (nr == 0xa0)
			((uint32_t *)buf)[1] = rnd() % 6 ? 1 + rnd() % 23 : (uint32_t)rnd();
		for (int k = 0; k < 64; k++)
			((uint32_t *)UB)[k] = rnd() % 3 ? 0 : PICK(v32);
		unsigned long req = _IO(T, nr);
		if (rnd() % 8 == 0)
			req = _IOC(rnd() % 4, rnd() % 4 ? T : (unsigned)(rnd() % 256), rnd() % 3 ? nr : (unsigned)(rnd() % 256), rnd() % 3 ? 0 : (unsigned)(rnd() % 0x3fff));
		/* now and then another descriptor of the program's own (3 up: stdio differs between a console and a pipe) */
		int tfd = rnd() % 16 ? fd : 3 + (int)(rnd() % 6);
		errno = 0;
		int r = ioctl(tfd, req, buf);
		int e = r < 0 ? errno : 0;
		printf("%d fd %d req %lx size %u op %u -> %d %d buf %016llx ub %016llx\n", i, tfd, req, size, ((uint32_t *)buf)[1], r, e,
		       (unsigned long long)fnv(buf, sizeof(buf)), (unsigned long long)fnv((void *)UB, 0x10000));
	}
	printf("done\n");
	return 0;
}
