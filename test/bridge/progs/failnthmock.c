// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fail-nth sweep (ignore-gfp-wait N) over HWPT_ALLOC of a paging domain
 * over an IOAS that maps a 2 MiB hugetlb folio (one physically contiguous
 * run, so the driver is asked to map it in one call on both sides). On 6.12
 * the mock domain keeps its PFNs in an xarray (mock->pfns, an index per
 * 2 KiB): each node an xa_store() makes is a GFP_NOWAIT allocation under the
 * lock that fail-nth counts and that is made again with GFP_KERNEL when it
 * fails, so the call succeeds with fail-nth fired. 1024 indexes past 8192
 * make 16 leaves, a node over them and the root. On 7.2 the mock is an
 * iommupt page table. (A second area at 512 MiB, where the tree grows a
 * fourth level, agrees on its own, but after other programs in one boot
 * 6.12.95 passes one point more there, every try: test/iommu holds it. The
 * same happens at the end of the 2 MiB fill in some runs of the oracle
 * suite's one boot, so there only 7.2 compares it; on its own 6.12.95
 * agrees, and test/bridge/exec.test.ts holds the 6.12 counts.) Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under exec
 * (each n tried until two tries agree: nth_vote()). Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define APERTURE (1ULL << 24)

struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};

static int fd, nth;
static struct hwpt_alloc ha;

static int hwpt_alloc(void)
{
	ha.out_hwpt_id = 0;
	return ioctl(fd, IOMMU_HWPT_ALLOC, &ha);
}

static void destroy_new(int r)
{
	if (r == 0) {
		struct { uint32_t size, id; } d = { 8, ha.out_hwpt_id };
		ioctl(fd, IOMMU_DESTROY, &d);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char *buf = mmap(0, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		printf("no hugetlb page\ndone\n");
		return 0;
	}
	memset(buf, 1, 2 << 20);
	nth = nth_open();
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 2 << 20, .iova = APERTURE };
	SAID("IOAS_MAP of the folio", ioctl(fd, IOMMU_IOAS_MAP, &m));
	ha = (struct hwpt_alloc){ .size = sizeof(ha), .dev_id = md.out_idev_id, .pt_id = ioas };
	nth_sweep(nth, "HWPT_ALLOC over 2 MiB", hwpt_alloc, destroy_new);
	nth_done();
	printf("done\n");
	return 0;
}
