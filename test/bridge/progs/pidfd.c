/*
 * pidfd_getfd(2): a process takes another's open file (pidfd_getfd() →
 * receive_fd()): the same open file description, at a new close-on-exec
 * descriptor. An iommufd taken so is the same context (its IDs go on), a
 * memfd the same page cache, an access the same access. 6.12.95 and 7.2.13
 * answer as under exec.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas == 1, "IOAS 1 in the parent", ioas);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(!ioctl(fd, IOMMU_TEST_CMD, &ca), "an access", 0);
	int acc_fd = (int)(uint32_t)ca.u[0];
	int m = memfd_create("m", 0);
	ftruncate(m, 4096);
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	struct ioas_map im = { .size = sizeof(im), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 4096, .iova = 1 << 24 };
	check(!ioctl(fd, IOMMU_IOAS_MAP, &im), "IOAS_MAP of a memfd page", 0);
	int parent = getpid();
	fflush(stdout);
	pid_t k = fork();
	if (k == 0) {
		int pfd = (int)syscall(SYS_pidfd_open, parent, 0);
		check(pfd >= 0, "child: pidfd_open of the parent", pfd);
		int io = getfd(pfd, fd);
		check(io >= 0, "child: pidfd_getfd of the parent's iommufd", io);
		check(fcntl(io, F_GETFD) == FD_CLOEXEC, "child: close-on-exec", fcntl(io, F_GETFD));
		char link[64], buf[64] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", io);
		check(readlink(link, buf, sizeof(buf) - 1) > 0 && !strcmp(buf, "/dev/iommu"), "child: it is /dev/iommu", 0);
		check(ioas_alloc(io) == 3, "child: IOAS_ALLOC on it: the parent's context (IOAS 1, access 2, IOAS 3)", 0);
		V(-1, EBADF, "child: pidfd_getfd of a descriptor the parent has not open: EBADF", getfd(pfd, 999));
		int mm = getfd(pfd, m);
		check(mm >= 0, "child: pidfd_getfd of the parent's memfd", mm);
		V(1, 0, "child: pwrite through it", pwrite(mm, "\x42", 1, 7));
		int ac = getfd(pfd, acc_fd);
		check(ac >= 0, "child: pidfd_getfd of the parent's access", ac);
		V(-1, EBADF, "child: pidfd_getfd with a descriptor that is no pidfd: EBADF", getfd(io, fd));
		fflush(stdout);
		_exit(0);
	}
	int st = 0;
	waitpid(k, &st, 0);
	check(WIFEXITED(st), "the child exits", st);
	check(p[7] == 0x42, "the parent's mapping sees the child's pwrite", p[7]);
	unsigned char b = 0;
	check(!access_rw(fd, (uint32_t)ca.u[0], (1 << 24) + 7, &b, 1, 0) && b == 0x42, "and so does DMA", b);
	check(ioas_alloc(fd) == 4, "the parent's next IOAS is 4", 0);
	return failed;
}
