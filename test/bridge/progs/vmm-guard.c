/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A PROT_NONE guard page inside guest RAM: the unwind of a pin that fails there (refs, VmPin), an
 * attach that fails, access reads and writes across it; 48 MiB of never-touched MAP_NORESERVE RAM.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* guest RAM with a PROT_NONE guard page inside: pin failure cleanup with and without a domain, big unpopulated RAM */
static int fd;
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t io1 = ioas_new(fd), io2 = ioas_new(fd), s, hw, i, s2, hw2, i2;
	char *A = anon(8 << 20);
	memset(A, 1, 8 << 20);
	R("guard page at +5M", mprotect(A + (5 << 20), 4096, PROT_NONE));
	uint64_t iova, len;
	R("dev", mock_dev(fd, io1, 0, &s, &hw, &i));
	iova = 0x1000000; R("map over guard (domain)", map(fd, io1, A, 8 << 20, &iova, FX));
	R("refs first 5M", check_refs(fd, A, 5 << 20, 0));
	P("VmPin %ld\n", status_kb("VmPin"));
	iova = 0x1000000; R("map up to guard", map(fd, io1, A, 5 << 20, &iova, FX));
	R("refs first 5M", check_refs(fd, A, 5 << 20, 1));
	iova = 0x1500000; R("map guard page R only", map(fd, io1, A + (5 << 20), 4096, &iova, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	iova = 0x2000000; R("io2 map over guard (no domain)", map(fd, io2, A, 8 << 20, &iova, FX));
	R("attach io2", mock_dev(fd, io2, 0, &s2, &hw2, &i2));
	R("refs first 5M after failed attach", check_refs(fd, A, 5 << 20, 1));
	struct iommu_test_cmd ca = { .size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = io2 };
	R("access io2", ioctl(fd, IOMMU_TEST_CMD, &ca));
	char b[32];
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_ACCESS_RW, .id = ca.create_access.out_access_fd };
	c.access_rw.iova = 0x2500000 - 16; c.access_rw.length = 32; c.access_rw.uptr = (uintptr_t)b;
	R("access rw across guard", ioctl(fd, IOMMU_TEST_CMD, &c));
	c.access_rw.iova = 0x2500000 + 4096;
	R("access rw after guard", ioctl(fd, IOMMU_TEST_CMD, &c)); P(" %02x\n", (uint8_t)b[0]);
	R("unprotect", mprotect(A + (5 << 20), 4096, PROT_READ | PROT_WRITE));
	R("attach io2 now", mock_dev(fd, io2, 0, &s2, &hw2, &i2));
	R("refs all 8M", check_refs(fd, A + (5 << 20), 3 << 20, 1));
	R("refs first 5M (two ioas, same pages)", check_refs(fd, A, 5 << 20, 2));
	P("VmPin %ld\n", status_kb("VmPin"));
	R("unmap io2", unmap(fd, io2, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	/* 48 MiB of RAM the guest never touched */
	long rss0 = status_kb("VmRSS");
	char *G = mmap(NULL, 48 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	iova = 0x10000000; R("map 48M untouched", map(fd, io1, G, 48 << 20, &iova, FX));
	long rss1 = status_kb("VmRSS");
	P("rss grew >= 48M: %d\n", rss1 - rss0 >= (48 << 10));
	R("check map G", check_map(fd, hw, 0x10000000, G, 48 << 20));
	R("refs G", check_refs(fd, G, 48 << 20, 1));
	P("VmPin %ld\n", status_kb("VmPin"));
	R("unmap all", unmap(fd, io1, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	P("VmPin %ld\n", status_kb("VmPin"));
	R("close", close(fd));
	return 0;
}
