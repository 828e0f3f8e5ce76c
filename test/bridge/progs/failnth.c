// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fail-nth file as a program meets it, beside the iommufd calls it arms:
 * how a write is parsed (proc_fail_nth_write(): kstrtouint_from_user(),
 * base 0, at most 34 bytes up to a NUL, one '+', no blanks, one '\n', the
 * whole count returned), that it does not seek (ESPIPE), that a task
 * directory names the caller's own threads only (ENOENT), and that a walk
 * through /proc/self or /proc/thread-self takes one from the count (the
 * link's GFP_ATOMIC name, which failslab counts) while /proc/PID does not.
 * Each step prints its result, so that the oracle suite compares the output
 * on Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include "progs.h"

static const char *SELF = "/proc/thread-self/fail-nth";

/* write `n` bytes of `s`, then what reads back; the file disarmed again */
static void wr(const char *what, const char *s, size_t n)
{
	int f = open(SELF, O_RDWR);
	errno = 0;
	ssize_t r = write(f, s, n);
	int e = r < 0 ? errno : 0;
	char b[32] = { 0 };
	ssize_t k = pread(f, b, sizeof(b) - 1, 0);
	if (k > 0 && b[k - 1] == '\n')
		b[k - 1] = 0;
	pwrite(f, "0", 1, 0);
	close(f);
	printf("write %-18s -> %zd %d, reads %s\n", what, r, e, b);
}

static long armed(int f)
{
	char b[16] = { 0 };
	return pread(f, b, sizeof(b) - 1, 0) > 0 ? atol(b) : -1;
}

/*
 * Open `path` while armed and keep what fail-nth reads after it: nothing is printed until the count is
 * disarmed (a write to a file on tmpfs, where the oracle suite sends stdout, takes counts of its own).
 */
static struct {
	const char *what;
	int ok;
	long left;
} seen[8];
static int nseen;

static void opened(const char *what, const char *path, int f)
{
	int g = open(path, O_RDONLY);
	seen[nseen].what = what;
	seen[nseen].ok = g >= 0;
	seen[nseen++].left = armed(f);
	if (g >= 0)
		close(g);
}

static void show_seen(void)
{
	for (int i = 0; i < nseen; i++)
		printf("open %s -> %s, fail-nth %ld\n", seen[i].what, seen[i].ok ? "ok" : "error", seen[i].left);
	nseen = 0;
}

int main(void)
{
	/* the default knob (a program before this one in the VM may have left it N): GFP_KERNEL allocations are not counted */
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "Y");
	wr("\"5\"", "5", 1);
	wr("\"5\\n\"", "5\n", 2);
	wr("\" 5\"", " 5", 2);
	wr("\"\\t3\"", "\t3", 2);
	wr("\"+4\"", "+4", 2);
	wr("\"++4\"", "++4", 3);
	wr("\"+0x10\"", "+0x10", 5);
	wr("\"0X1f\"", "0X1f", 4);
	wr("\"0x\"", "0x", 2);
	wr("\"017\"", "017", 3);
	wr("\"019\"", "019", 3);
	wr("\"-1\"", "-1", 2);
	wr("\"\"", "", 0);
	wr("\"1\\0x\"", "1\0x", 3);
	wr("\"6\\n\\0\"", "6\n\0", 3);
	wr("\"6\\n\\n\"", "6\n\n", 3);
	wr("\"4294967295\"", "4294967295", 10);
	wr("\"4294967296\"", "4294967296", 10);
	wr("34 zeros + \"5\"", "00000000000000000000000000000000005", 35);
	wr("33 zeros + \"7\"", "0000000000000000000000000000000007", 34);

	int f = open(SELF, O_RDWR);
	SAID("lseek SEEK_SET", lseek(f, 0, SEEK_SET));
	SAID("lseek SEEK_CUR", lseek(f, 0, SEEK_CUR));
	SAID("lseek SEEK_END", lseek(f, 0, SEEK_END));

	char p[64];
	SAID("open task/1/fail-nth", open("/proc/self/task/1/fail-nth", O_RDWR));
	SAID("open task/99999/fail-nth", open("/proc/self/task/99999/fail-nth", O_RDWR));
	snprintf(p, sizeof(p), "/proc/self/task/%d/fail-nth", getpid());
	int own = open(p, O_RDWR);
	printf("open task/TID/fail-nth of its own -> %s\n", own < 0 ? "error" : "ok");
	if (own >= 0)
		close(own);

	pwrite(f, "9", 1, 0);
	long nine = armed(f);
	opened("/proc/thread-self/fail-nth", "/proc/thread-self/fail-nth", f);
	opened("/proc/self/status", "/proc/self/status", f);
	opened("/proc/self/cmdline", "/proc/self/cmdline", f);
	snprintf(p, sizeof(p), "/proc/%d/status", getpid());
	opened("/proc/PID/status", p, f);
	FILE *s = fopen("/proc/self/status", "r");
	long after_fopen = armed(f);
	if (s)
		fclose(s);
	/* what is left fails the IOAS_ALLOC that comes to it, or not */
	pwrite(f, "1", 1, 0);
	opened("/proc/self/status with 1 armed", "/proc/self/status", f);
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	pwrite(f, "0", 1, 0);
	printf("armed %ld\n", nine);
	show_seen();
	printf("fopen /proc/self/status -> %s, fail-nth %ld\n", s ? "ok" : "error", after_fopen);
	printf("IOAS_ALLOC after the walk took the armed count -> %s\n", ioas ? "ok" : "failed");
	pwrite(f, "0", 1, 0);
	printf("done\n");
	return failed;
}
