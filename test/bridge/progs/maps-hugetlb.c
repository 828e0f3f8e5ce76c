// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/self/maps (and smaps's header lines) of hugetlb mappings: exec
 * emulates MAP_HUGETLB and MFD_HUGETLB with ordinary memory, so the real
 * kernel would show an anonymous or shmem mapping; the model's kernel shows
 * the hugetlbfs file (hugetlb_file_setup()'s unlinked "anon_hugepage", a
 * memfd's "memfd:NAME"), its device and inode, the file offset. What Linux
 * 6.12.95 and 7.2.13 answer (their oracle VMs reserve 128 huge pages); one
 * line per check, exit 0 when all passed.
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

/* The line of `file` (maps or smaps) that starts at `va` (without its newline), or "" */
static void line_at(const char *file, void *va, char *out, size_t cap)
{
	char l[512];
	out[0] = 0;
	FILE *f = fopen(file, "r");
	if (!f)
		return;
	while (fgets(l, sizeof(l), f)) {
		unsigned long s, e;
		if (sscanf(l, "%lx-%lx ", &s, &e) == 2 && s == (unsigned long)(uintptr_t)va && strchr(l, '-') < strchr(l, ' ')) {
			l[strcspn(l, "\n")] = 0;
			snprintf(out, cap, "%s", l);
			break;
		}
	}
	fclose(f);
}

struct fields {
	char perms[8];
	unsigned long off, ino;
	unsigned dmaj, dmin;
	int path_col;
	char path[256];
};

static int parse(const char *l, struct fields *f)
{
	int n = 0;
	memset(f, 0, sizeof(*f));
	if (sscanf(l, "%*x-%*x %7s %lx %x:%x %lu %n", f->perms, &f->off, &f->dmaj, &f->dmin, &f->ino, &n) < 5)
		return 0;
	f->path_col = n;
	snprintf(f->path, sizeof(f->path), "%s", l + n);
	return 1;
}

int main(void)
{
	char l[512], s[512];
	struct fields a, b, c, d;

	char *h = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "MAP_HUGETLB of 2 MiB", 0);
	if (h == MAP_FAILED)
		return 1;
	line_at("/proc/self/maps", h, l, sizeof(l));
	check(parse(l, &a), "maps has the mapping's line", 0);
	check(!strcmp(a.path, "/anon_hugepage (deleted)"), "MAP_HUGETLB: the path is /anon_hugepage (deleted)", 0);
	check(a.path_col == 73, "the path starts in column 73", a.path_col);
	check(!strcmp(a.perms, "rw-p") && a.off == 0, "rw-p at offset 0", (long)a.off);
	check(a.dmaj == 0 && a.dmin != 0 && a.ino != 0, "a device of the internal mount (major 0) and an inode", (long)a.ino);
	line_at("/proc/self/smaps", h, s, sizeof(s));
	check(!strcmp(l, s), "smaps's header line is the maps line", 0);

	/* a hugetlb memfd of 4 MiB, its second huge page mapped twice, shared */
	int fd = memfd_create("hmaps", MFD_HUGETLB);
	check(fd >= 0, "memfd_create(MFD_HUGETLB)", fd);
	check(ftruncate(fd, 2 * HP) == 0, "ftruncate to 4 MiB", 0);
	char *m1 = mmap(NULL, HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, HP);
	char *m2 = mmap(NULL, HP, PROT_READ, MAP_SHARED, fd, HP);
	check(m1 != MAP_FAILED && m2 != MAP_FAILED, "two shared mappings at offset 2 MiB", 0);
	line_at("/proc/self/maps", m1, l, sizeof(l));
	check(parse(l, &b), "maps has the first one's line", 0);
	check(!strcmp(b.path, "/memfd:hmaps (deleted)"), "a memfd: /memfd:NAME (deleted)", 0);
	check(!strcmp(b.perms, "rw-s") && b.off == HP, "rw-s at offset 0x200000", (long)b.off);
	line_at("/proc/self/maps", m2, l, sizeof(l));
	check(parse(l, &c) && !strcmp(c.perms, "r--s"), "the second one: r--s", 0);
	check(c.ino == b.ino && c.dmaj == b.dmaj && c.dmin == b.dmin, "both name the same inode of the same device", (long)c.ino);
	check(b.dmaj == a.dmaj && b.dmin == a.dmin && b.ino != a.ino, "the same hugetlbfs device as the anonymous one, another inode", (long)b.ino);

	/* an ordinary private anonymous mapping keeps its line: no path, no device */
	char *o = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	line_at("/proc/self/maps", o, l, sizeof(l));
	check(parse(l, &d) && d.path[0] == 0 && d.dmaj == 0 && d.dmin == 0 && d.ino == 0, "plain anonymous memory: 00:00 0, no path", 0);
	munmap(h, HP);
	line_at("/proc/self/maps", h, l, sizeof(l));
	check(l[0] == 0, "after munmap the line is gone", 0);
	return failed;
}
