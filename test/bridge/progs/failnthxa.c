// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail-nth sweeps (ignore-gfp-wait N, as the kernel's iommufd_fail_nth sets
 * it) over calls whose xarray stores run under the xarray's lock: each node
 * such a store makes is a GFP_NOWAIT allocation that fail-nth counts, and
 * one that fails is made again with GFP_KERNEL (__xas_nomem()), so the call
 * succeeds with fail-nth fired. An object ID's node (the first object of a
 * context), IOAS_CHANGE_PROCESS's list of IOASes and a vDEVICE's virt_id
 * (0x55: a root and a leaf) are such stores; the fault queue's file is two
 * allocations (its pseudo dentry, then the file) and its descriptor none
 * (the table has room). Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
#define IOMMU_VIOMMU_ALLOC _IO(T, 0x90)
#define IOMMU_VDEVICE_ALLOC _IO(T, 0x91)
#define HWPT_ALLOC_NEST_PARENT 1
#define VIOMMU_TYPE_SELFTEST 0xdeadbeef

struct fault_alloc { uint32_t size, flags, out_fault_id, out_fault_fd; };
struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};
struct viommu_alloc { uint32_t size, flags, type, dev_id, hwpt_id, out_viommu_id, data_len, reserved; uint64_t data_uptr; };
struct vdevice_alloc { uint32_t size, viommu_id, dev_id, out_vdevice_id; uint64_t virt_id; };
struct change_process { uint32_t size, reserved; };

static int fd, nth;
static struct fault_alloc fa;
static struct vdevice_alloc vd;

static int fault_alloc(void)
{
	fa = (struct fault_alloc){ .size = sizeof(fa) };
	int r = ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa);
	if (r == 0)
		close((int)fa.out_fault_fd);
	return r;
}

static int change_process(void)
{
	struct change_process c = { .size = sizeof(c) };
	return ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &c);
}

static int vdevice_alloc(void)
{
	return ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	nth = nth_open();
	fd = open("/dev/iommu", O_RDWR);
	nth_sweep(nth, "FAULT_QUEUE_ALLOC, the context's first object", fault_alloc, NULL);
	nth_sweep(nth, "FAULT_QUEUE_ALLOC", fault_alloc, NULL);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	nth_sweep(nth, "IOAS_CHANGE_PROCESS", change_process, NULL);
	struct hwpt_alloc parent = { .size = sizeof(parent), .flags = HWPT_ALLOC_NEST_PARENT, .dev_id = md.out_idev_id, .pt_id = ioas };
	SAID("HWPT_ALLOC of a nesting parent", ioctl(fd, IOMMU_HWPT_ALLOC, &parent));
	struct viommu_alloc va = { .size = sizeof(va), .type = VIOMMU_TYPE_SELFTEST, .dev_id = md.out_idev_id, .hwpt_id = parent.out_hwpt_id };
	SAID("VIOMMU_ALLOC", ioctl(fd, IOMMU_VIOMMU_ALLOC, &va));
	vd = (struct vdevice_alloc){ .size = sizeof(vd), .viommu_id = va.out_viommu_id, .dev_id = md.out_idev_id, .virt_id = 0x55 };
	nth_sweep(nth, "VDEVICE_ALLOC of virt_id 0x55", vdevice_alloc, NULL);
	nth_done();
	printf("done\n");
	return 0;
}
