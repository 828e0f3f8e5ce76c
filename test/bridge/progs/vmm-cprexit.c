/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPR after the old VMM process has exited: access reads and writes on the fast and slow paths,
 * ACCESS_PAGES, a new domain attached from the dead mm (EFAULT) against a copy from an existing
 * domain, then CHANGE_PROCESS and VmPin.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
/* CPR where the old VMM process has exited: the inheritor uses the iommufd before/after IOAS_CHANGE_PROCESS */
static int fd;
static int cp(void) { struct { uint32_t size, r; } c = { 8, 0 }; return ioctl(fd, _IO(IOMMUFD_TYPE, 0x92), &c); }
int main(void)
{
	drop_ipc_lock();
	struct rlimit rl = { 32 << 20, 32 << 20 };
	R("setrlimit", setrlimit(RLIMIT_MEMLOCK, &rl));
	int pfd[2], qfd[2]; pipe(pfd); pipe(qfd);
	pid_t x = fork();
	if (x == 0) {
		fd = open("/dev/iommu", O_RDWR);
		uint32_t ioas = ioas_new(fd), st, hw, idev;
		R("X attach", mock_dev(fd, ioas, 0, &st, &hw, &idev));
		int mfd = memfd_create("ram", 0);
		ftruncate(mfd, 4 << 20);
		char *m = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		memset(m, 0x11, 4 << 20);
		struct { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; } mf = { 40, FX, ioas, mfd, 0, 4 << 20, 0x1000000 };
		R("X map_file", ioctl(fd, IOMMU_IOAS_MAP_FILE, &mf));
		char *A = anon(1 << 20);
		memset(A, 0x22, 1 << 20);
		uint64_t iova = 0x2000000;
		R("X map anon", map(fd, ioas, A, 1 << 20, &iova, FX));
		iova = 0x3000000;
		char *B = anon(1 << 20);
		memset(B, 0x33, 1 << 20);
		uint32_t ioas2 = ioas_new(fd);
		R("X map anon ioas2 (no domain, unpinned)", map(fd, ioas2, B, 1 << 20, &iova, FX));
		struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas };
		R("X access", ioctl(fd, IOMMU_TEST_CMD, &ca));
		struct iommu_test_cmd cb = { .size = sizeof(cb), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas2 };
		R("X access2", ioctl(fd, IOMMU_TEST_CMD, &cb));
		P("X VmPin %ld ids %u %u %u acc %u %u\n", status_kb("VmPin"), st, hw, idev, ca.create_access.out_access_fd, cb.create_access.out_access_fd);
		pid_t y = fork();
		if (y == 0) {
			close(pfd[1]);
			char ch;
			read(pfd[0], &ch, 1); /* EOF when X is gone */
			uint32_t acc = ca.create_access.out_access_fd, acc2 = cb.create_access.out_access_fd, pid;
			char buf[16] = { 0 };
			R("Y rw file area", access_rw_at(fd, acc, 0x1000000, buf, 16, 0)); P(" %02x\n", (uint8_t)buf[0]);
			R("Y rw anon area", access_rw_at(fd, acc, 0x2000000, buf, 16, 0)); P(" %02x\n", (uint8_t)buf[0]);
			R("Y rw anon area slow", access_rw_at(fd, acc, 0x2000000, buf, 16, MOCK_ACCESS_RW_SLOW_PATH)); P(" %02x\n", (uint8_t)buf[0]);
			R("Y rw unpinned anon (dead mm)", access_rw_at(fd, acc2, 0x3000000, buf, 16, 0));
			R("Y rw unpinned anon slow (dead mm)", access_rw_at(fd, acc2, 0x3000000, buf, 16, MOCK_ACCESS_RW_SLOW_PATH));
			R("Y access pages pinned anon", access_pages_at(fd, acc, 0x2000000, 4096, A, &pid));
			R("Y access pages unpinned anon", access_pages_at(fd, acc2, 0x3000000, 4096, B, &pid));
			uint32_t s2, h2, i2;
			R("Y attach ioas2 (needs pin from dead mm)", mock_dev(fd, ioas2, 0, &s2, &h2, &i2));
			R("Y attach ioas (copy from domain)", mock_dev(fd, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &s2, &h2, &i2));
			P("Y VmPin %ld\n", status_kb("VmPin"));
			R("Y cp (anon present)", cp());
			uint64_t len;
			R("Y unmap anon", unmap(fd, ioas, 0x2000000, 1 << 20, &len));
			R("Y unmap ioas2", unmap(fd, ioas2, 0, UINT64_MAX, &len));
			R("Y cp", cp());
			P("Y VmPin %ld\n", status_kb("VmPin"));
			R("Y rw file area after cp", access_rw_at(fd, acc, 0x1000000, buf, 16, MOCK_ACCESS_RW_SLOW_PATH)); P(" %02x\n", (uint8_t)buf[0]);
			R("Y unmap file", unmap(fd, ioas, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
			P("Y VmPin %ld\n", status_kb("VmPin"));
			_exit(0);
		}
		close(qfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	close(qfd[1]);
	waitpid(x, NULL, 0);
	char ch;
	read(qfd[0], &ch, 1); /* EOF when Y is gone too */
	P("main done\n");
	return 0;
}
