// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail-nth (ignore-gfp-wait N) where a failed allocation is not the call's
 * failure, or is one the call makes on its way:
 * - kvzalloc()/kvcalloc() past PAGE_SIZE falls back to vmalloc when its
 *   kmalloc fails (__kvmalloc_node_noprof()): the selftest's ACCESS_RW
 *   buffer and ACCESS_PAGES page array at 4096 bytes fail, at 4097 do not;
 * - a replace onto a HWPT of another IOAS asks for the device's reserved
 *   regions (iopt_table_enforce_dev_resv_regions(): fail_iommufd, EINVAL),
 *   one of the same IOAS does not;
 * - a pin that faults in a VMA's first anonymous page makes its anon_vma
 *   (__anon_vma_prepare(): the chain, then the anon_vma, each ENOMEM), a
 *   VMA the CPU wrote to already has one; and on 7.2 GET_DIRTY_BITMAP pins
 *   its bitmap lazily, so a failed pin there drops the bits it read and
 *   cleared, and the call still succeeds.
 * Each VMA stands between PROT_NONE neighbours, so that none merges or shares
 * a neighbour's anon_vma. Each step prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under exec.
 * Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_HWPT_SET_DIRTY _IO(T, 0x8b)
#define IOMMU_HWPT_GET_DIRTY _IO(T, 0x8c)
#define TEST_OP_DESTROY_ACCESS_PAGES 6
#define TEST_OP_MOCK_DOMAIN_REPLACE 10
#define TEST_OP_DIRTY 13
#define APERTURE (1ULL << 24)

struct tcmd { uint32_t size, op, id, reserved; uint64_t u[30]; };
struct hwpt_alloc { uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len; uint64_t data_uptr; uint32_t fault_id, reserved2; };

static int fd, nth, acc;
static uint64_t len;
static char *buf, *sb, out[8192];
static uint32_t stdev, target, back;
static struct { uint32_t size, hwpt_id, flags, reserved; uint64_t iova, length, page_size, data; } gd;

/* a fresh access (needing pin_pages) on a fresh IOAS */
static int new_access(uint32_t *ioas)
{
	*ioas = ioas_alloc(fd);
	struct tcmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = *ioas };
	ca.u[0] = 1ULL << 32;
	ioctl(fd, IOMMU_TEST_CMD, &ca);
	return (int)ca.u[0];
}

