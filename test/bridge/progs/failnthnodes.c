// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail-nth sweeps (ignore-gfp-wait N) over calls whose xarray stores make
 * nodes under the xarray's lock, each a GFP_NOWAIT allocation fail-nth counts
 * and, when it fails, made again with GFP_KERNEL (xas_nomem()), so the call
 * succeeds with fail-nth fired: an IOAS's second access (access_list: the
 * first takes id 0, in the head), the first page an access pins past index 0
 * of an area (pinned_pfns), a HW queue's page (the same), a PASID's first
 * attachment (the group's pasid_attach holding the RID at 0: two levels and
 * a leaf; the new attachment's device array; the iommu group's pasid_array),
 * and a vIOMMU's mmap region (the maple tree's node). Each step prints its
 * result, so that the oracle suite compares the output on Linux 6.12 and 7.2
 * with the output under exec (each n tried until two tries agree:
 * nth_vote()); 6.12 has no HW queue, mmap region or PASID attach, and says
 * so. Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_VIOMMU_ALLOC _IO(T, 0x90)
#define IOMMU_HW_QUEUE_ALLOC _IO(T, 0x94)
#define HWPT_ALLOC_NEST_PARENT 1
#define HWPT_ALLOC_PASID (1 << 3)
#define VIOMMU_TYPE_SELFTEST 0xdeadbeef
#define HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define TEST_OP_DESTROY_ACCESS_PAGES 6
#define TEST_OP_MOCK_DOMAIN_REPLACE 10
#define TEST_OP_MOCK_DOMAIN_FLAGS 12
#define TEST_OP_PASID_ATTACH 18
#define TEST_OP_PASID_DETACH 20
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define APERTURE (1ULL << 24)

struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};
struct viommu_alloc { uint32_t size, flags, type, dev_id, hwpt_id, out_viommu_id, data_len, reserved; uint64_t data_uptr; };
struct viommu_selftest { uint32_t in_data, out_data; uint64_t out_mmap_offset, out_mmap_length; };
struct hw_queue_alloc { uint32_t size, flags, viommu_id, type, index, out_hw_queue_id; uint64_t nesting_parent_iova, length; };
/* IOMMU_TEST_CMD with its union as u32 words */
struct test_cmd_w { uint32_t size, op, id, reserved; uint32_t w[60]; };

static int fd, nth;




static uint32_t cur_ioas, cur_access, stdev, pasid_pt;
/* what the last call's success left to undo, run once fail-nth is disarmed */
static void (*undo)(void);
static uint32_t undo_id;

static int destroy(uint32_t id);
static int test_cmd(struct test_cmd_w *c);
static void undo_close(void) { close((int)undo_id); }
static void undo_destroy(void) { destroy(undo_id); }
static void undo_access_pages(void)
{
	struct test_cmd_w d = { .op = TEST_OP_DESTROY_ACCESS_PAGES, .id = cur_access };
	d.w[0] = undo_id;
	test_cmd(&d);
}
static void undo_pasid(void)
{
	struct test_cmd_w d = { .op = TEST_OP_PASID_DETACH, .id = stdev };
	d.w[0] = 100;
	test_cmd(&d);
}
static void later(void (*fn)(void), uint32_t id)
{
	undo = fn;
	undo_id = id;
}
static struct viommu_alloc vdata;
static struct hw_queue_alloc hq;

static int destroy(uint32_t id)
{
	struct { uint32_t size, id; } d = { 8, id };
	return ioctl(fd, IOMMU_DESTROY, &d);
}

static int test_cmd(struct test_cmd_w *c)
{
	c->size = sizeof(*c);
	return ioctl(fd, IOMMU_TEST_CMD, c);
}

