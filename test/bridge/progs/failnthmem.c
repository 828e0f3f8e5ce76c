// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail-nth (ignore-gfp-wait N) over ACCESS_PAGES and ACCESS_RW of memory of
 * each kind, made fresh for every try (between PROT_NONE neighbours, so no
 * VMA shares another's anon_vma), where a failed allocation is tolerated or
 * taken again:
 * - a kernel copy to user memory of 8 bytes or more takes a fault that ran
 *   out of memory again (the oracle's QEMU CPU has no ERMS/FSRM: x86's
 *   rep_movs_alternative() falls back to its byte loop), fewer do not;
 * - a shmem page added to the page cache makes the nodes of its i_pages
 *   store (a lone index 0 sits in the head; index 1 needs a node);
 * - pinning a memfd's pages through an access still allocates the ufolios
 *   array (temp_kmalloc(): fail_iommufd, then a kmalloc that falls back);
 * - a THP fault enters the mm in khugepaged's list (a slab allocation the
 *   fault ignores), and the order-9 folio itself is __GFP_HIGHMEM, which
 *   fail_page_alloc leaves alone (ignore-gfp-highmem Y by default);
 * - a write fault of private hugetlb memory asks the VMA's reserve map for
 *   a file_region entry once more after mapping the folio, and the cache is
 *   empty then (ENOMEM when that kmalloc fails); a read fault does not; a
 *   copy on write of a page-cache folio asks once, before the copy.
 * Each step prints its result, so that the oracle suite compares the output
 * on Linux 6.12 and 7.2 with the output under exec (6.12 has no
 * IOAS_MAP_FILE: ENOTTY on both sides). Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

#define AP (1ULL << 24)
struct tcmd { uint32_t size, op, id, reserved; uint64_t u[30]; };
static int fd, nth, acc;
static uint32_t ioas;
static void setup(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = open("/dev/iommu", O_RDWR);
	nth = nth_open();
	ioas = ioas_alloc(fd);
	struct tcmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	ca.u[0] = 1ULL << 32; /* MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
	ioctl(fd, IOMMU_TEST_CMD, &ca);
	acc = (int)ca.u[0];
}
/* len bytes at alignment al between PROT_NONE pages, mapped with flags over file mfd */
static char *lone(size_t len, size_t al, int flags, int mfd)
{
	char *g = mmap(0, len + 2 * al + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p = (char *)(((uintptr_t)g + 4096 + al - 1) & ~(uintptr_t)(al - 1));
	return mmap(p, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, mfd, 0);
}
static int map_at(char *p, size_t len)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = len, .iova = AP };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}
static void unmap_all(void)
{
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = ~0ULL };
	ioctl(fd, IOMMU_IOAS_UNMAP, &u);
}
static uint64_t plen;
static uint32_t pflags = 1; /* MOCK_FLAGS_ACCESS_WRITE */
static int (*mapper)(char *, size_t) = map_at;
/* ACCESS_PAGES (pflags: write unless a read-only area) of plen bytes at AP, undone at once when it succeeds (no allocation in the destroy) */
static int pin(void)
{
	struct tcmd c = { .size = sizeof(c), .op = TEST_OP_ACCESS_PAGES, .id = acc };
	c.u[0] = pflags; c.u[1] = AP; c.u[2] = plen;
	int r = ioctl(fd, IOMMU_TEST_CMD, &c);
	if (!r) {
		struct tcmd d = { .size = sizeof(d), .op = 6, .id = acc };
		d.u[0] = c.u[0] >> 32;
		ioctl(fd, IOMMU_TEST_CMD, &d);
	}
	return r;
}
/* fail the n-th point of call() for n = 1.. over fresh memory (mk() then map), a line per n, two agreeing tries */
static void fresh_sweep(const char *what, char *(*mk)(void), size_t maplen, int (*call)(void), void (*rm)(char *))
{
	for (int n = 1; n < 40; n++) {
		int r[3], e[3], f[3], k;
		for (k = 0; k < 3; k++) {
			char *p = mk();
			if (mapper(p, maplen)) printf("map failed %d\n", errno);
			r[k] = nth_call(nth, n, call, &e[k], &f[k]);
			unmap_all();
			rm(p);
			if (k == 1 && r[0] == r[1] && e[0] == e[1] && f[0] == f[1])
				break;
		}
		k = k == 3 ? 2 : 1;
		printf("%s n=%d -> %d %d, fired %d\n", what, n, r[k], e[k], f[k]);
		if (!f[k])
			return;
	}
}

