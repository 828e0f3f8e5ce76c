/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the vmm-*.c bridge programs share: the iommufd and selftest uAPI they
 * use, written out here (the same layouts as Linux 6.12's and 7.2's
 * include/uapi/linux/iommufd.h and iommufd_test.h, so that the programs build
 * without a kernel tree), and the steps a VMM takes through it. Each program
 * prints a line per call (its result and errno) for the oracle suite to
 * compare with the kernels' output.
 */
#ifndef BRIDGE_VMM_H
#define BRIDGE_VMM_H
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

/* ---- linux/iommufd.h ---- */
#define IOMMUFD_TYPE ';'
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, 0x82)
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, 0x83)
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, 0x84)
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, 0x87)
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, 0x89)
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, 0x8a)
#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, 0x8b)
#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, 0x8c)
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)
#define IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, 0x92)
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, 0x80 + 32)

enum { IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0, IOMMU_IOAS_MAP_WRITEABLE = 1 << 1, IOMMU_IOAS_MAP_READABLE = 1 << 2 };
enum { IOMMU_OPTION_RLIMIT_MODE = 0, IOMMU_OPTION_HUGE_PAGES = 1 };
enum { IOMMU_OPTION_OP_SET = 0, IOMMU_OPTION_OP_GET = 1 };
enum { IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0, IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1 };
enum { IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1 };
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HWPT_DATA_SELFTEST 0xdead

struct iommu_destroy { uint32_t size, id; };
struct iommu_ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct iommu_iova_range { uint64_t start, last; };
struct iommu_ioas_iova_ranges { uint32_t size, ioas_id, num_iovas, __reserved; uint64_t allowed_iovas, out_iova_alignment; };
struct iommu_ioas_allow_iovas { uint32_t size, ioas_id, num_iovas, __reserved; uint64_t allowed_iovas; };
struct iommu_ioas_map { uint32_t size, flags, ioas_id, __reserved; uint64_t user_va, length, iova; };
struct iommu_ioas_map_file { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; };
struct iommu_ioas_copy { uint32_t size, flags, dst_ioas_id, src_ioas_id; uint64_t length, dst_iova, src_iova; };
struct iommu_ioas_unmap { uint32_t size, ioas_id; uint64_t iova, length; };
struct iommu_option { uint32_t size, option_id; uint16_t op, __reserved; uint32_t object_id; uint64_t val64; };
struct iommu_hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, __reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, __reserved2;
};
struct iommu_hwpt_set_dirty_tracking { uint32_t size, flags, hwpt_id, __reserved; };
struct iommu_hwpt_get_dirty_bitmap { uint32_t size, hwpt_id, flags, __reserved; uint64_t iova, length, page_size, data; };
struct iommu_ioas_change_process { uint32_t size, __reserved; };

/* ---- drivers/iommu/iommufd/iommufd_test.h ---- */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
};
enum { MOCK_IOMMUPT_DEFAULT = 0, MOCK_IOMMUPT_HUGE }; /* 7.2's mock page tables (6.12 has no pagetable_type) */
enum { MOCK_ACCESS_RW_WRITE = 1 << 0, MOCK_ACCESS_RW_SLOW_PATH = 1 << 2 };
enum { MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0 };
enum { MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0 };
struct iommu_hwpt_selftest { uint32_t iotlb, pagetable_type; };
/* 72 bytes on both kernels: the union is as large as its largest member there */
struct iommu_test_cmd {
	uint32_t size, op, id, __reserved;
	union {
		struct { uint64_t start, length; } add_reserved;
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id; } mock_domain;
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id, dev_flags; } mock_domain_flags;
		struct { uint32_t pt_id; } mock_domain_replace;
		struct { uint64_t iova, length, uptr; } check_map;
		struct { uint64_t length, uptr; uint32_t refs; } check_refs;
		struct { uint32_t out_access_fd, flags; } create_access;
		struct { uint32_t access_pages_id; } destroy_access_pages;
		struct { uint32_t flags, out_access_pages_id; uint64_t iova, length, uptr; } access_pages;
		struct { uint64_t iova, length, uptr; uint32_t flags; } access_rw;
		struct { uint32_t limit; } memory_limit;
		struct { uint32_t flags; uint64_t iova, length, page_size, uptr, out_nr_dirty; } dirty;
		uint64_t __pad[7];
	};
};
_Static_assert(sizeof(struct iommu_test_cmd) == 72, "iommu_test_cmd is 72 bytes");

/* ---- what the programs share ---- */
static int lastrc, lasterr;
#define R(what, call) do { errno = 0; lastrc = (int)(call); lasterr = lastrc < 0 ? errno : 0; \
	printf("%s -> %d %d\n", what, lastrc, lasterr); fflush(stdout); } while (0)
#define P(...) do { printf(__VA_ARGS__); fflush(stdout); } while (0)