/* CREATE_ACCESS on cur_ioas; a new access's descriptor closed (the access with it) */
static int create_access(void)
{
	struct test_cmd_w c = { .op = TEST_OP_CREATE_ACCESS, .id = cur_ioas };
	c.w[1] = 1; /* MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
	int r = test_cmd(&c);
	if (r == 0)
		later(undo_close, c.w[0]);
	return r;
}

/* ACCESS_PAGES of the third page mapped at APERTURE, then of the first; each pin undone */
static int access_pages_at(uint64_t iova)
{
	struct test_cmd_w c = { .op = TEST_OP_ACCESS_PAGES, .id = cur_access };
	c.w[0] = 0;
	memcpy(&c.w[2], &iova, 8);
	uint64_t len = 4096, uptr = 0;
	memcpy(&c.w[4], &len, 8);
	memcpy(&c.w[6], &uptr, 8);
	int r = test_cmd(&c);
	if (r == 0)
		later(undo_access_pages, c.w[1]);
	return r;
}

static int access_pages_2(void) { return access_pages_at(APERTURE + 2 * 4096); }
static int access_pages_0(void) { return access_pages_at(APERTURE); }

static int viommu_with_data(void)
{
	int r = ioctl(fd, IOMMU_VIOMMU_ALLOC, &vdata);
	if (r == 0)
		later(undo_destroy, vdata.out_viommu_id);
	return r;
}

static int hw_queue(void)
{
	int r = ioctl(fd, IOMMU_HW_QUEUE_ALLOC, &hq);
	if (r == 0)
		later(undo_destroy, hq.out_hw_queue_id);
	return r;
}

static int pasid_attach(void)
{
	struct test_cmd_w c = { .op = TEST_OP_PASID_ATTACH, .id = stdev };
	c.w[0] = 100;
	c.w[1] = pasid_pt;
	int r = test_cmd(&c);
	if (r == 0)
		later(undo_pasid, 0);
	return r;
}

/* fail the 1st, 2nd, ... point of `call` until one is not reached; nothing printed while armed */
static void run_undo(int r)
{
	(void)r;
	if (undo)
		undo();
	undo = NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	nth = nth_open();
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct hwpt_alloc parent = { .size = sizeof(parent), .flags = HWPT_ALLOC_NEST_PARENT, .dev_id = md.out_idev_id, .pt_id = ioas };
	SAID("HWPT_ALLOC of a nesting parent", ioctl(fd, IOMMU_HWPT_ALLOC, &parent));
	struct viommu_alloc va = { .size = sizeof(va), .type = VIOMMU_TYPE_SELFTEST, .dev_id = md.out_idev_id, .hwpt_id = parent.out_hwpt_id };
	SAID("VIOMMU_ALLOC", ioctl(fd, IOMMU_VIOMMU_ALLOC, &va));

	/* accesses: an IOAS's first (list id 0, in the head) and its second (id 1, a node) */
	char *buf = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 65536, .iova = APERTURE };
	SAID("IOAS_MAP", ioctl(fd, IOMMU_IOAS_MAP, &m));
	cur_ioas = ioas;
	nth_sweep(nth, "CREATE_ACCESS, the IOAS's first", create_access, run_undo);
	struct test_cmd_w ca = { .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	ca.w[1] = 1;
	SAID("CREATE_ACCESS", test_cmd(&ca));
	cur_access = ca.w[0];
	nth_sweep(nth, "CREATE_ACCESS beside another", create_access, run_undo);
	nth_sweep(nth, "ACCESS_PAGES of the area's page 2", access_pages_2, run_undo);
	nth_sweep(nth, "ACCESS_PAGES of the area's page 0", access_pages_0, run_undo);

	/* 7.2: a vIOMMU's mmap region, HW queues on the area's pages 0 and 2 (the mock's index 1 needs index 0: EIO) */
	struct viommu_selftest sd = { .in_data = 0xabcd };
	vdata = va;
	vdata.data_len = sizeof(sd);
	vdata.data_uptr = (uintptr_t)&sd;
	nth_sweep(nth, "VIOMMU_ALLOC with the selftest's data", viommu_with_data, run_undo);
	hq = (struct hw_queue_alloc){ .size = sizeof(hq), .viommu_id = va.out_viommu_id, .type = HW_QUEUE_TYPE_SELFTEST, .index = 0, .nesting_parent_iova = APERTURE, .length = 4096 };
	nth_sweep(nth, "HW_QUEUE_ALLOC on page 0", hw_queue, run_undo);
	hq.index = 1;
	hq.nesting_parent_iova = APERTURE + 2 * 4096;
	nth_sweep(nth, "HW_QUEUE_ALLOC on page 2", hw_queue, run_undo);

	/* 7.2: PASID 100 of a PASID-capable device, its RID on a PASID-compatible HWPT, then on its auto domain */
	uint32_t ioas3 = ioas_alloc(fd);
	struct test_cmd_w mf = { .op = TEST_OP_MOCK_DOMAIN_FLAGS, .id = ioas3 };
	mf.w[3] = MOCK_FLAGS_DEVICE_PASID;
	SAID("MOCK_DOMAIN_FLAGS with PASID", test_cmd(&mf));
	stdev = mf.w[0];
	struct hwpt_alloc ph = { .size = sizeof(ph), .flags = HWPT_ALLOC_PASID, .dev_id = mf.w[2], .pt_id = ioas3 };
	SAID("HWPT_ALLOC with PASID", ioctl(fd, IOMMU_HWPT_ALLOC, &ph));
	pasid_pt = ph.out_hwpt_id;
	struct test_cmd_w rp = { .op = TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	rp.w[0] = pasid_pt;
	SAID("MOCK_DOMAIN_REPLACE onto it", test_cmd(&rp));
	nth_sweep(nth, "PASID_ATTACH", pasid_attach, run_undo);
	rp.w[0] = ioas3;
	SAID("MOCK_DOMAIN_REPLACE onto the IOAS (a new auto domain)", test_cmd(&rp));
	nth_sweep(nth, "PASID_ATTACH beside a RID that is not PASID-compatible", pasid_attach, run_undo);
	nth_done();
	printf("done\n");
	return 0;
}
