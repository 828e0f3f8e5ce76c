// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a write to the hugetlb pool's size takes: the sysfs file's store
 * parses kernfs's NUL-ended copy with kstrtoul(buf, 10) (a '+', no blanks,
 * one newline; ERANGE past 64 bits), the whole write taken; the sysctl
 * /proc/sys/vm/nr_hugepages goes through proc_doulongvec_minmax() (blanks
 * around, the base from the prefix, then a blank, tab or newline; what
 * follows the blanks after the value is not taken); an empty write is 0
 * for both. Each write prints its result and the size after it, so that the
 * oracle suite compares the output on Linux 6.12 and 7.2 with the output
 * under exec (which answers these files from the model's pool). Not a
 * check program.
 */
#define _GNU_SOURCE
#include "progs.h"

static const char *SYSFS = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
static const char *SYSCTL = "/proc/sys/vm/nr_hugepages";

static void w(const char *path, const char *what, const char *buf, size_t n)
{
	int fd = open(path, O_WRONLY);
	errno = 0;
	long r = write(fd, buf, n);
	int e = r < 0 ? errno : 0;
	close(fd);
	char v[32] = "";
	fd = open(path, O_RDONLY);
	long k = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (k > 0)
		v[k] = 0;
	v[strcspn(v, "\n")] = 0;
	printf("%s %s -> %ld %d, now %s\n", path == SYSFS ? "sysfs" : "sysctl", what, r, e, v);
}
#define W(p, s) w(p, #s, s, sizeof(s) - 1)

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	W(SYSFS, "2\n");
	W(SYSFS, " 5");
	W(SYSFS, "5 ");
	W(SYSFS, "0x5");
	W(SYSFS, "5\n\n");
	W(SYSFS, "99999999999999999999");
	W(SYSFS, "+6");
	W(SYSFS, "7\0x");
	W(SYSFS, "010");
	W(SYSFS, "");
	W(SYSCTL, " 7\n");
	W(SYSCTL, "0x8 ");
	W(SYSCTL, "011");
	W(SYSCTL, "5 x");
	W(SYSCTL, "5\tzz");
	W(SYSCTL, "-1");
	W(SYSCTL, "5x");
	W(SYSCTL, "0x");
	W(SYSCTL, "");
	W(SYSCTL, "   ");
	W(SYSCTL, "5\0");
	W(SYSCTL, "123456789012345678901");
	W(SYSCTL, "+3");
	W(SYSCTL, "3\v");
	W(SYSFS, "128\n");
	printf("done\n");
	return 0;
}
