// SPDX-License-Identifier: GPL-2.0-only
/*
 * What fstat and /proc/self/fdinfo say of the files a program holds beside
 * the kernel's answers: a fault queue's fd is the one shared anon inode
 * (anon_inode_getfile(): an eventfd's device and inode number, nonzero
 * times, mode 0600 with no file type), /dev/iommu a devtmpfs node with its
 * times; and the position fdinfo shows for a memfd and a tmpfs file after
 * lseek, read and write. Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "progs.h"

#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)

static void pos(const char *what, int f)
{
	char p[64], l[256];
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", f);
	FILE *in = fopen(p, "r");
	while (in && fgets(l, sizeof(l), in))
		if (!strncmp(l, "pos:", 4))
			printf("%s %s", what, l);
	if (in)
		fclose(in);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	SAID("FAULT_QUEUE_ALLOC", ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	struct stat q, e, n;
	int efd = eventfd(0, 0);
	SAID("fstat of the fault fd", fstat((int)fa.out_fault_fd, &q));
	SAID("fstat of an eventfd", fstat(efd, &e));
	SAID("fstat of /dev/iommu", fstat(fd, &n));
	printf("fault fd: mode 0%o, nlink %lu, uid %u, size %lld, times set %d\n", q.st_mode, (unsigned long)q.st_nlink, q.st_uid,
	       (long long)q.st_size, q.st_mtime != 0 && q.st_ctime != 0 && q.st_atime != 0);
	printf("the eventfd's inode: same number %d, same device %d, same times %d\n", q.st_ino == e.st_ino, q.st_dev == e.st_dev,
	       q.st_mtime == e.st_mtime && q.st_ctime == e.st_ctime);
	printf("/dev/iommu: mode 0%o, times set %d\n", n.st_mode & S_IFMT, n.st_mtime != 0 && n.st_ctime != 0);

	int m = memfd_create("fdstat", 0);
	ftruncate(m, 0x1000);
	printf("lseek %ld\n", (long)lseek(m, 0x123, SEEK_SET));
	pos("memfd after lseek", m);
	char b[4];
	read(m, b, sizeof(b));
	pos("memfd after read", m);
	int t = open("/tmp/fdstat-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	unlink("/tmp/fdstat-file");
	write(t, "abcdef", 6);
	pos("tmpfs file after write", t);
	printf("done\n");
	return 0;
}
