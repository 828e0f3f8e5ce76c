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

int main(void)
{
	/* descriptors 0-2 and the three below stay; the limit leaves room for two more */
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	/* (the hard limit stays above: raising it back would need CAP_SYS_RESOURCE, which a container's root may lack) */
	struct rlimit lim = { 8, 16 };
	SAID("setrlimit NOFILE 8, hard 16", setrlimit(RLIMIT_NOFILE, &lim));
	int a = open("/dev/iommu", O_RDWR);
	said("open /dev/iommu", a);
	int b = open("/dev/iommu", O_RDWR);
	said("open /dev/iommu", b);
	int c = dup(a);
	said("dup", c);
	int d = open("/dev/iommu", O_RDWR);
	said("open /dev/iommu", d);
	int e = open("/dev/iommu", O_RDWR);
	said("open /dev/iommu", e);
	SAID("open /dev/iommu past the limit", open("/dev/iommu", O_RDWR));
	SAID("dup past the limit", dup(a));
	SAID("F_DUPFD from 3 past the limit", fcntl(a, F_DUPFD, 3));
	SAID("F_DUPFD from 8", fcntl(a, F_DUPFD, 8));
	SAID("dup2 to 8", dup2(a, 8));
	SAID("dup3 to 100", dup3(a, 100, O_CLOEXEC));
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	SAID("FAULT_QUEUE_ALLOC with the table full", ioctl(a, _IO(T, 0x8e), &fa));
	printf("its fault fd %u\n", fa.out_fault_fd);
	SAID("close", close(e));
	fa.out_fault_fd = 0;
	SAID("FAULT_QUEUE_ALLOC with one free", ioctl(a, _IO(T, 0x8e), &fa));
	printf("its fault fd %u\n", fa.out_fault_fd);
	SAID("dup2 onto a model descriptor", dup2(b, d));
	struct ioas_alloc x = { .size = sizeof(x) };
	SAID("IOAS_ALLOC on it", ioctl(d, IOMMU_IOAS_ALLOC, &x));
	printf("IOAS %u (the context of the second open)\n", x.out_ioas_id);
	lim.rlim_cur = 16;
	SAID("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &lim));
	SAID("open /dev/iommu", open("/dev/iommu", O_RDWR));
	SAID("dup2 to 15", dup2(a, 15));
	SAID("dup2 to 16", dup2(a, 16));
	printf("done\n");
	return 0;
}
