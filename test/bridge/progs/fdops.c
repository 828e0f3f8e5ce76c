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

static void show(const char *what, int fd, long r)
{
	printf("%s of %d -> %ld %d\n", what, fd, r, r < 0 ? errno : 0);
	fflush(stdout);
}

#define R(what, fd, x)                 \
	do {                           \
		errno = 0;             \
		show(what, fd, (long)(x)); \
	} while (0)

static void ops(const char *name, int fd)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct statfs sf;
	loff_t off = 0;
	int n = 0;
	printf("%s\n", name);
	R("lseek SET 0", fd, lseek(fd, 0, SEEK_SET));
	R("lseek CUR 8", fd, lseek(fd, 8, SEEK_CUR));
	R("lseek END 0", fd, lseek(fd, 0, SEEK_END));
	R("fsync", fd, fsync(fd));
	R("fdatasync", fd, fdatasync(fd));
	R("flock LOCK_EX", fd, flock(fd, LOCK_EX | LOCK_NB));
	R("flock LOCK_UN", fd, flock(fd, LOCK_UN));
	R("ftruncate", fd, ftruncate(fd, 0));
	R("fallocate", fd, fallocate(fd, 0, 0, 4096));
	errno = 0;
	n = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	printf("posix_fadvise of %d -> %d\n", fd, n);
	R("readahead", fd, readahead(fd, 0, 4096));
	R("sync_file_range", fd, sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	R("fchdir", fd, fchdir(fd));
	errno = 0;
	n = fstatfs(fd, &sf);
	show("fstatfs", fd, n);
	if (n == 0)
		printf("  f_type %lx\n", (long)sf.f_type);
	R("FIONREAD", fd, ioctl(fd, FIONREAD, &n));
	n = 1;
	R("FIONBIO", fd, ioctl(fd, FIONBIO, &n));
	R("F_GETFL", fd, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	R("F_SETFL O_APPEND", fd, fcntl(fd, F_SETFL, O_APPEND));
	R("F_GETFL", fd, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	R("F_SETFL 0", fd, fcntl(fd, F_SETFL, 0));
	R("F_GETFD", fd, fcntl(fd, F_GETFD));
	R("F_SETLK", fd, fcntl(fd, F_SETLK, &fl));
	R("F_GETLK", fd, fcntl(fd, F_GETLK, &fl));
	R("F_SETLEASE", fd, fcntl(fd, F_SETLEASE, F_RDLCK));
	R("F_SETPIPE_SZ", fd, fcntl(fd, F_SETPIPE_SZ, 4096));
	R("F_ADD_SEALS", fd, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	R("F_GET_SEALS", fd, fcntl(fd, F_GET_SEALS));
	R("copy_file_range to itself", fd, copy_file_range(fd, &off, fd, NULL, 16, 0));
	R("sendfile to itself", fd, sendfile(fd, fd, NULL, 16));
	char buf[16] = "";
	R("read", fd, read(fd, buf, 8));
	R("write", fd, write(fd, buf, 8));
	R("pread", fd, pread(fd, buf, 8, 0));
	struct ioas_alloc a = { .size = sizeof(a) };
	R("IOAS_ALLOC", fd, ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	errno = 0;
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	show("mmap shared", fd, p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	show("mmap private", fd, p == MAP_FAILED ? -1 : 0);
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
	R("write", m, write(m, "0123456789abcdef", 16));
	loff_t zero = 0;
	R("copy_file_range memfd -> iommu", m, copy_file_range(m, &zero, fd, NULL, 16, 0));
	zero = 0;
	R("copy_file_range iommu -> memfd", fd, copy_file_range(fd, NULL, m, &zero, 16, 0));
	zero = 0;
	R("sendfile memfd -> iommu", m, sendfile(fd, m, &zero, 16));
	R("sendfile iommu -> memfd", fd, sendfile(m, fd, NULL, 16));
	printf("done\n");
	return 0;
}