/* `pages` read-write pages between PROT_NONE ones */
static char *lone_vma(int pages)
{
	char *g = mmap(0, (pages + 2) << 12, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(g + 4096, pages << 12, PROT_READ | PROT_WRITE);
	return g + 4096;
}

static int rw(void) { return access_rw(fd, acc, APERTURE, out, len, 0); }

static int pin(void)
{
	struct tcmd c = { .size = sizeof(c), .op = TEST_OP_ACCESS_PAGES, .id = acc };
	c.u[0] = 1;
	c.u[1] = APERTURE;
	c.u[2] = len;
	c.u[3] = (uintptr_t)sb;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	if (!r) {
		struct tcmd d = { .size = sizeof(d), .op = TEST_OP_DESTROY_ACCESS_PAGES, .id = acc };
		d.u[0] = c.u[0] >> 32;
		ioctl(fd, IOMMU_TEST_CMD, &d);
	}
	return r;
}

static int replace(void)
{
	struct tcmd c = { .size = sizeof(c), .op = TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	c.u[0] = target;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

/* a replace that succeeded goes back before the next try */
static void replace_back(int r)
{
	if (r == 0) {
		target = back;
		replace();
	}
}

static int get_dirty(void) { return ioctl(fd, IOMMU_HWPT_GET_DIRTY, &gd); }

static void kvzalloc_fallback(void)
{
	uint32_t ioas;
	acc = new_access(&ioas);
	sb = buf = mmap(0, 520 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 520 << 12, .iova = APERTURE };
	SAID("IOAS_MAP of 520 pages", ioctl(fd, IOMMU_IOAS_MAP, &m));
	int e, f, r;
	for (len = 4096; len <= 4097; len++) {
		r = nth_call(nth, 1, rw, &e, &f);
		printf("ACCESS_RW of %llu bytes n=1 -> %d %d, fired %d\n", (unsigned long long)len, r, e, f);
	}
	for (len = 512 << 12; len <= 513 << 12; len += 4096) {
		r = nth_call(nth, 1, pin, &e, &f);
		printf("ACCESS_PAGES of %llu pages n=1 -> %d %d, fired %d\n", (unsigned long long)len >> 12, r, e, f);
	}
}

static void replace_other_ioas(void)
{
	uint32_t ioas1 = ioas_alloc(fd), ioas2 = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas1 };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	stdev = md.out_stdev_id;
	struct hwpt_alloc h2 = { .size = sizeof(h2), .dev_id = md.out_idev_id, .pt_id = ioas2 };
	SAID("HWPT_ALLOC on the other IOAS", ioctl(fd, IOMMU_HWPT_ALLOC, &h2));
	struct hwpt_alloc h1 = { .size = sizeof(h1), .dev_id = md.out_idev_id, .pt_id = ioas1 };
	SAID("HWPT_ALLOC on the device's IOAS", ioctl(fd, IOMMU_HWPT_ALLOC, &h1));
	struct hwpt_alloc h3 = h1;
	SAID("HWPT_ALLOC on the device's IOAS again", ioctl(fd, IOMMU_HWPT_ALLOC, &h3));
	back = target = h1.out_hwpt_id;
	SAID("MOCK_DOMAIN_REPLACE onto the first", replace());
	target = h2.out_hwpt_id;
	nth_sweep(nth, "MOCK_DOMAIN_REPLACE onto the other IOAS's HWPT", replace, replace_back);
	target = h3.out_hwpt_id;
	nth_sweep(nth, "MOCK_DOMAIN_REPLACE onto the same IOAS's other HWPT", replace, replace_back);
}

static void first_anon_fault(void)
{
	int e, f, r;
	for (int t = 0; t < 2; t++) {
		for (int n = 3; n <= 6; n++) {
			uint32_t ioas;
			acc = new_access(&ioas);
			sb = lone_vma(1);
			if (t)
				sb[0] = 1;
			struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)sb, .length = 4096, .iova = APERTURE };
			ioctl(fd, IOMMU_IOAS_MAP, &m);
			len = 4096;
			r = nth_call(nth, n, pin, &e, &f);
			printf("ACCESS_PAGES of a page %s n=%d -> %d %d, fired %d\n", t ? "written before" : "never touched", n, r, e, f);
		}
	}
	char *hb = mmap(0, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (hb == MAP_FAILED) {
		printf("no hugetlb page\n");
		return;
	}
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct hwpt_alloc ha = { .size = sizeof(ha), .flags = 2, .dev_id = md.out_idev_id, .pt_id = ioas };
	SAID("HWPT_ALLOC with dirty tracking", ioctl(fd, IOMMU_HWPT_ALLOC, &ha));
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)hb, .length = 2 << 20, .iova = APERTURE };
	SAID("IOAS_MAP of a hugetlb folio", ioctl(fd, IOMMU_IOAS_MAP, &m));
	struct { uint32_t size, flags, hwpt_id, reserved; } st = { 16, 1, ha.out_hwpt_id, 0 };
	SAID("SET_DIRTY_TRACKING", ioctl(fd, IOMMU_HWPT_SET_DIRTY, &st));
	uint64_t marks[8] = { 1 };
	struct tcmd c = { .size = sizeof(c), .op = TEST_OP_DIRTY, .id = ha.out_hwpt_id };
	c.u[1] = APERTURE;
	c.u[2] = 2 << 20;
	c.u[3] = 4096;
	c.u[4] = (uintptr_t)marks;
	SAID("TEST_OP_DIRTY of the first page", ioctl(fd, IOMMU_TEST_CMD, &c));
	uint64_t *bm = (uint64_t *)lone_vma(1);
	gd = (typeof(gd)){ .size = sizeof(gd), .hwpt_id = ha.out_hwpt_id, .iova = APERTURE, .length = 2 << 20, .page_size = 4096, .data = (uintptr_t)bm };
	r = nth_call(nth, 3, get_dirty, &e, &f);
	printf("GET_DIRTY_BITMAP into a page never touched n=3 -> %d %d, fired %d, word 0 %llx\n", r, e, f, (unsigned long long)bm[0]);
	SAID("GET_DIRTY_BITMAP again", get_dirty());
	printf("word 0 %llx\n", (unsigned long long)bm[0]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = open("/dev/iommu", O_RDWR);
	nth = nth_open();
	kvzalloc_fallback();
	replace_other_ioas();
	first_anon_fault();
	nth_done();
	printf("done\n");
	return 0;
}
