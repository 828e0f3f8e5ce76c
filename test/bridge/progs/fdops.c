// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file operations every descriptor takes, on the files the model owns:
 * /dev/iommu, a fault queue's file, the VFIO container and an access file
 * of the mock driver. lseek, fsync, fdatasync, flock, ftruncate, fallocate,
 * posix_fadvise, readahead, sync_file_range, fchdir, fstatfs, FIONREAD,
 * FIONBIO, F_SETFL/F_GETFL, F_GETFD, F_SETLK, F_GETLK, F_SETLEASE,
 * F_SETPIPE_SZ, F_ADD_SEALS, copy_file_range, sendfile, read, write, pread,
 * an iommufd ioctl and mmap, shared and private (F_NOTIFY is left
 * out: the VMs' kernels have no CONFIG_DNOTIFY, so it is EINVAL there and
 * ENOTDIR on most). Each prints its result, so that the oracle suite compares
 * the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

/* "what of fd" as the line's first part */
static const char *of(const char *what, int fd)
{
	static char line[160];
	snprintf(line, sizeof(line), "%s of %d", what, fd);
	return line;
}

static void ops(const char *name, int fd)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct statfs sf;
	loff_t off = 0;
	int n = 0;
	printf("%s\n", name);
	SAID(of("lseek SET 0", fd), lseek(fd, 0, SEEK_SET));
	SAID(of("lseek CUR 8", fd), lseek(fd, 8, SEEK_CUR));
	SAID(of("lseek END 0", fd), lseek(fd, 0, SEEK_END));
	SAID(of("fsync", fd), fsync(fd));
	SAID(of("fdatasync", fd), fdatasync(fd));
	SAID(of("flock LOCK_EX", fd), flock(fd, LOCK_EX | LOCK_NB));
	SAID(of("flock LOCK_UN", fd), flock(fd, LOCK_UN));
	SAID(of("ftruncate", fd), ftruncate(fd, 0));
	SAID(of("fallocate", fd), fallocate(fd, 0, 0, 4096));
	errno = 0;
	n = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	printf("posix_fadvise of %d -> %d\n", fd, n);
	SAID(of("readahead", fd), readahead(fd, 0, 4096));
	SAID(of("sync_file_range", fd), sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	SAID(of("fchdir", fd), fchdir(fd));
	errno = 0;
	n = fstatfs(fd, &sf);
	said(of("fstatfs", fd), n);
	if (n == 0)
		printf("  f_type %lx\n", (long)sf.f_type);
	SAID(of("FIONREAD", fd), ioctl(fd, FIONREAD, &n));
	n = 1;
	SAID(of("FIONBIO", fd), ioctl(fd, FIONBIO, &n));
	SAID(of("F_GETFL", fd), fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	SAID(of("F_SETFL O_APPEND", fd), fcntl(fd, F_SETFL, O_APPEND));
	SAID(of("F_GETFL", fd), fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	SAID(of("F_SETFL 0", fd), fcntl(fd, F_SETFL, 0));
	SAID(of("F_GETFD", fd), fcntl(fd, F_GETFD));
	SAID(of("F_SETLK", fd), fcntl(fd, F_SETLK, &fl));
	SAID(of("F_GETLK", fd), fcntl(fd, F_GETLK, &fl));
	SAID(of("F_SETLEASE", fd), fcntl(fd, F_SETLEASE, F_RDLCK));
	SAID(of("F_SETPIPE_SZ", fd), fcntl(fd, F_SETPIPE_SZ, 4096));
	SAID(of("F_ADD_SEALS", fd), fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	SAID(of("F_GET_SEALS", fd), fcntl(fd, F_GET_SEALS));
	SAID(of("copy_file_range to itself", fd), copy_file_range(fd, &off, fd, NULL, 16, 0));
	SAID(of("sendfile to itself", fd), sendfile(fd, fd, NULL, 16));
	char buf[16] = "";
	SAID(of("read", fd), read(fd, buf, 8));
	SAID(of("write", fd), write(fd, buf, 8));
	SAID(of("pread", fd), pread(fd, buf, 8, 0));
	struct ioas_alloc a = { .size = sizeof(a) };
	SAID(of("IOAS_ALLOC", fd), ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	errno = 0;
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	said(of("mmap shared", fd), p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	said(of("mmap private", fd), p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	int rc = ioctl(fd, _IO(T, 0x8e), &fa);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	rc |= ioctl(fd, IOMMU_TEST_CMD, &ca);
	int vfio = open("/dev/vfio/vfio", O_RDWR);
	printf("set up %d %d\n", rc, vfio >= 0);
	ops("/dev/iommu", fd);
	ops("a fault queue", (int)fa.out_fault_fd);
	ops("the VFIO container", vfio);
	ops("an access", (int)ca.u[0]);
	int m = memfd_create("fdops", 0);
	printf("copy_file_range and sendfile between a memfd and /dev/iommu\n");
	SAID(of("write", m), write(m, "0123456789abcdef", 16));
	loff_t zero = 0;
	SAID(of("copy_file_range memfd -> iommu", m), copy_file_range(m, &zero, fd, NULL, 16, 0));
	zero = 0;
	SAID(of("copy_file_range iommu -> memfd", fd), copy_file_range(fd, NULL, m, &zero, 16, 0));
	zero = 0;
	SAID(of("sendfile memfd -> iommu", m), sendfile(fd, m, &zero, 16));
	SAID(of("sendfile iommu -> memfd", fd), sendfile(m, fd, NULL, 16));
	printf("done\n");
	return 0;
}
