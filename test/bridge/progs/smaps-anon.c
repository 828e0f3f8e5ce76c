// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/self/smaps of private anonymous memory, as the program's kernel
 * counts it: THP `always` (the oracle VMs boot so; exec's default) makes a
 * written 2 MiB block one THP, a read maps the huge zero page (counted
 * nowhere), MADV_NOHUGEPAGE keeps 4 KiB pages, fork shares pages until one
 * side writes (Shared_Dirty, Pss halved), mlock counts Locked, MADV_DONTNEED
 * of one page splits a THP and partial munmap keeps the rest of it mapped;
 * /proc/meminfo's AnonHugePages counts each PMD-mapped THP once, and
 * /proc/self/status's VmRSS and RssAnon and smaps_rollup's sums count the THP.
 * Under exec the real kernel has its own THP mode and never sees the
 * model's faults; the model's page tables give the counts. Pinning a range
 * read before (the zero page) for writing copies page by page on 6.12 (the
 * huge zero PMD is split) and makes a THP on 7.2 (do_huge_zero_wp_pmd()).
 * The values are what Linux 6.12.95 and 7.2.13 answer; one line per check,
 * exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define HP (2 << 20)
#define PG 4096

/* The counts compared, in this order, of the smaps block of the VMA holding `va` (kB; -1 if absent). */
static const char *keys[] = { "Rss", "Pss", "Shared_Dirty", "Private_Dirty", "Anonymous", "AnonHugePages", "Locked", "THPeligible" };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
struct counts {
	long v[NKEYS];
};

static struct counts smaps(void *va)
{
	struct counts c;
	for (unsigned k = 0; k < NKEYS; k++)
		c.v[k] = smaps_field(va, keys[k], NULL);
	return c;
}

/* Every count as expected (one check line naming the case, the first count that differs as `got`). */
static void expect(void *va, const char *what, struct counts want)
{
	struct counts c = smaps(va);
	unsigned k = 0;
	while (k < NKEYS && c.v[k] == want.v[k])
		k++;
	check(k == NKEYS, what, k == NKEYS ? 0 : c.v[k]);
}

/*
 * A VMA of `blocks` 2 MiB-aligned blocks of its own: a larger mapping whose
 * unaligned ends are made PROT_NONE, so it merges with no neighbour.
 */
static char *blocks(int n)
{
	char *m = mmap(NULL, (n + 1) * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		exit(2);
	char *b = (char *)(((uintptr_t)m + HP - 1) & ~(uintptr_t)(HP - 1));
	if (b > m)
		mprotect(m, b - m, PROT_NONE);
	if (m + (n + 1) * HP > b + n * HP)
		mprotect(b + n * HP, m + (n + 1) * HP - (b + n * HP), PROT_NONE);
	return b;
}

/* The expected counts in the order of keys[] */
#define C(rss, pss, sd, pd, anon, ahp, locked, elig) ((struct counts){ { rss, pss, sd, pd, anon, ahp, locked, elig } })

/* status and smaps_rollup: a THP's 2048 kB in the resident sums (each read once before, for its buffers) */
static void rss_sums(void)
{
	static const char *st[] = { "VmRSS", "RssAnon" }, *ro[] = { "Rss", "Pss_Anon", "AnonHugePages" };
	long st0[2], ro0[3], d[5];
	char *t = blocks(1);
	for (int w = 0; w < 2; w++) {
		for (int k = 0; k < 2; k++)
			st0[k] = file_field("/proc/self/status", st[k]);
		for (int k = 0; k < 3; k++)
			ro0[k] = file_field("/proc/self/smaps_rollup", ro[k]);
	}
	t[0] = 1;
	for (int k = 0; k < 2; k++)
		d[k] = file_field("/proc/self/status", st[k]) - st0[k];
	for (int k = 0; k < 3; k++)
		d[2 + k] = file_field("/proc/self/smaps_rollup", ro[k]) - ro0[k];
	int k = 0;
	while (k < 5 && d[k] == 2048)
		k++;
	check(k == 5, "a THP written: status VmRSS and RssAnon, smaps_rollup Rss, Pss_Anon and AnonHugePages 2048 kB more", k < 5 ? d[k] : 0);
}

int main(void)
{
	volatile char x;

	rss_sums();

	long thps = file_field("/proc/meminfo", "AnonHugePages");
	char *a = blocks(2);
	a[0] = 1;
	expect(a, "one byte written: a THP", C(2048, 2048, 0, 2048, 2048, 2048, 0, 1));
	long v = file_field("/proc/meminfo", "AnonHugePages") - thps;
	check(v == 2048, "meminfo AnonHugePages: 2048 kB more", v);

	char *b = blocks(1);
	madvise(b, HP, MADV_NOHUGEPAGE);
	b[0] = 1;
	b[PG] = 1;
	expect(b, "MADV_NOHUGEPAGE, two pages written: 8 kB, not eligible", C(8, 8, 0, 8, 8, 0, 0, 0));

	char *c = blocks(1);
	x = c[0];
	expect(c, "a read: the huge zero page, counted nowhere", C(0, 0, 0, 0, 0, 0, 0, 1));

	char *d = blocks(1);
	madvise(d, HP, MADV_NOHUGEPAGE);
	x = d[0];
	x = d[PG];
	d[2 * PG] = 1;
	expect(d, "two pages read, one written (MADV_NOHUGEPAGE): 4 kB", C(4, 4, 0, 4, 4, 0, 0, 0));

	char *s = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s[0] = 1;
	expect(s, "a 20 kB VMA, one page written: no THP fits", C(4, 4, 0, 4, 4, 0, 0, 0));

	char *g = blocks(1);
	madvise(g, HP, MADV_NOHUGEPAGE);
	memset(g, 1, 3 * PG);
	mlock(g + HP - 4 * PG, 4 * PG);
	expect(g + HP - PG, "mlock of 16 kB: its own VMA, populated, Locked", C(16, 16, 0, 16, 16, 0, 16, 0));
	expect(g, "the rest keeps the three pages written", C(12, 12, 0, 12, 12, 0, 0, 0));

	/* fork: five 4 KiB pages and a THP shared, then each side writes one 4 KiB page */
	char *e = blocks(2);
	madvise(e, HP, MADV_NOHUGEPAGE);
	memset(e, 1, 5 * PG);
	e[HP] = 1;
	int go[2], done[2];
	if (pipe(go) || pipe(done))
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		char q;
		expect(e, "child: five pages shared", C(20, 10, 20, 0, 20, 0, 0, 0));
		expect(e + HP, "child: the THP shared", C(2048, 1024, 2048, 0, 2048, 2048, 0, 1));
		e[PG] = 3;
		expect(e, "child: after writing one, four shared", C(20, 12, 16, 4, 20, 0, 0, 0));
		if (write(done[1], "x", 1) != 1 || read(go[0], &q, 1) != 1)
			_exit(1);
		_exit(failed);
	}
	char q;
	if (read(done[0], &q, 1) != 1)
		return 2;
	expect(e, "parent: the child wrote one, four shared", C(20, 12, 16, 4, 20, 0, 0, 0));
	expect(e + HP, "parent: the THP shared", C(2048, 1024, 2048, 0, 2048, 2048, 0, 1));
	e[0] = 2;
	expect(e, "parent: after writing one too, three shared", C(20, 14, 12, 8, 20, 0, 0, 0));
	v = file_field("/proc/meminfo", "AnonHugePages") - thps;
	check(v == 4096, "meminfo AnonHugePages: the THP both sides of the fork map counted once (4096 kB with the first)", v);
	if (write(go[1], "x", 1) != 1)
		return 2;
	int st = 0;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's checks passed", st);
	expect(e, "the child gone: all private", C(20, 20, 0, 20, 20, 0, 0, 0));

	char *l = blocks(1);
	l[0] = 1;
	madvise(l + PG, PG, MADV_DONTNEED);
	expect(l, "MADV_DONTNEED of one page of a THP: split, 2044 kB left", C(2044, 2044, 0, 2044, 2044, 0, 0, 1));
	v = file_field("/proc/meminfo", "AnonHugePages") - thps;
	check(v == 4096, "meminfo AnonHugePages: a split THP no longer counts", v);

	char *n = blocks(1);
	n[0] = 1;
	munmap(n + HP / 2, HP / 2);
	expect(n, "munmap of half a THP: the other half stays mapped", C(1024, 1024, 0, 1024, 1024, 0, 0, 0));

	char *f = blocks(1);
	f[0] = 1;
	mmap(f + HP / 2, HP / 2, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	expect(f, "MAP_FIXED over half a THP: the other half stays mapped", C(1024, 1024, 0, 1024, 1024, 0, 0, 0));

	char *o = blocks(1);
	o[0] = 1;
	mprotect(o + HP / 2, HP / 2, PROT_READ);
	expect(o + HP / 2, "mprotect of half a THP: split, half in each VMA", C(1024, 1024, 0, 1024, 1024, 0, 0, 0));

	/* IOAS_MAP of a range read before (the zero page), pinned for writing by a mock domain */
	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu", fd);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	char *r = blocks(1);
	x = r[0];
	struct ioas_map map = { .size = sizeof(map), .flags = 1 | 2 | 4, .ioas_id = ioas, .user_va = (uintptr_t)r, .length = HP, .iova = 1 << 24 };
	V(0, 0, "IOAS_MAP of the block read before, writable", ioctl(fd, IOMMU_IOAS_MAP, &map));
	/* 6.12 has no IOMMU_IOAS_CHANGE_PROCESS (6.14): ENOTTY there */
	struct { uint32_t size, reserved; } cp = { sizeof(cp), 0 };
	errno = 0;
	int old = ioctl(fd, _IO(T, 0x92), &cp) < 0 && errno == ENOTTY;
	if (old)
		expect(r, "6.12: the huge zero PMD split, each page copied", C(2048, 2048, 0, 2048, 2048, 0, 0, 1));
	else
		expect(r, "7.x: a THP in the huge zero page's place", C(2048, 2048, 0, 2048, 2048, 2048, 0, 1));
	(void)x;
	return failed;
}
