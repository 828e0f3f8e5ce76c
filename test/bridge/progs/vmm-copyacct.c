/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pin accounting at the exact limit across IOAS_COPY (pages shared), a second map of the same
 * memory, access pins against domain pins, unmap while an access holds pins.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
/* pin accounting at the limit across IOAS_COPY, emulated-device (access) pins and domains sharing pages */
static int fd;
static int unpin(uint32_t acc, uint32_t id)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = acc };
	c.destroy_access_pages.access_pages_id = id;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
static uint32_t access_new(uint32_t ioas)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas };
	c.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	R("create access", ioctl(fd, IOMMU_TEST_CMD, &c));
	return c.create_access.out_access_fd;
}
static void lim(uint64_t v) { struct rlimit r = { v, 64 << 20 }; setrlimit(RLIMIT_MEMLOCK, &r); }
static void pin(const char *t) { P("%s VmPin %ld\n", t, status_kb("VmPin")); }
int main(void)
{
	drop_ipc_lock();
	lim(4 << 20);
	fd = open("/dev/iommu", O_RDWR);
	char *A = anon(4 << 20), *B = anon(1 << 20);
	memset(A, 1, 4 << 20); memset(B, 2, 1 << 20);
	uint32_t io1 = ioas_new(fd), io2 = ioas_new(fd), io3 = ioas_new(fd), s, hw, i, s2, hw2, i2, s3, hw3, i3, pid, pid2, pid3;
	uint64_t iova, len;
	R("dev1", mock_dev(fd, io1, 0, &s, &hw, &i));
	R("dev2", mock_dev(fd, io2, 0, &s2, &hw2, &i2));
	iova = 0x1000000; R("map A 4M (= limit)", map(fd, io1, A, 4 << 20, &iova, FX));
	pin("A");
	struct iommu_ioas_copy c = { .size = sizeof(c), .flags = FX, .dst_ioas_id = io2, .src_ioas_id = io1, .length = 4 << 20, .dst_iova = 0x2000000, .src_iova = 0x1000000 };
	R("copy A to io2 (shared pages)", ioctl(fd, IOMMU_IOAS_COPY, &c));
	pin("copy");
	iova = 0x3000000; R("map A again in io2 (new pages obj, same memory)", map(fd, io2, A, 4096, &iova, FX));
	pin("A again");
	R("unmap it", unmap(fd, io2, 0x3000000, 4096, &len));
	iova = 0x1000000; R("io3 map B (no domain)", map(fd, io3, B, 1 << 20, &iova, FX));
	uint32_t a3 = access_new(io3), a1 = access_new(io1);
	R("access pin B over limit", access_pages_at(fd, a3, 0x1000000, 1 << 20, B, &pid));
	pin("after fail");
	R("access pin A (pinned by domain)", access_pages_at(fd, a1, 0x1100000, 1 << 20, A + (1 << 20), &pid2));
	pin("access A");
	R("unmap A in io1 while access holds pins", unmap(fd, io1, 0x1000000, 4 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	pin("unmapped io1");
	R("unpin stale access pages", unpin(a1, pid2));
	R("unmap io2", unmap(fd, io2, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	pin("unmapped io2");
	lim((1 << 20) - 4096);
	R("access pin B at limit-4K", access_pages_at(fd, a3, 0x1000000, 1 << 20, B, &pid));
	lim(1 << 20);
	R("access pin B at limit", access_pages_at(fd, a3, 0x1000000, 1 << 20, B, &pid));
	pin("B access");
	R("access pin B again (same access)", access_pages_at(fd, a3, 0x1000000, 4096, B, &pid3));
	pin("B access twice");
	R("dev3 on io3 (domain over access-pinned pages)", mock_dev(fd, io3, 0, &s3, &hw3, &i3));
	pin("dev3");
	R("unpin B", unpin(a3, pid));
	R("unpin B small", unpin(a3, pid3));
	pin("unpinned");
	R("destroy dev3", destroy(fd, s3));
	pin("dev3 gone");
	R("close", close(fd));
	pin("closed");
	return 0;
}
