// SPDX-License-Identifier: GPL-2.0-only
/*
 * RLIMIT_NOFILE over the model's files: opening /dev/iommu, allocating a
 * fault queue (its file is installed by the ioctl) and duplicating them
 * until the descriptor table's limit; dup2/dup3/F_DUPFD past the limit;
 * the limit raised again. Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include "progs.h"

static void show(const char *what, long r)
{
	printf("%s -> %ld %d\n", what, r, r < 0 ? errno : 0);
	fflush(stdout);
}

#define R(what, x)                 \
	do {                       \
		errno = 0;         \
		show(what, (long)(x)); \
	} while (0)

int main(void)
{
	/* descriptors 0-2 and the three below stay; the limit leaves room for two more */
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	/* (the hard limit stays above: raising it back would need CAP_SYS_RESOURCE, which a container's root may lack) */
	struct rlimit lim = { 8, 16 };
	R("setrlimit NOFILE 8, hard 16", setrlimit(RLIMIT_NOFILE, &lim));
	int a = open("/dev/iommu", O_RDWR);
	show("open /dev/iommu", a);
	int b = open("/dev/iommu", O_RDWR);
	show("open /dev/iommu", b);
	int c = dup(a);
	show("dup", c);
	int d = open("/dev/iommu", O_RDWR);
	show("open /dev/iommu", d);
	int e = open("/dev/iommu", O_RDWR);
	show("open /dev/iommu", e);
	R("open /dev/iommu past the limit", open("/dev/iommu", O_RDWR));
	R("dup past the limit", dup(a));
	R("F_DUPFD from 3 past the limit", fcntl(a, F_DUPFD, 3));
	R("F_DUPFD from 8", fcntl(a, F_DUPFD, 8));
	R("dup2 to 8", dup2(a, 8));
	R("dup3 to 100", dup3(a, 100, O_CLOEXEC));
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	R("FAULT_QUEUE_ALLOC with the table full", ioctl(a, _IO(T, 0x8e), &fa));
	printf("its fault fd %u\n", fa.out_fault_fd);
	R("close", close(e));
	fa.out_fault_fd = 0;
	R("FAULT_QUEUE_ALLOC with one free", ioctl(a, _IO(T, 0x8e), &fa));
	printf("its fault fd %u\n", fa.out_fault_fd);
	R("dup2 onto a model descriptor", dup2(b, d));
	struct ioas_alloc x = { .size = sizeof(x) };
	R("IOAS_ALLOC on it", ioctl(d, IOMMU_IOAS_ALLOC, &x));
	printf("IOAS %u (the context of the second open)\n", x.out_ioas_id);
	lim.rlim_cur = 16;
	R("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &lim));
	R("open /dev/iommu", open("/dev/iommu", O_RDWR));
	R("dup2 to 15", dup2(a, 15));
	R("dup2 to 16", dup2(a, 16));
	printf("done\n");
	return 0;
}
