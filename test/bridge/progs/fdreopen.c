// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model's files opened again through /proc/self/fd/N (proc_fd_link(),
 * then the open of what the link names): /dev/iommu and /dev/vfio/vfio are
 * their device nodes, so the open is a new iommufd context (its own IOAS
 * IDs, from 1) or a new container; an anonymous inode (a fault queue, an
 * access) has no open to call again. O_PATH, O_DIRECTORY and a closed
 * descriptor too. Each step prints its result, so that the oracle suite
 * compares the output on Linux 6.12 and 7.2 with the output under exec. Not
 * a check program.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int reopen(int fd, int flags)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, flags);
}

/* A descriptor as 1 (its number is no concern here), a failure as itself */
static long one(long r)
{
	return r < 0 ? r : r > 0;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t a = ioas_alloc(fd);
	uint32_t b = ioas_alloc(fd);
	printf("first context: IOAS %u and %u\n", a, b);
	int again = reopen(fd, O_RDWR);
	said("reopen /dev/iommu through /proc/self/fd", one(again));
	printf("the reopened one's first IOAS: %u\n", again >= 0 ? ioas_alloc(again) : 0);
	printf("the first's next IOAS: %u\n", ioas_alloc(fd));
	struct ioas_alloc x = { .size = sizeof(x) };
	SAID("IOAS_ALLOC on a read-only reopen", one(ioctl(reopen(fd, O_RDONLY), IOMMU_IOAS_ALLOC, &x)));
	int path = reopen(fd, O_PATH);
	said("O_PATH reopen", one(path));
	SAID("IOAS_ALLOC on the O_PATH descriptor", one(ioctl(path, IOMMU_IOAS_ALLOC, &x)));
	SAID("O_DIRECTORY reopen", one(reopen(fd, O_RDONLY | O_DIRECTORY)));
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	SAID("FAULT_QUEUE_ALLOC", one(ioctl(fd, _IO(T, 0x8e), &fa)));
	SAID("reopen a fault queue", one(reopen((int)fa.out_fault_fd, O_RDWR)));
	SAID("O_PATH reopen of a fault queue", one(reopen((int)fa.out_fault_fd, O_PATH)));
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = a };
	SAID("CREATE_ACCESS", one(ioctl(fd, IOMMU_TEST_CMD, &ca)));
	SAID("reopen an access", one(reopen((int)ca.u[0], O_RDWR)));
	int vfio = open("/dev/vfio/vfio", O_RDWR);
	int v2 = reopen(vfio, O_RDWR);
	said("reopen the VFIO container", one(v2));
	SAID("VFIO_GET_API_VERSION on it", one(ioctl(v2, _IO(';', 100))));
	close(fd);
	SAID("reopen of a closed descriptor", one(reopen(fd, O_RDWR)));
	printf("done\n");
	return 0;
}
