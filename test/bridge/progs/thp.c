// SPDX-License-Identifier: GPL-2.0-only
/*
 * The THP mode is the model's machine's: /sys/kernel/mm/transparent_hugepage/enabled
 * reads it and a root write changes it (never the host's), so a program that
 * turns THP on gets 2 MiB folios without MADV_HUGEPAGE, and one that turns it
 * off gets none even with it. Seen through /proc/self/pagemap (the PFNs of a
 * 2 MiB block follow each other) and mincore() (with THP off, the page written
 * alone is resident: under exec the host makes no THP either, which would make
 * the model take the whole 2 MiB as touched). PR_SET_THP_DISABLE is the
 * model's too: no THP for the process (7.2's PR_THP_DISABLE_EXCEPT_ADVISED:
 * only with MADV_HUGEPAGE), THP_enabled in /proc/self/status, and
 * PR_GET_THP_DISABLE reads back what the program set, after an execve too.
 * The values are what Linux 6.12.95 and
 * 7.2.13 answer (as root); one line per check, exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define KNOB "/sys/kernel/mm/transparent_hugepage/enabled"
#define HP (2 << 20)
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif

static int pm;

static uint64_t pfn(void *va)
{
	uint64_t e = 0;
	if (pread(pm, &e, 8, ((uintptr_t)va / 4096) * 8) != 8)
		return 0;
	return e & ((1ull << 55) - 1);
}

/* A 2 MiB-aligned block of a fresh anonymous mapping, written once at its start: one folio? */
static int thp_block(int advise)
{
	char *m = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = (char *)(((uintptr_t)m + HP - 1) & ~(uintptr_t)(HP - 1));
	if (advise)
		madvise(b, HP, MADV_HUGEPAGE);
	b[0] = 1;
	int huge = pfn(b) != 0 && pfn(b + HP - 4096) == pfn(b) + 511;
	munmap(m, 2 * HP);
	return huge;
}

static int knob(const char *v)
{
	return write_file(KNOB, v);
}

static int reads(const char *want)
{
	char buf[64] = "";
	int fd = open(KNOB, O_RDONLY);
	int n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && !strcmp(buf, want);
}

/* THP_enabled of /proc/self/status (task_thp_status(): 0 only when PR_SET_THP_DISABLE turned them all off) */
static long thp_status(void)
{
	return file_field("/proc/self/status", "THP_enabled");
}

int main(void)
{
	if (getenv("THP_GET"))
		return prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	/* 6.12.95 has no IOAS_MAP_FILE (ENOTTY) nor PR_THP_DISABLE_EXCEPT_ADVISED */
	int iommufd = open("/dev/iommu", O_RDWR);
	uint32_t zero[8] = { 0 };
	int old = ioctl(iommufd, IOMMU_IOAS_MAP_FILE, zero) == -1 && errno == ENOTTY;
	pm = open("/proc/self/pagemap", O_RDONLY);
	check(knob("madvise\n") == 8, "enabled = madvise", 0);
	check(reads("always [madvise] never\n"), "reads always [madvise] never", 0);
	check(!thp_block(0), "madvise: no THP without MADV_HUGEPAGE", 0);
	check(thp_block(1), "madvise: a THP with it", 0);
	check(knob("always") == 6, "enabled = always", 0);
	check(reads("[always] madvise never\n"), "reads [always] madvise never", 0);
	check(thp_block(0), "always: a THP without MADV_HUGEPAGE", 0);
	check(knob("never") == 5, "enabled = never", 0);
	check(!thp_block(1), "never: no THP even with MADV_HUGEPAGE", 0);
	char *m = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = (char *)(((uintptr_t)m + HP - 1) & ~(uintptr_t)(HP - 1));
	unsigned char v[4] = { 9, 9, 9, 9 };
	madvise(b, HP, MADV_HUGEPAGE);
	b[4096] = 1;
	check(mincore(b, 4 * 4096, v) == 0 && v[0] == 0 && v[1] == 1 && v[2] == 0 && v[3] == 0, "never: the written page alone is resident (mincore)", v[0]);
	munmap(m, 2 * HP);
	check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0, "PR_GET_THP_DISABLE: 0", 0);
	check(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "PR_SET_THP_DISABLE 1, then GET: 1", 0);
	check(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) == 0 && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0, "PR_SET_THP_DISABLE 0, then GET: 0", 0);
	check(knob("sometimes") == -EINVAL, "enabled = sometimes: EINVAL", 0);
	check(reads("always madvise [never]\n"), "the mode stays never", 0);
	/* the mode the oracle VMs boot with, for the programs run after this one in the same VM */
	check(knob("always") == 6, "back to always", 0);
	/* PR_SET_THP_DISABLE takes the process's THPs away (vma_thp_disabled()), whatever the mode */
	check(thp_status() == 1, "THP_enabled: 1", thp_status());
	check(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0, "PR_SET_THP_DISABLE 1", 0);
	check(thp_status() == 0, "THP_enabled: 0", thp_status());
	check(!thp_block(0), "disabled: no THP under always", 0);
	check(!thp_block(1), "disabled: none with MADV_HUGEPAGE either", 0);
	if (old) {
		check(prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) == -1 && errno == EINVAL, "6.12: PR_THP_DISABLE_EXCEPT_ADVISED: EINVAL", 0);
		check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "6.12: still 1", 0);
	} else {
		check(prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) == 0, "7.2: PR_THP_DISABLE_EXCEPT_ADVISED", 0);
		check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 3, "7.2: GET: 1 | PR_THP_DISABLE_EXCEPT_ADVISED", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
		check(thp_status() == 1, "7.2: THP_enabled: 1 (not completely off)", thp_status());
		check(!thp_block(0), "7.2: except advised: no THP without MADV_HUGEPAGE", 0);
		check(thp_block(1), "7.2: a THP with it", 0);
	}
	/* kept across execve (mm_init() keeps MMF_INIT_LEGACY_MASK): the new image reports it as its exit status */
	check(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0, "PR_SET_THP_DISABLE 1 before an execve", 0);
	pid_t child = fork();
	if (child == 0) {
		/* the same command line again (the VM's multicall binary picks this program by it), THP_GET set */
		static char cmd[4096];
		char *av[64];
		int fd = open("/proc/self/cmdline", O_RDONLY), n = fd < 0 ? 0 : read(fd, cmd, sizeof(cmd) - 1), k = 0;
		for (int i = 0; i < n && k < 63; i += strlen(cmd + i) + 1)
			av[k++] = cmd + i;
		av[k] = NULL;
		setenv("THP_GET", "1", 1);
		execv("/proc/self/exe", av);
		_exit(99);
	}
	int st = 0;
	waitpid(child, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 1, "the exec'd image's PR_GET_THP_DISABLE: 1", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	check(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) == 0 && thp_status() == 1, "PR_SET_THP_DISABLE 0: THP_enabled 1", 0);
	check(thp_block(0), "THPs again under always", 0);
	return failed;
}
