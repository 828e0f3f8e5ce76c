/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPR (live update): IOAS_CHANGE_PROCESS in a forked child after the parent's MAP_FILE, with the
 * child's RLIMIT_MEMLOCK at 4M, 8M, 16M-4K and 16M (CAP_IPC_LOCK dropped), VmPin of child and parent,
 * EINVAL while an anonymous area exists, and changing back. 6.12 has neither call (ENOTTY).
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
/* CPR: IOMMU_IOAS_CHANGE_PROCESS from a forked child, accounting of parent and child */
static int cp(int fd, uint32_t res)
{
	struct { uint32_t size, reserved; } c = { 8, res };
	return ioctl(fd, _IO(IOMMUFD_TYPE, 0x92), &c);
}
static int mapfile(int fd, uint32_t ioas, int mfd, uint64_t start, uint64_t len, uint64_t iova)
{
	struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } m = { 40, FX, ioas, mfd, start, len, iova };
	return ioctl(fd, _IO(IOMMUFD_TYPE, 0x8f), &m);
}
int main(void)
{
	struct rlimit rl = { 64 << 20, 64 << 20 };
	R("setrlimit", setrlimit(RLIMIT_MEMLOCK, &rl));
	drop_ipc_lock();
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), ioas2 = ioas_new(fd), st, hw, idev;
	R("attach", mock_dev(fd, ioas, 0, &st, &hw, &idev));
	int mfd = memfd_create("ram", 0);
	R("ftruncate", ftruncate(mfd, 8 << 20));
	R("cp empty", cp(fd, 0));
	R("cp reserved", cp(fd, 1));
	R("mapfile 8M", mapfile(fd, ioas, mfd, 0, 8 << 20, 0x1000000));
	R("mapfile 2M in ioas2 (no domain)", mapfile(fd, ioas2, mfd, 0, 2 << 20, 0x1000000));
	P("parent VmPin %ld VmLck %ld\n", status_kb("VmPin"), status_kb("VmLck"));
	R("cp same process", cp(fd, 0));
	P("parent VmPin %ld\n", status_kb("VmPin"));
	int pfd[2], qfd[2]; pipe(pfd); pipe(qfd);
	pid_t c = fork();
	if (c == 0) {
		struct rlimit small = { 4 << 20, 64 << 20 };
		R("child setrlimit 4M", setrlimit(RLIMIT_MEMLOCK, &small));
		R("child cp (limit too small)", cp(fd, 0));
		P("child VmPin %ld\n", status_kb("VmPin"));
		struct rlimit exact = { 8 << 20, 64 << 20 };
		R("child setrlimit 8M", setrlimit(RLIMIT_MEMLOCK, &exact));
		R("child cp 8M", cp(fd, 0));
		struct rlimit m1 = { (16 << 20) - 4096, 64 << 20 };
		R("child setrlimit 16M-4K", setrlimit(RLIMIT_MEMLOCK, &m1));
		R("child cp 16M-4K", cp(fd, 0));
		struct rlimit m2 = { 16 << 20, 64 << 20 };
		R("child setrlimit 16M", setrlimit(RLIMIT_MEMLOCK, &m2));
		R("child cp 16M", cp(fd, 0));
		P("child VmPin %ld VmLck %ld\n", status_kb("VmPin"), status_kb("VmLck"));
		R("child cp again", cp(fd, 0));
		P("child VmPin %ld\n", status_kb("VmPin"));
		char *A = anon(1 << 20);
		uint64_t iova = 0x2000000;
		R("child map anon", map(fd, ioas2, A, 1 << 20, &iova, FX));
		P("child VmPin %ld\n", status_kb("VmPin"));
		write(pfd[1], "x", 1);
		char ch; read(qfd[0], &ch, 1);
		_exit(0);
	}
	char ch; read(pfd[0], &ch, 1);
	P("parent VmPin after child cp %ld\n", status_kb("VmPin"));
	R("parent cp (anon area present)", cp(fd, 0));
	P("parent VmPin %ld\n", status_kb("VmPin"));
	write(qfd[1], "y", 1);
	waitpid(c, NULL, 0);
	uint64_t len;
	R("unmap anon", unmap(fd, ioas2, 0x2000000, 1 << 20, &len));
	P("parent VmPin after unmap anon %ld\n", status_kb("VmPin"));
	R("parent cp back", cp(fd, 0));
	P("parent VmPin %ld\n", status_kb("VmPin"));
	struct rlimit low = { 2 << 20, 64 << 20 };
	R("parent setrlimit 2M", setrlimit(RLIMIT_MEMLOCK, &low));
	uint64_t iova = 0x3000000;
	R("map file over limit", mapfile(fd, ioas, mfd, 0, 4 << 20, iova));
	R("unmap all", unmap(fd, ioas, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	P("parent VmPin %ld\n", status_kb("VmPin"));
	R("close", close(fd));
	P("parent VmPin %ld\n", status_kb("VmPin"));
	return 0;
}
