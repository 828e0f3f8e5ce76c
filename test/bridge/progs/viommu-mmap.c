// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mock vIOMMU's two pages, mapped from /dev/iommu at the offset
 * VIOMMU_ALLOC handed out (iommufd_fops_mmap(): 7.x only, shared, exactly
 * the region's offset and length), and what the memory calls do to such a
 * VM_IO | VM_PFNMAP | VM_DONTEXPAND mapping (io_remap_pfn_range()): a grow
 * is EFAULT and MREMAP_DONTUNMAP EINVAL (check_prep_vma() in 7.x,
 * vma_to_resize() in 6.12), a move and a shrink are allowed;
 * MADV_DONTNEED is EINVAL (madvise_dontneed_free_valid_vma()) and mlock
 * answers 0 but locks nothing (mlock_fixup(): vma_supports_mlock() is false
 * for VM_SPECIAL). Every VMA of the region holds the vIOMMU
 * (iommufd_vma_open() / iommufd_vma_close() count its users: a split, a
 * fork and a move open the new VMA before closing the old), so DESTROY is
 * EBUSY until the last one goes. Every mapping of the region is the same
 * memory: what one (or a forked child) writes, another reads. One line per
 * check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "progs.h"

#define PG 4096UL
#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_VIOMMU_ALLOC _IO(T, 0x90)
#define HWPT_ALLOC_NEST_PARENT (1u << 0)
#define VIOMMU_TYPE_SELFTEST 0xdeadbeef
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};
struct viommu_alloc {
	uint32_t size, flags, type, dev_id, hwpt_id, out_viommu_id, data_len, reserved;
	uint64_t data_uptr;
};
struct viommu_selftest { uint32_t in_data, out_data; uint64_t out_mmap_offset, out_mmap_length; };
struct destroy { uint32_t size, id; };

static int fd;
static uint32_t viommu;

static int destroy(uint32_t id)
{
	struct destroy d = { .size = sizeof(d), .id = id };
	return ioctl(fd, IOMMU_DESTROY, &d);
}

static long sys_mremap(void *a, unsigned long ol, unsigned long nl, int flags, void *na)
{
	return (long)mremap(a, ol, nl, flags, na);
}

/* a free range of n pages (mapped and unmapped again) */
static char *hole(unsigned long n)
{
	char *p = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, n * PG);
	return p;
}

/* mincore of one page: 0 when mapped, -1 with ENOMEM when not */
static int mapped(void *p)
{
	unsigned char v;
	return mincore(p, PG, &v);
}

int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu", fd);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	struct hwpt_alloc parent = { .size = sizeof(parent), .flags = HWPT_ALLOC_NEST_PARENT, .dev_id = md.out_idev_id, .pt_id = ioas };
	V(0, 0, "HWPT_ALLOC of a nesting parent", ioctl(fd, IOMMU_HWPT_ALLOC, &parent));
	struct viommu_selftest data = { .in_data = 0xbeef };
	struct viommu_alloc va = { .size = sizeof(va), .type = VIOMMU_TYPE_SELFTEST, .dev_id = md.out_idev_id, .hwpt_id = parent.out_hwpt_id,
				   .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };
	V(0, 0, "VIOMMU_ALLOC with data", ioctl(fd, IOMMU_VIOMMU_ALLOC, &va));
	viommu = va.out_viommu_id;
	unsigned long len = data.out_mmap_length;
	off_t off = (off_t)data.out_mmap_offset;
	check(len == 2 * PG, "the region is two pages", (long)len);

	V(-1, EINVAL, "a private mapping: EINVAL", mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, off));
	V(-1, ENXIO, "one page of the two: ENXIO", mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, off));
	uint32_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	check(p != MAP_FAILED && p[0] == 0xbeef && p[1024] == 0, "mapped: the first word is in_data, the second page is zeroed", p == MAP_FAILED ? -1 : (long)p[0]);
	V(-1, EBUSY, "DESTROY of the mapped vIOMMU: EBUSY", destroy(viommu));
	p[1] = 0x55;

	/* mremap: vma_to_resize() / resize_is_valid() and the DONTUNMAP check */
	V(-1, EFAULT, "mremap growing it: EFAULT (VM_DONTEXPAND)", sys_mremap(p, len, 3 * PG, MREMAP_MAYMOVE, NULL));
	char *to = hole(2);
	V(-1, EINVAL, "mremap with MREMAP_DONTUNMAP: EINVAL (VM_PFNMAP)", sys_mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
	V((long)p, 0, "mremap to the same length: in place", sys_mremap(p, len, len, MREMAP_MAYMOVE, NULL));
	uint32_t *q = (uint32_t *)sys_mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	check(q == (uint32_t *)to && q[0] == 0xbeef, "mremap MREMAP_FIXED moves it: in_data at the new place", (long)q);
	V(-1, ENOMEM, "nothing left at the old place", mapped(p));
	V(-1, EBUSY, "DESTROY after the move: still EBUSY", destroy(viommu));

	/* madvise and mlock of a VM_PFNMAP mapping */
	V(-1, EINVAL, "MADV_DONTNEED: EINVAL", madvise(q, len, MADV_DONTNEED));
	long lck = file_field("/proc/self/status", "VmLck");
	V(0, 0, "mlock: ok", mlock(q, len));
	check(file_field("/proc/self/status", "VmLck") == lck, "mlock locks none of it (VmLck unchanged)", file_field("/proc/self/status", "VmLck"));
	check(q[0] == 0xbeef, "still in_data after mlock", (long)q[0]);
	V(0, 0, "munlock: ok", munlock(q, len));

	/* a fork's copy holds the region too */
	pid_t child = fork();
	if (child == 0) {
		q[2] = 0x77;
		_exit(q[0] == 0xbeef ? 0 : 1);
	}
	int st = -1;
	waitpid(child, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the forked child reads in_data", st);
	check(q[2] == 0x77, "what the child wrote is in the parent's mapping (the same page)", (long)q[2]);
	V(-1, EBUSY, "DESTROY after the child exited: still EBUSY", destroy(viommu));

	/* shrink: the second page is unmapped, the first VMA still holds the vIOMMU */
	V((long)q, 0, "mremap shrinking it to one page: in place", sys_mremap(q, len, PG, 0, NULL));
	V(-1, ENOMEM, "the second page is gone", mapped((char *)q + PG));
	check(q[0] == 0xbeef, "the first page kept", (long)q[0]);
	V(-1, EBUSY, "DESTROY after the shrink: still EBUSY", destroy(viommu));

	/* two mappings at once, one replaced by MAP_FIXED */
	uint32_t *r = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
	check(r != MAP_FAILED && r[0] == 0xbeef, "a second mapping of the region", r == MAP_FAILED ? -1 : (long)r[0]);
	check(r[1] == 0x55 && r[2] == 0x77, "it reads what the first mapping and the child wrote", (long)r[1]);
	q[3] = 0x99;
	check(r[3] == 0x99, "a write through the first one is read through the second", (long)r[3]);
	V(0, 0, "munmap of the first one's page", munmap(q, PG));
	V(-1, EBUSY, "DESTROY with the second one mapped: EBUSY", destroy(viommu));
	void *anon = mmap(r, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check(anon == r && r[0] == 0, "MAP_FIXED anonymous memory over the second one", anon == MAP_FAILED ? -1 : (long)r[0]);
	V(0, 0, "DESTROY once no VMA holds the region", destroy(viommu));
	V(-1, ENXIO, "mmap at the destroyed vIOMMU's offset: ENXIO", mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off));
	munmap(anon, len);
	return failed;
}
