// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/self/smaps of hugetlb mappings: exec emulates MAP_HUGETLB and
 * MFD_HUGETLB with ordinary memory, so the real kernel would describe 4 KiB
 * pages; the blocks of the model's hugetlb VMAs come from the model. A
 * private huge page written once, a shared one mapped twice, one never
 * touched, mlock (which skips hugetlb VMAs); status's HugetlbPages. The
 * expected values are what Linux 6.12.95 and 7.2.13 answer (their oracle
 * VMs reserve 128 huge pages); one line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progs.h"

#define HP (2 << 20)

int main(void)
{
	char flags[256] = "";
	char *h = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "MAP_HUGETLB of 2 MiB", 0);
	if (h == MAP_FAILED)
		return 1;
	long v = smaps_field(h, "Private_Hugetlb", NULL);
	check(v == 0, "untouched: no huge page yet", v);
	h[4096] = 1;
	v = smaps_field(h, "Private_Hugetlb", flags);
	check(v == 2048, "written once: Private_Hugetlb 2048 kB", v);
	v = file_field("/proc/self/status", "HugetlbPages");
	check(v == 2048, "status: HugetlbPages 2048 kB", v);
	v = smaps_field(h, "KernelPageSize", NULL);
	check(v == 2048, "KernelPageSize 2048 kB", v);
	v = smaps_field(h, "MMUPageSize", NULL);
	check(v == 2048, "MMUPageSize 2048 kB", v);
	v = smaps_field(h, "Rss", NULL);
	check(v == 0, "hugetlb pages are not in Rss", v);
	v = smaps_field(h, "Anonymous", NULL);
	check(v == 0, "nor in Anonymous", v);
	v = smaps_field(h, "AnonHugePages", NULL);
	check(v == 0, "nor in AnonHugePages", v);
	check(strstr(flags, " de ht ") != NULL && strstr(flags, " ac ") == NULL, "VmFlags: de ht, no ac (hugetlb keeps its own reservation)", 0);
	V(0, 0, "mlock of the hugetlb mapping", mlock(h, HP));
	v = smaps_field(h, "Locked", flags);
	check(v == 0 && strstr(flags, " lo ") == NULL, "mlock skips a hugetlb VMA: Locked 0, no lo", v);

	int fd = memfd_create("huge", MFD_HUGETLB);
	check(fd >= 0 && ftruncate(fd, HP) == 0, "MFD_HUGETLB memfd of 2 MiB", fd);
	char *s1 = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *s2 = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(s1 != MAP_FAILED && s2 != MAP_FAILED, "mapped twice", 0);
	s1[0] = 1;
	v = smaps_field(s1, "Private_Hugetlb", flags);
	check(v == 2048, "shared, mapped by one VMA so far: counted private", v);
	check(strstr(flags, " sh ") != NULL && strstr(flags, " ms ") != NULL && strstr(flags, " ht ") != NULL, "VmFlags: sh ms ... ht", 0);
	volatile char x = s2[0];
	(void)x;
	v = smaps_field(s1, "Shared_Hugetlb", NULL);
	check(v == 2048, "mapped by both: Shared_Hugetlb 2048 kB", v);
	v = smaps_field(s2, "Private_Hugetlb", NULL);
	check(v == 0, "and not private in the other", v);
	v = file_field("/proc/self/status", "HugetlbPages");
	check(v == 3 * 2048, "status: HugetlbPages counts each mapping of a huge page", v);
	return failed;
}
