// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault cookies and the response xarray (XA_FLAGS_ALLOC1): cookies start at
 * 1, because while the xarray holds a group index 0 holds the zero entry
 * that xa_alloc() skips. A page response with cookie 0 is -EINVAL (no group)
 * but its xa_erase() removes that entry when there is one, and from then on
 * 0 is the lowest free cookie: for the next group read, and again after the
 * queue emptied. On an empty queue the same response changes nothing. Each
 * step prints its result, so that the oracle suite compares the output on
 * Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
#define HWPT_ALLOC_NEST_PARENT (1u << 0)
#define HWPT_FAULT_ID_VALID (1u << 2)
#define HWPT_DATA_SELFTEST 0xdead
#define TEST_IOTLB_DEFAULT 0xbadbeef
#define TEST_OP_MOCK_DOMAIN_REPLACE 10
#define TEST_OP_TRIGGER_IOPF 15

struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};
struct fault_alloc { uint32_t size, flags, out_fault_id, out_fault_fd; };
struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };
struct pgfault { uint32_t flags, dev_id, pasid, grpid, perm, reserved; uint64_t addr; uint32_t length, cookie; };
struct page_response { uint32_t cookie, code; };

static int io, ff;
static uint32_t idev;

static void fault_read(uint32_t grpid)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_TRIGGER_IOPF };
	c.u[0] = idev;
	c.u[2] = grpid;
	c.u[3] = 1;
	ioctl(io, IOMMU_TEST_CMD, &c);
	struct pgfault f = { 0 };
	long r = read(ff, &f, sizeof(f));
	printf("read group %u -> %ld, cookie %u\n", grpid, r, f.cookie);
}

static void respond(uint32_t cookie)
{
	struct page_response r = { .cookie = cookie };
	errno = 0;
	long n = write(ff, &r, sizeof(r));
	printf("respond to cookie %u -> %ld %d\n", cookie, n, n < 0 ? errno : 0);
}

int main(void)
{
	io = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(io);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(io, IOMMU_TEST_CMD, &md));
	idev = md.u[2];
	struct hwpt_alloc parent = { .size = sizeof(parent), .flags = HWPT_ALLOC_NEST_PARENT, .dev_id = idev, .pt_id = ioas };
	SAID("HWPT_ALLOC of a nesting parent", ioctl(io, IOMMU_HWPT_ALLOC, &parent));
	struct fault_alloc fa = { .size = sizeof(fa) };
	SAID("FAULT_QUEUE_ALLOC", ioctl(io, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	ff = (int)fa.out_fault_fd;
	uint32_t iotlb = TEST_IOTLB_DEFAULT;
	struct hwpt_alloc nested = { .size = sizeof(nested), .flags = HWPT_FAULT_ID_VALID, .dev_id = idev, .pt_id = parent.out_hwpt_id,
				     .data_type = HWPT_DATA_SELFTEST, .data_len = sizeof(iotlb), .data_uptr = (uintptr_t)&iotlb, .fault_id = fa.out_fault_id };
	SAID("HWPT_ALLOC of a nested HWPT reporting to the queue", ioctl(io, IOMMU_HWPT_ALLOC, &nested));
	struct test_cmd rep = { .size = sizeof(rep), .op = TEST_OP_MOCK_DOMAIN_REPLACE, .id = md.u[0] };
	rep.u[0] = nested.out_hwpt_id;
	SAID("the mock device attached to it", ioctl(io, IOMMU_TEST_CMD, &rep));

	respond(0);
	fault_read(1);
	fault_read(2);
	respond(2);
	fault_read(3);
	respond(0);
	fault_read(4);
	respond(0);
	respond(1);
	respond(2);
	fault_read(5);
	respond(0);
	fault_read(6);
	fault_read(7);
	respond(0);
	respond(1);
	fault_read(8);
	printf("done\n");
	return 0;
}
