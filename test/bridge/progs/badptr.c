// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bad pointers handed to the calls exec answers for the model: paths,
 * structs and buffers at an unmapped address (8), NULL, read-only memory
 * (the program's text), and a path with no end inside PATH_MAX; also to a
 * fault queue's file and the VFIO container iommufd answers for. The kernel
 * answers EFAULT (or ENAMETOOLONG, or takes NULL where it may); the shim must
 * answer the same, never crash the program. Each call prints its return and
 * errno, so that the oracle suite compares the output on Linux 6.12 and 7.2
 * with the output under exec, line for line. Not a check program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "progs.h"

#define BAD ((void *)8)
#define RO ((void *)(uintptr_t)main)

static void show(const char *what, long r)
{
	printf("%s -> %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
	fflush(stdout);
}
#define R(x)                          \
	do {                          \
		errno = 0;            \
		show(#x, (long)(x));  \
	} while (0)

int main(void)
{
	struct stat st;
	char buf[64], link[64];
	int fd = open("/dev/iommu", O_RDWR);
	int mfd = memfd_create("badptr", 0);
	show("open /dev/iommu", fd >= 0);
	show("memfd_create", mfd >= 0);
	R(write(mfd, "0123456789abcdef", 16));
	R(lseek(mfd, 0, SEEK_SET));
	/* a path that runs past PATH_MAX without its NUL, in readable memory */
	char *longpath = malloc(8192);
	memset(longpath, 'a', 8192);
	longpath[0] = '/';
	/* a path whose NUL is the last byte before an unmapped page */
	char *edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(edge + 4096, 4096);
	strcpy(edge + 4096 - sizeof("/dev/iommu"), "/dev/iommu");
	const char *edgepath = edge + 4096 - sizeof("/dev/iommu");

	R(open(BAD, O_RDWR));
	R(open(NULL, O_RDWR));
	R(open(longpath, O_RDWR));
	{
		int e = open(edgepath, O_RDWR);
		show("open(the path ending at the page's end)", e >= 0);
		if (e >= 0)
			close(e);
	}
	R(openat(AT_FDCWD, BAD, O_RDONLY));
	R(access(BAD, F_OK));
	R(access(longpath, F_OK));
	R(access(edgepath, R_OK | W_OK));
	R(stat(BAD, &st));
	R(stat("/dev/iommu", NULL));
	R(stat("/dev/iommu", BAD));
	R(stat("/dev/iommu", RO));
	R(lstat("/dev/iommu", NULL));
	R(lstat(BAD, &st));
	R(fstatat(AT_FDCWD, "/dev/iommu", BAD, 0));
	R(fstatat(AT_FDCWD, BAD, &st, 0));
	R(fstatat(fd, "", BAD, AT_EMPTY_PATH));
	R(statx(AT_FDCWD, "/dev/iommu", 0, STATX_BASIC_STATS, BAD));
	R(statx(AT_FDCWD, BAD, 0, STATX_BASIC_STATS, (struct statx *)buf));
	R(fstat(fd, NULL));
	R(fstat(fd, BAD));
	R(fstat(mfd, BAD));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	R(readlink(link, BAD, 10));
	R(readlink(link, RO, 10));
	R(readlink(BAD, buf, 10));
	R(readlinkat(AT_FDCWD, link, BAD, 10));
	R(truncate(BAD, 0));
	R(truncate("/dev/iommu", 0));
	R(ioctl(fd, IOMMU_IOAS_ALLOC, NULL));
	R(ioctl(fd, IOMMU_IOAS_ALLOC, BAD));
	R(read(fd, NULL, 8));
	R(write(fd, BAD, 8));
	R(read(mfd, BAD, 8));
	R(read(mfd, RO, 8));
	R(pread(mfd, BAD, 8, 0));
	R(write(mfd, BAD, 8));
	R(pwrite(mfd, BAD, 8, 0));
	R(readv(mfd, BAD, 1));
	{
		struct iovec v[2] = { { buf, 4 }, { BAD, 4 } };
		R(lseek(mfd, 0, SEEK_SET));
		R(readv(mfd, v, 2));
		R(preadv(mfd, v, 2, 0));
		R(writev(mfd, v, 2));
	}
	R(memfd_create(BAD, 0));
	R(memfd_create(NULL, 0));
	R(memfd_create(longpath, 0));
	R(uname(NULL));
	R(uname(BAD));
	R(getrlimit(RLIMIT_MEMLOCK, BAD));
	R(setrlimit(RLIMIT_MEMLOCK, BAD));
	R(prlimit(0, RLIMIT_MEMLOCK, BAD, NULL));
	R(prlimit(0, RLIMIT_MEMLOCK, NULL, BAD));
	R(syscall(SYS_getrlimit, RLIMIT_MEMLOCK, NULL));
	R(syscall(SYS_setrlimit, RLIMIT_MEMLOCK, NULL));
	R(syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, BAD, NULL));
	R(syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, BAD));
	R(syscall(SYS_capget, NULL, NULL));
	R(syscall(SYS_capget, BAD, NULL));
	R(mincore(edge, 4096, BAD));
	R(poll(BAD, 1, 0));
	{
		struct pollfd p = { fd, POLLIN, 0 };
		R(poll(&p, 1, 0));
	}
	/* (a bad timeout of ppoll, select or pselect is no kernel matter: glibc reads it itself, and crashes) */
	R(ppoll(BAD, 1, NULL, NULL));
	R(select(fd + 1, BAD, NULL, NULL, NULL));
	{
		fd_set rs;
		FD_ZERO(&rs);
		FD_SET(fd, &rs);
		struct timeval z = { 0, 0 };
		R(select(fd + 1, &rs, BAD, NULL, &z));
		R(select(fd + 1, &rs, NULL, NULL, &z));
	}
	R(fopen(BAD, "r") ? 0 : -1);
	R(fopen(longpath, "r") ? 0 : -1);
	{
		int s = open("/proc/self/status", O_RDONLY);
		show("open /proc/self/status", s >= 0);
		R(read(s, BAD, 100));
		R(read(s, NULL, 100));
		close(s);
		int fn = open("/proc/self/fail-nth", O_RDWR);
		show("open /proc/self/fail-nth", fn >= 0);
		R(write(fn, BAD, 2));
		R(read(fn, BAD, 8));
		close(fn);
		int pm = open("/proc/self/pagemap", O_RDONLY);
		show("open /proc/self/pagemap", pm >= 0);
		R(pread(pm, BAD, 8, 0));
		close(pm);
	}
	{
		/* a fault queue's file (IOMMU_FAULT_QUEUE_ALLOC): reads of an empty queue copy nothing, a response is read in */
		struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
		R(ioctl(fd, _IO(T, 0x8e), &fa));
		int ffd = (int)fa.out_fault_fd;
		R(read(ffd, BAD, 64));
		R(write(ffd, BAD, 16));
		R(write(ffd, NULL, 16));
		R(close(ffd));
		/* the VFIO container iommufd answers for: a GET_INFO struct at a bad address */
		int v = open("/dev/vfio/vfio", O_RDWR);
		show("open /dev/vfio/vfio", v >= 0);
		R(ioctl(v, _IO(';', 100 + 12), BAD));
		R(ioctl(v, _IO(';', 100 + 12), NULL));
		R(close(v));
	}
	R(close(mfd));
	R(close(fd));
	printf("done\n");
	return 0;
}
