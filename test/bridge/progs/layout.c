// SPDX-License-Identifier: GPL-2.0-only
/*
 * The program's memory as the kernel lays it out and protects it, where exec
 * stands real memory in for the model's: a MAP_HUGETLB mapping lands on its
 * free, aligned hint (hugetlb_get_unmapped_area()); an mprotect() over a range
 * with a hole in it changes the mappings before the hole and answers ENOMEM
 * (do_mprotect_pkey()), as a MADV_DONTNEED over one drops the pages it passed
 * (madvise_walk_vmas()), so an ioctl struct in the page made read-only there
 * reads but cannot be written back (EFAULT), one in a PROT_NONE page cannot be
 * read. An unaligned MAP_HUGETLB hint is aligned up on 7.2.13 and down on
 * 6.12.95 (x86's own hugetlb_get_unmapped_area(), gone in 6.13). The values are what Linux 6.12.95 and 7.2.13 answer; one line per
 * check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096
#define HINT ((void *)0x600000000000ull)

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	char *h = mmap(HINT, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h == HINT, "MAP_HUGETLB on its free 2 MiB-aligned hint", (long)h);
	/* 6.12.95 has no IOAS_MAP_FILE (ENOTTY); 7.2.13 finds the size short (EINVAL) */
	uint32_t zero[8] = { 0 };
	int old = ioctl(fd, _IO(T, 0x8f), zero) == -1 && errno == ENOTTY;
	char *h2 = mmap((char *)HINT + (2 << 20) + PG, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (old)
		check(h2 == (char *)HINT + (2 << 20), "6.12: an unaligned hint is aligned down (x86's hugetlb_get_unmapped_area())", (long)h2);
	else
		check(h2 == (char *)HINT + (4 << 20), "7.2: an unaligned hint is aligned up (ALIGN())", (long)h2);
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	V(0, 0, "munmap of the third page: a hole", munmap(p + 2 * PG, PG));
	struct ioas_alloc *a = (void *)(p + PG);
	a->size = sizeof(*a);
	V(-1, ENOMEM, "mprotect(PROT_READ) over the two pages and the hole: ENOMEM", mprotect(p, 3 * PG, PROT_READ));
	V(-1, EFAULT, "IOAS_ALLOC from the page made read-only: EFAULT at the copy back", ioctl(fd, IOMMU_IOAS_ALLOC, a));
	check(a->size == sizeof(*a), "the page still reads", a->size);
	V(-1, ENOMEM, "mprotect(PROT_NONE) over the same range: ENOMEM", mprotect(p, 3 * PG, PROT_NONE));
	V(-1, EFAULT, "IOAS_ALLOC from the PROT_NONE page: EFAULT", ioctl(fd, IOMMU_IOAS_ALLOC, a));
	V(0, 0, "mprotect of the two pages back to read-write", mprotect(p, 2 * PG, PROT_READ | PROT_WRITE));
	V(0, 0, "IOAS_ALLOC from it", ioctl(fd, IOMMU_IOAS_ALLOC, a));
	check(a->out_ioas_id == 1, "the failed allocations left no object: id 1", a->out_ioas_id);
	V(-1, EINVAL, "mprotect with an unknown bit: EINVAL, nothing changed", mprotect(p, 3 * PG, PROT_READ | 0x100));
	V(0, 0, "IOAS_ALLOC from it again", ioctl(fd, IOMMU_IOAS_ALLOC, a));
	char *q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(q, 0xab, PG);
	V(0, 0, "munmap of the second page: a hole", munmap(q + PG, PG));
	V(-1, ENOMEM, "MADV_DONTNEED over the page and the hole: ENOMEM", madvise(q, 2 * PG, MADV_DONTNEED));
	check(q[0] == 0 && q[PG - 1] == 0, "the page before the hole was dropped all the same: zeros", q[0]);
	return failed;
}
