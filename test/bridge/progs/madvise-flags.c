// SPDX-License-Identifier: GPL-2.0-only
/*
 * madvise()'s advices that only set VMA flags (madvise_vma_behavior(), then
 * madvise_update_vma()): MADV_RANDOM, SEQUENTIAL, NORMAL, DONTDUMP, DODUMP
 * split the part of a mapping they cover into a VMA of its own, seen in
 * /proc/self/maps and by a growing mremap(), which cannot span two VMAs
 * (EFAULT), and merge it back when the flags are equal again. MADV_DODUMP is
 * EINVAL on a special mapping unless it is hugetlb; 7.2.13's MADV_DOFORK is
 * EINVAL on every VM_SPECIAL mapping (hugetlb is VM_DONTEXPAND), 6.12.95's
 * only on VM_IO ones. ([vdso] and [vvar], which exec leaves out of the model:
 * test/mm/exec-layout.test.ts.) One line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t zero[8] = { 0 };
	/* 6.12.95 has no IOAS_MAP_FILE (ENOTTY) */
	int old = ioctl(fd, IOMMU_IOAS_MAP_FILE, zero) == -1 && errno == ENOTTY;
	char *a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long lo = (unsigned long)a, hi = lo + 16 * PG;
	check(vmas_in(lo, hi) == 1, "a fresh mapping: one VMA", vmas_in(lo, hi));
	V(0, 0, "MADV_RANDOM of page 4", madvise(a + 4 * PG, PG, MADV_RANDOM));
	check(vmas_in(lo, hi) == 3, "split in three", vmas_in(lo, hi));
	V(-1, EFAULT, "a growing mremap of the whole range: EFAULT", (long)mremap(a, 16 * PG, 32 * PG, MREMAP_MAYMOVE));
	V(0, 0, "MADV_SEQUENTIAL of pages 4-5", madvise(a + 4 * PG, 2 * PG, MADV_SEQUENTIAL));
	check(vmas_in(lo, hi) == 3, "still three (pages 4-5 apart)", vmas_in(lo, hi));
	V(0, 0, "MADV_NORMAL of the whole range", madvise(a, 16 * PG, MADV_NORMAL));
	check(vmas_in(lo, hi) == 1, "merged into one again", vmas_in(lo, hi));
	V(0, 0, "MADV_DONTDUMP of the last 8 pages", madvise(a + 8 * PG, 8 * PG, MADV_DONTDUMP));
	check(vmas_in(lo, hi) == 2, "two VMAs", vmas_in(lo, hi));
	V(0, 0, "MADV_DODUMP of the whole range", madvise(a, 16 * PG, MADV_DODUMP));
	check(vmas_in(lo, hi) == 1, "one again", vmas_in(lo, hi));
	char *h = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "a hugetlb mapping", (long)h);
	V(0, 0, "MADV_DONTDUMP of it", madvise(h, 2 << 20, MADV_DONTDUMP));
	V(0, 0, "MADV_DODUMP of it: hugetlb is exempt", madvise(h, 2 << 20, MADV_DODUMP));
	if (old)
		V(0, 0, "6.12: MADV_DOFORK of hugetlb", madvise(h, 2 << 20, MADV_DOFORK));
	else
		V(-1, EINVAL, "7.2: MADV_DOFORK of hugetlb: EINVAL (VM_DONTEXPAND)", madvise(h, 2 << 20, MADV_DOFORK));
	return failed;
}