static __attribute__((unused)) int mock_dev(int fd, uint32_t pt, uint32_t flags, uint32_t *stdev, uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt };
	c.mock_domain_flags.dev_flags = flags;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	if (stdev) *stdev = c.mock_domain.out_stdev_id;
	if (hwpt) *hwpt = c.mock_domain.out_hwpt_id;
	if (idev) *idev = c.mock_domain.out_idev_id;
	return r;
}
static __attribute__((unused)) int md_replace(int fd, uint32_t stdev, uint32_t pt, uint32_t *out)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	c.mock_domain_replace.pt_id = pt;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	if (out) *out = c.mock_domain_replace.pt_id;
	return r;
}
static __attribute__((unused)) uint32_t ioas_new(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	return ioctl(fd, IOMMU_IOAS_ALLOC, &a) ? 0 : a.out_ioas_id;
}
static __attribute__((unused)) int map(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map m = { .size = sizeof(m), .flags = flags, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = *iova };
	int r = ioctl(fd, IOMMU_IOAS_MAP, &m);
	*iova = m.iova;
	return r;
}
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FX (RW | IOMMU_IOAS_MAP_FIXED_IOVA)
static __attribute__((unused)) int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len };
	int r = ioctl(fd, IOMMU_IOAS_UNMAP, &u);
	*out = u.length;
	return r;
}
static __attribute__((unused)) int destroy(int fd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };
	return ioctl(fd, IOMMU_DESTROY, &d);
}
static __attribute__((unused)) void ranges(int fd, uint32_t ioas, const char *tag)
{
	struct iommu_iova_range r[16];
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas, .num_iovas = 16, .allowed_iovas = (uintptr_t)r };
	errno = 0;
	int rc = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q);
	P("%s ranges -> %d %d num=%u align=0x%llx", tag, rc, rc ? errno : 0, q.num_iovas, (unsigned long long)q.out_iova_alignment);
	for (unsigned i = 0; !rc && i < q.num_iovas && i < 16; i++)
		P(" [%llx-%llx]", (unsigned long long)r[i].start, (unsigned long long)r[i].last);
	P("\n");
}
static __attribute__((unused)) int check_map(int fd, uint32_t hwpt, uint64_t iova, void *va, uint64_t len)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt };
	c.check_map.iova = iova; c.check_map.length = len; c.check_map.uptr = (uintptr_t)va;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
static __attribute__((unused)) int check_refs(int fd, void *va, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MD_CHECK_REFS };
	c.check_refs.length = len; c.check_refs.uptr = (uintptr_t)va; c.check_refs.refs = refs;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
static __attribute__((unused)) long status_kb(const char *key)
{
	char line[256]; long v = -1; size_t k = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) return -2;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') v = strtol(line + k + 1, NULL, 10);
	fclose(f);
	return v;
}
static __attribute__((unused)) void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}
static __attribute__((unused)) void *huge(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) { P("hugetlb mmap failed\n"); return NULL; }
	return p;
}
/* CAP_IPC_LOCK out of the effective set (capset(2)), as a VMM running without it; prints the capset line */
static __attribute__((unused)) void drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	syscall(SYS_capget, &h, d);
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	R("capset", syscall(SYS_capset, &h, d));
}
/* IOMMU_TEST_OP_ACCESS_RW of `len` bytes at `iova` through access `acc` of context `fd` */
static __attribute__((unused)) int access_rw_at(int fd, uint32_t acc, uint64_t iova, void *p, uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_ACCESS_RW, .id = acc };
	c.access_rw.iova = iova; c.access_rw.length = len; c.access_rw.uptr = (uintptr_t)p; c.access_rw.flags = flags;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
/* IOMMU_TEST_OP_ACCESS_PAGES (flags 0) of [iova, iova + len) through access `acc`, `p` the pages' user address; the item id in *id */
static __attribute__((unused)) int access_pages_at(int fd, uint32_t acc, uint64_t iova, uint64_t len, void *p, uint32_t *id)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = acc };
	c.access_pages.iova = iova; c.access_pages.length = len; c.access_pages.uptr = (uintptr_t)p;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	*id = c.access_pages.out_access_pages_id;
	return r;
}
/* HWPT_ALLOC of a dirty-tracking paging HWPT for device `idev` on `pt`, its line printed as `what`; its id */
static __attribute__((unused)) uint32_t dirty_hwpt(int fd, const char *what, uint32_t idev, uint32_t pt)
{
	struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = idev, .pt_id = pt };
	R(what, ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	return a.out_hwpt_id;
}
/* IOMMU_HWPT_SET_DIRTY_TRACKING of `hwpt` with `flags` (1: on) */
static __attribute__((unused)) int set_tracking(int fd, uint32_t hwpt, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking s = { .size = sizeof(s), .flags = flags, .hwpt_id = hwpt };
	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s);
}
/* IOMMU_TEST_OP_DIRTY: mark dirty in `hwpt` the pages of [iova, iova + len) of size `psz` whose bit is set in `bits`; the count marked in *nr */
static __attribute__((unused)) int test_dirty(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t psz, uint64_t *bits, uint64_t *nr)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt };
	c.dirty.iova = iova; c.dirty.length = len; c.dirty.page_size = psz; c.dirty.uptr = (uintptr_t)bits;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	*nr = c.dirty.out_nr_dirty;
	return r;
}
#endif
