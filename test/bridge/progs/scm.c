// SPDX-License-Identifier: GPL-2.0-only
/*
 * An iommufd handed to another process over a unix socket (SCM_RIGHTS), the
 * way a management daemon hands a pre-opened /dev/iommu to a VMM: the sender
 * closes its descriptor at once (the message holds the file), the receiver
 * maps its own memory and a memfd that came in the same message, pays for
 * the pins itself, and hands the iommufd back. A pipe in the message stays
 * a pipe. Each process prints its own lines. The oracle kernels are built
 * without sockets (socketpair is ENOSYS there), so this runs under exec only:
 * what iommufd answers a second holder of the file is what it answers a
 * forked one, which the oracle programs check on both kernels.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

static void send_fds(int s, const int *fds, int n)
{
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	check(sendmsg(s, &m, 0) == 1, "sendmsg with SCM_RIGHTS", n);
}

static int recv_fds(int s, int *fds, int max)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return 0;
	int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (n > max)
		n = max;
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return n;
}

static long vmpin_kb(void)
{
	return file_field("/proc/self/status", "VmPin");
}

static int map(int fd, uint32_t ioas, void *va, size_t len, uint64_t iova)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

int main(void)
{
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair", 0);
	pid_t c = fork();
	if (c == 0) {
		/* the VMM: it never opened /dev/iommu itself */
		int fds[4] = { -1, -1, -1, -1 };
		close(sv[0]);
		int n = recv_fds(sv[1], fds, 4);
		check(n == 3, "child: three descriptors arrive", n);
		int fd = fds[0], mfd = fds[1], pipe_r = fds[2];
		long kb;
		check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "child: MSG_CMSG_CLOEXEC set close-on-exec", fcntl(fd, F_GETFD));
		uint32_t ioas = ioas_alloc(fd);
		check(ioas != 0, "child: IOAS_ALLOC on the received iommufd", ioas);
		struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = 1 };
		V(0, 0, "child: MOCK_DOMAIN on the sender's IOAS 1", ioctl(fd, IOMMU_TEST_CMD, &md));
		char *mem = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		V(0, 0, "child: IOAS_MAP of its own memory", map(fd, 1, mem, 16 * 4096, 1 << 24));
		kb = vmpin_kb();
		check(kb == 64, "child: its VmPin holds the 64 KiB it pinned", kb);
		struct ioas_map_file mf = { .size = sizeof(mf), .flags = 7, .ioas_id = 1, .fd = mfd, .start = 0, .length = 8 * 4096, .iova = 1 << 25 };
		V(0, 0, "child: IOAS_MAP_FILE of the received memfd", ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf));
		kb = vmpin_kb();
		check(kb == 96, "child: and 32 KiB of the memfd", kb);
		char b = 0;
		check(read(pipe_r, &b, 1) == 1 && b == 'p', "child: the pipe is still a pipe", b);
		V(-1, ENOTTY, "child: IOMMU_DESTROY on the pipe -> ENOTTY", ioctl(pipe_r, IOMMU_DESTROY, &ioas));
		int back[1] = { fd };
		send_fds(sv[1], back, 1);
		close(fd);
		kb = vmpin_kb();
		check(kb == 96, "child: closing its descriptor keeps the pins (the parent holds the file)", kb);
		check(write(sv[1], "c", 1) == 1, "child: tells the parent", 0);
		check(read(sv[1], &b, 1) == 1, "child: the parent unmapped", b);
		kb = vmpin_kb();
		check(kb == 0, "child: the pins are gone", kb);
		_exit(failed);
	}
	close(sv[1]);
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas == 1, "parent: IOAS 1", ioas);
	int mfd = memfd_create("guest", 0);
	check(ftruncate(mfd, 8 * 4096) == 0, "parent: memfd of 32 KiB", mfd);
	int pp[2];
	check(pipe(pp) == 0 && write(pp[1], "p", 1) == 1, "parent: a pipe", 0);
	int fds[3] = { fd, mfd, pp[0] };
	send_fds(sv[0], fds, 3);
	close(fd);
	close(mfd);
	close(pp[0]);
	int got[4];
	int n = recv_fds(sv[0], got, 4);
	check(n == 1, "parent: the iommufd comes back", n);
	char b = 0;
	check(read(sv[0], &b, 1) == 1 && b == 'c', "parent: the child has checked its pins", b);
	struct { uint32_t size, ioas_id; uint64_t iova, length; } um = { 24, 1, 0, ~0ull };
	V(0, 0, "parent: IOAS_UNMAP of everything on the returned iommufd", ioctl(got[0], IOMMU_IOAS_UNMAP, &um));
	check(um.length == 24 * 4096, "parent: 96 KiB were mapped", (long)um.length);
	long kb = vmpin_kb();
	check(kb == 0, "parent: no pins were charged to the parent", kb);
	check(write(sv[0], "u", 1) == 1, "parent: tells the child", 0);
	int st = 0;
	check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "parent: the child passed", st);
	return failed;
}