static char out[3 << 12];
static uint64_t rwlen;
static char *mk_anon(void) { return lone(3 << 12, 4096, MAP_PRIVATE | MAP_ANONYMOUS, -1); }
static void rm_anon(char *p) { munmap(p, 3 << 12); }
static int rw(void) { return access_rw(fd, acc, AP, out, rwlen, RW_WRITE); }

static size_t slen;
static char *mk_shmem(void) { return lone(slen, 4096, MAP_SHARED | MAP_ANONYMOUS, -1); }
static void rm_shmem(char *p) { munmap(p, slen); }

static int mfd;
static char *mk_memfd(void)
{
	mfd = memfd_create("m", 0);
	if (ftruncate(mfd, 3 << 12))
		printf("ftruncate %d\n", errno);
	return 0;
}
static void rm_memfd(char *p) { (void)p; close(mfd); }
static int map_file(char *p, size_t len)
{
	(void)p;
	struct ioas_map_file m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .fd = mfd, .start = 0, .length = len, .iova = AP };
	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}

static char *mk_thp(void)
{
	char *p = lone(2 << 20, 2 << 20, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(p, 2 << 20, MADV_HUGEPAGE);
	return p;
}
static void rm_thp(char *p) { munmap(p, 2 << 20); }

static char *mk_hpriv(void) { return lone(2 << 20, 2 << 20, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1); }
/* a private mapping of a 4 MiB hugetlb memfd whose two pages are in its page cache */
static char *mk_hcow(void)
{
	mfd = memfd_create("h", MFD_HUGETLB);
	if (mfd < 0 || ftruncate(mfd, 4 << 20))
		printf("no hugetlb memfd\n");
	char *s = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (s != MAP_FAILED) {
		s[0] = 1;
		s[2 << 20] = 2;
		munmap(s, 4 << 20);
	}
	return lone(4 << 20, 2 << 20, MAP_PRIVATE, mfd);
}
static void rm_hcow(char *p) { munmap(p, 4 << 20); close(mfd); }
/* its first page copied by a pin (a store under exec would not reach the model's fault path), then its second mapped */
static int map_hcow_second(char *p, size_t len)
{
	if (map_at(p, len) || pin())
		printf("first page pin failed %d\n", errno);
	unmap_all();
	return map_at(p + (2 << 20), len);
}
static int map_ro(char *p, size_t len)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 5, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = len, .iova = AP };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

int main(void)
{
	setup();
	uint64_t lens[] = { 7, 8, 64 };
	char w[64];
	for (int i = 0; i < 3; i++) {
		rwlen = lens[i];
		snprintf(w, sizeof(w), "ACCESS_RW writing %llu bytes", (unsigned long long)rwlen);
		fresh_sweep(w, mk_anon, 3 << 12, rw, rm_anon);
	}
	for (slen = 4096; slen <= 3 << 12; slen += 2 << 12) {
		plen = slen;
		snprintf(w, sizeof(w), "ACCESS_PAGES of %zu shmem pages", slen >> 12);
		fresh_sweep(w, mk_shmem, slen, pin, rm_shmem);
	}
	mapper = map_file;
	plen = 4096;
	fresh_sweep("ACCESS_PAGES of a memfd page through IOAS_MAP_FILE", mk_memfd, 4096, pin, rm_memfd);
	mapper = map_at;
	plen = 4 << 12;
	fresh_sweep("ACCESS_PAGES over THP-eligible memory", mk_thp, 4 << 12, pin, rm_thp);
	plen = 2 << 12;
	fresh_sweep("ACCESS_PAGES of private hugetlb never touched", mk_hpriv, 2 << 12, pin, rm_thp);
	mapper = map_ro;
	pflags = 0;
	fresh_sweep("ACCESS_PAGES of private hugetlb never touched, mapped read-only", mk_hpriv, 2 << 12, pin, rm_thp);
	mapper = map_hcow_second;
	pflags = 1;
	fresh_sweep("ACCESS_PAGES copying a private hugetlb memfd's second page", mk_hcow, 2 << 12, pin, rm_hcow);
	nth_done();
	printf("done\n");
	return 0;
}
