// SPDX-License-Identifier: GPL-2.0-only
/*
 * What /proc/self/fd/N reads for the model's files (d_path()): the node an
 * iommufd was opened by, anon_inode:[...] for the files iommufd installs,
 * /dmabuf: for a dma-buf (its fdinfo: size, count, exporter; its f_flags the
 * export flags' O_ACCMODE and O_NONBLOCK), /memfd:NAME (deleted), and the path of a
 * synthesized /proc file; readlink truncates to the buffer; fdinfo's pos
 * and flags; stat through the link. The values are
 * what Linux 6.12.95 and 7.2.13 answer (the dma-buf on 7.2 only); one line
 * per check, exit 0 when all passed.
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "progs.h"

#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
#define TEST_OP_DMABUF_GET 22
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

static int link_is(int fd, const char *want, const char *what)
{
	char p[64], l[256] = "";
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, l, sizeof(l) - 1);
	check(n == (ssize_t)strlen(want) && !strcmp(l, want), what, n);
	return n;
}

/* fdinfo's flags line: octal */
static long fdinfo_flags(int fd)
{
	char p[64], line[128];
	long v = -1;
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(p, "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags:", 6))
			v = strtol(line + 6, NULL, 8);
	fclose(f);
	return v;
}

int main(void)
{
	char want[64];
	int fd = open("/dev/iommu", O_RDWR);
	link_is(fd, "/dev/iommu", "/dev/iommu");
	int v = open("/dev/vfio/vfio", O_RDWR);
	link_is(v, "/dev/vfio/vfio", "/dev/vfio/vfio (iommufd's VFIO container)");
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioctl(fd, IOMMU_TEST_CMD, &ca) == 0, "CREATE_ACCESS", 0);
	link_is((int)ca.u[0], "anon_inode:[iommufd_test_staccess]", "an access fd: anon_inode:[iommufd_test_staccess]");
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	check(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0, "FAULT_QUEUE_ALLOC", 0);
	link_is((int)fa.out_fault_fd, "anon_inode:[iommufd-pgfault]", "a fault queue: anon_inode:[iommufd-pgfault]");
	struct test_cmd dg = { .size = sizeof(dg), .op = TEST_OP_DMABUF_GET, .u = { 4096, O_RDWR } };
	int d = ioctl(fd, IOMMU_TEST_CMD, &dg);
	if (d >= 0) {
		link_is(d, "/dmabuf:", "a dma-buf: /dmabuf:");
		/* dma_buf_show_fdinfo(): size, the file's references but procfs's own, the exporter */
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", d);
		int fi = open(p, O_RDONLY);
		check(fd_field(fi, "size") == 4096 && fd_field(fi, "count") == 1, "dma-buf fdinfo: size 4096, count 1", fd_field(fi, "count"));
		int d2 = dup(d);
		check(fd_field(fi, "count") == 2, "dma-buf fdinfo: count 2 after a dup", fd_field(fi, "count"));
		close(d2);
		/* an IOAS_MAP_FILE area holds the dma-buf (dma_buf_get() in iopt_map_file_pages()) until its unmap */
		struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } mf = { sizeof(mf), 1 | 4, ioas, d, 0, 4096, 1ull << 24 };
		check(ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf) == 0 && fd_field(fi, "count") == 2, "dma-buf fdinfo: count 2 while an area maps it", fd_field(fi, "count"));
		struct { uint32_t size, ioas_id; uint64_t iova, length; } um = { sizeof(um), ioas, 1ull << 24, 4096 };
		check(ioctl(fd, IOMMU_IOAS_UNMAP, &um) == 0 && fd_field(fi, "count") == 1, "dma-buf fdinfo: count 1 after the unmap", fd_field(fi, "count"));
		check(fd_field(fi, "flags") == 2, "dma-buf fdinfo: flags 02, its export flags' O_RDWR", fd_field(fi, "flags"));
		close(fi);
		/* dma_buf_getfile(): f_flags are the export flags' O_ACCMODE | O_NONBLOCK bits, O_CLOEXEC goes to the descriptor */
		struct test_cmd dr = { .size = sizeof(dr), .op = TEST_OP_DMABUF_GET, .u = { 4096, O_CLOEXEC | O_NONBLOCK } };
		int r = ioctl(fd, IOMMU_TEST_CMD, &dr);
		check(fcntl(r, F_GETFL) == O_NONBLOCK, "a dma-buf exported O_CLOEXEC | O_NONBLOCK: F_GETFL O_RDONLY | O_NONBLOCK", fcntl(r, F_GETFL));
		check(fcntl(r, F_GETFD) == FD_CLOEXEC, "its descriptor close-on-exec", fcntl(r, F_GETFD));
		/* memfd_add_seals(): a file not open for writing is EPERM, one with no seals (no memfd) EINVAL */
		errno = 0;
		check(fcntl(r, F_ADD_SEALS, F_SEAL_EXEC) == -1 && errno == EPERM, "F_ADD_SEALS of a read-only dma-buf: EPERM", errno);
		errno = 0;
		check(fcntl(d, F_ADD_SEALS, F_SEAL_EXEC) == -1 && errno == EINVAL, "F_ADD_SEALS of a read-write dma-buf: EINVAL", errno);
		errno = 0;
		check(fcntl(d, F_GET_SEALS) == -1 && errno == EINVAL, "F_GET_SEALS of a dma-buf: EINVAL", errno);
		close(r);
	} else
		check(1, "no dma-buf test op on this kernel", 0);
	int m = memfd_create("guest", 0);
	link_is(m, "/memfd:guest (deleted)", "a memfd: /memfd:guest (deleted)");
	int s = open("/proc/self/status", O_RDONLY);
	snprintf(want, sizeof(want), "/proc/%d/status", getpid());
	link_is(s, want, "/proc/self/status: /proc/PID/status");
	char p[64], small[4];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	check(readlink(p, small, sizeof(small)) == 4 && !memcmp(small, "/dev", 4), "readlink truncates to the buffer", 0);
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", getpid(), (int)fa.out_fault_fd);
	char l[64] = "";
	check(readlinkat(AT_FDCWD, p, l, sizeof(l) - 1) == 28 && !strcmp(l, "anon_inode:[iommufd-pgfault]"), "readlinkat of /proc/PID/fd/N", 0);

	/* fdinfo: pos and f_flags (with O_CLOEXEC for a close-on-exec descriptor) */
	int cfd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", cfd);
	long fl = fdinfo_flags(cfd);
	check(file_field(p, "pos") == 0 && fl == 02100002, "fdinfo of /dev/iommu opened O_RDWR | O_CLOEXEC: pos 0, flags 02100002", fl);
	check(fcntl(cfd, F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK", 0);
	fl = fdinfo_flags(cfd);
	check(fl == 02104002, "fdinfo follows F_SETFL: flags 02104002", fl);
	fl = fdinfo_flags((int)ca.u[0]);
	check(fl == 02000002, "fdinfo of an access fd: 02000002 (no O_LARGEFILE, close-on-exec)", fl);

	/* stat follows /proc/self/fd/N to the model's file */
	struct stat st;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", cfd);
	check(stat(p, &st) == 0 && st.st_mode == (S_IFCHR | 0660) && major(st.st_rdev) == 10, "stat through /proc/self/fd: the misc device /dev/iommu", (long)st.st_mode);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", (int)ca.u[0]);
	check(stat(p, &st) == 0 && st.st_mode == 0600 && st.st_rdev == 0, "stat through /proc/self/fd of an anon inode file: mode 0600", (long)st.st_mode);
	check(lstat(p, &st) == 0 && S_ISLNK(st.st_mode), "lstat sees the link itself", (long)st.st_mode);

	close(fd);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	check(readlink(p, l, sizeof(l)) == -1 && errno == ENOENT, "a closed descriptor: ENOENT", 0);
	return failed;
}
