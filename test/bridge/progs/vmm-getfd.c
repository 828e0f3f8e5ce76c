/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A management process opens /dev/iommu and maps RAM; the VMM takes the fd with pidfd_getfd(),
 * attaches, does CPR and unmaps.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
#include <sys/syscall.h>
/* a management process opens /dev/iommu and sets up RAM; the VMM takes the fd with pidfd_getfd (fd hand-over), then CPR */
int main(void)
{
	int a[2], b[2];
	pipe(a); pipe(b);
	int mfd = memfd_create("ram", 0);
	ftruncate(mfd, 4 << 20);
	char *p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(p, 0x44, 4 << 20);
	pid_t c = fork();
	if (c == 0) {
		int pfd_num;
		read(a[0], &pfd_num, sizeof(int));
		int pidfd = syscall(SYS_pidfd_open, getppid(), 0);
		int fd = syscall(SYS_pidfd_getfd, pidfd, pfd_num, 0);
		write(b[1], "t", 1);
		char go; read(a[0], &go, 1);
		P("child got fd: %d\n", fd >= 0);
		uint32_t s, hw, i;
		R("child attach to ioas 1", mock_dev(fd, 1, 0, &s, &hw, &i));
		P("ids %u %u %u\n", s, hw, i);
		R("child check map", check_map(fd, hw, 0x1000000, p, 4 << 20));
		struct { uint32_t size, r; } cp = { 8, 0 };
		R("child change process", ioctl(fd, _IO(IOMMUFD_TYPE, 0x92), &cp));
		uint64_t iova = 0x2000000;
		char *A = anon(1 << 20);
		R("child map anon", map(fd, 1, A, 1 << 20, &iova, FX));
		uint64_t len;
		R("child unmap all", unmap(fd, 1, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
		R("child close", close(fd));
		_exit(0);
	}
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd);
	P("ioas %u\n", ioas);
	struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } m = { 40, FX, ioas, mfd, 0, 4 << 20, 0x1000000 };
	R("mgmt map_file", ioctl(fd, IOMMU_IOAS_MAP_FILE, &m));
	uint64_t iova = 0x1000000;
	if (lastrc) R("mgmt map (6.12)", map(fd, ioas, p, 4 << 20, &iova, FX));
	write(a[1], &fd, sizeof(int));
	char t; read(b[0], &t, 1);
	R("mgmt close", close(fd));
	write(a[1], "g", 1);
	waitpid(c, NULL, 0);
	P("done\n");
	return 0;
}
