// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hugetlb pool as a program sees it under exec: /proc/meminfo's
 * HugePages_* lines, /sys/kernel/mm/hugepages/hugepages-2048kB/ and
 * /proc/sys/vm/nr_hugepages answer for the model's pool (exec emulates
 * hugetlb, so the host's pool is not the program's, and a write must not
 * size the host's). Reservations at mmap, a page at first touch, a pool too
 * small for a mapping, a shrink below the reserved pages (surplus); what
 * the open refuses (EACCES, ENOENT) and a root descriptor kept across a
 * drop to uid 1000. Start
 * it as root with the oracle VMs' 128 huge pages; the values are what Linux
 * 6.12.95 and 7.2.13 answer; one line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define SYS "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long meminfo(const char *key)
{
	return file_field("/proc/meminfo", key);
}

static long readv_(const char *path)
{
	char b[64] = "";
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	int n = read(fd, b, sizeof(b) - 1);
	close(fd);
	return n > 0 ? strtol(b, NULL, 10) : -1;
}

/* Total, free, reserved, surplus in meminfo and sysfs alike, and the sysctl's size */
static void pool(long total, long free_, long resv, long surp, long sysctl, const char *what)
{
	long got[9] = { meminfo("HugePages_Total"), meminfo("HugePages_Free"), meminfo("HugePages_Rsvd"), meminfo("HugePages_Surp"),
			readv_(SYS "nr_hugepages"), readv_(SYS "free_hugepages"), readv_(SYS "resv_hugepages"), readv_(SYS "surplus_hugepages"),
			readv_("/proc/sys/vm/nr_hugepages") };
	long want[9] = { total, free_, resv, surp, total, free_, resv, surp, sysctl };
	int ok = !memcmp(got, want, sizeof(got)) && meminfo("Hugetlb") == total * 2048;
	check(ok, what, got[0] * 1000000 + got[1] * 10000 + got[2] * 100 + got[3]);
}

int main(void)
{
	pool(128, 128, 0, 0, 128, "start: 128 huge pages, all free");
	char *h = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "MAP_HUGETLB of 2 huge pages", 0);
	pool(128, 128, 2, 0, 128, "mmap reserves 2, takes none");
	h[0] = 1;
	pool(128, 127, 1, 0, 128, "the first touch takes one (its reservation with it)");
	munmap(h, 4 << 20);
	pool(128, 128, 0, 0, 128, "munmap gives both back");
	check(write_file("/proc/sys/vm/nr_hugepages", "4") == 1, "nr_hugepages = 4", 0);
	pool(4, 4, 0, 0, 4, "a pool of 4");
	h = mmap(NULL, 10 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h == MAP_FAILED && errno == ENOMEM, "5 huge pages do not fit: ENOMEM at mmap", 0);
	h = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	check(h != MAP_FAILED, "4 do", 0);
	pool(4, 4, 4, 0, 4, "all 4 reserved");
	check(write_file("/proc/sys/vm/nr_hugepages", "2") == 1, "nr_hugepages = 2 while 4 are reserved", 0);
	pool(4, 4, 4, 2, 2, "the reserved ones stay, 2 of them surplus");
	check(write_file(SYS "nr_hugepages", "x") == -EINVAL, "nr_hugepages = x: EINVAL", 0);
	check(write_file(SYS "free_hugepages", "3") == -EACCES, "free_hugepages is read-only: EACCES", 0);
	munmap(h, 8 << 20);
	pool(2, 2, 0, 0, 2, "munmap: the surplus pages go");
	check(write_file("/proc/sys/vm/nr_hugepages", "128") == 3, "nr_hugepages = 128 again", 0);
	pool(128, 128, 0, 0, 128, "back to 128");

	/* the open decides: read-only and missing files fail there, and a descriptor opened as root stays writable */
	int fd = open(SYS "free_hugepages", O_RDWR);
	check(fd == -1 && errno == EACCES, "open of free_hugepages for writing: EACCES, even for root", fd);
	fd = open(SYS "bogus", O_RDONLY);
	check(fd == -1 && errno == ENOENT, "open of a file the pool does not have: ENOENT", fd);
	fd = open("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", O_RDONLY);
	check(fd == -1 && errno == ENOENT, "no 1 GiB pool without 1 GiB pages: ENOENT", fd);
	fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	int sfd = open(SYS "nr_hugepages", O_WRONLY);
	check(fd >= 0 && sfd >= 0, "root opens the sysctl and the sysfs nr_hugepages for writing", fd);
	pid_t c = fork();
	if (c == 0) {
		failed = 0;
		check(setresuid(1000, 1000, 1000) == 0, "child: setresuid(1000)", 0);
		int g = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
		check(g == -1 && errno == EACCES, "child: uid 1000 may not open it for writing: EACCES", g);
		check(write(fd, "32", 2) == -1 && errno == EPERM, "child: the sysctl asks again at each write: EPERM", 0);
		check(write(sfd, "64", 2) == 2, "child: the sysfs file asked at the open only: the write takes", 0);
		_exit(failed);
	}
	int st = 0;
	check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child passed", st);
	pool(64, 64, 0, 0, 64, "the child's write took");
	check(write_file("/proc/sys/vm/nr_hugepages", "128") == 3, "nr_hugepages = 128 again", 0);

	/* the other synthesized files: root opens a read-only /proc file for writing, a sysfs one not */
	check(write_file("/proc/meminfo", "1") == -EIO, "a write of /proc/meminfo: EIO (no write in its proc_ops)", 0);
	check(write_file("/proc/self/status", "1") == -EINVAL, "a write of /proc/self/status: EINVAL", 0);
	check(write_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "1") == -EACCES, "an open of hpage_pmd_size for writing: EACCES", 0);
	return failed;
}
