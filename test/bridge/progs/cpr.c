// SPDX-License-Identifier: GPL-2.0-only
/*
 * A live update as QEMU's cpr-exec does it: guest RAM in a memfd mapped into
 * an IOAS (IOAS_MAP_FILE; 6.12, which has none, maps the memfd's mapping by
 * its user address), then execve() with the iommufd and the memfd kept
 * open; the new image finds VmPin 0 (a new mm), IOAS_CHANGE_PROCESS refuses
 * while an anonymous area of the old mm is mapped (EINVAL), then moves the
 * pins' pinned_vm to the new mm, and the memfd keeps its bytes. Run twice:
 * as root (CAP_IPC_LOCK: account mode NONE, whose CHANGE_PROCESS leaves
 * pinned_vm on the old mm, so unmapping takes it off the new one below zero
 * and task_mem() prints 2^64 less 512 kB) and with CAP_IPC_LOCK dropped
 * (account mode USER: the 512 KiB move). Linux 7.2.13 passes all 42 checks,
 * 6.12.95 all 34; one line per check, exit 0 when all passed.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

static int fd, mfd;
static uint32_t ioas;

static int map_file(uint64_t start, uint64_t len, uint64_t iova)
{
	struct ioas_map_file m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .fd = mfd, .start = start, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}

static long unmap(uint64_t iova, uint64_t len)
{
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len };
	int rc = ioctl(fd, IOMMU_IOAS_UNMAP, &u);
	return rc ? -errno : (long)u.length;
}

static const char *mode = "none";
static int legacy;

static int drop_ipc_lock(void)
{
	struct { uint32_t version; int pid; } h = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].eff &= ~(1u << 14);
	return syscall(SYS_capset, &h, d);
}

static int first(void)
{
	int sfd = open("/proc/self/status", O_RDONLY);
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	mfd = memfd_create("guest-ram", 0);
	check(ftruncate(mfd, 1 << 20) == 0, "memfd of 1 MiB", mfd);
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(p, 0x5a, 1 << 20);
	int rc = map_file(0, 512 << 10, 1 << 24);
	if (rc == -1 && errno == ENOTTY) {
		/* 6.12: no IOAS_MAP_FILE (nor CHANGE_PROCESS): the memfd's mapping by its user address */
		legacy = 1;
		struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 512 << 10, .iova = 1 << 24 };
		rc = ioctl(fd, IOMMU_IOAS_MAP, &m);
	}
	check_rc(rc, 0, 0, "map 512 KiB of the memfd");
	char *anon = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(anon, 1, 64 << 10);
	struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)anon, .length = 64 << 10, .iova = 1 << 25 };
	V(0, 0, "map 64 KiB of anonymous memory", ioctl(fd, IOMMU_IOAS_MAP, &m));
	long kb = fd_field(sfd, "VmPin");
	check(kb == 576, "VmPin 576 KiB before exec", kb);
	kb = fd_field(sfd, "VmLck");
	check(kb == 0, "VmLck 0 (user mode charges the user, not the mm)", kb);
	char cmd[4096];
	int cfd = open("/proc/self/cmdline", O_RDONLY);
	ssize_t n = read(cfd, cmd, sizeof(cmd) - 1);
	close(cfd);
	char *argv[16];
	int ac = 0;
	for (ssize_t i = 0; i < n && ac < 15; i += strlen(cmd + i) + 1)
		argv[ac++] = cmd + i;
	argv[ac] = NULL;
	char e1[64], e2[64], e3[64], e4[64];
	snprintf(e1, sizeof(e1), "CPR_FD=%d", fd);
	snprintf(e2, sizeof(e2), "CPR_MFD=%d", mfd);
	snprintf(e3, sizeof(e3), "CPR_IOAS=%u", ioas);
	snprintf(e4, sizeof(e4), "CPR_FAILED=%d", failed);
	char e5[64];
	snprintf(e5, sizeof(e5), "CPR_MODE=%s", mode);
	char *envp[] = { e1, e2, e3, e4, e5, legacy ? "CPR_LEGACY=1" : NULL, NULL };
	execve("/proc/self/exe", argv, envp);
	printf("execve: %d\n", errno);
	return 1;
}

static int second(void)
{
	fd = atoi(getenv("CPR_FD"));
	mfd = atoi(getenv("CPR_MFD"));
	ioas = atoi(getenv("CPR_IOAS"));
	failed = atoi(getenv("CPR_FAILED"));
	mode = getenv("CPR_MODE");
	legacy = getenv("CPR_LEGACY") != NULL;
	int none = !strcmp(mode, "none");
	int sfd = open("/proc/self/status", O_RDONLY);
	long kb = fd_field(sfd, "VmPin");
	check(kb == 0, none ? "after exec: VmPin 0 (a new mm)" : "after exec, account mode user: VmPin 0", kb);
	struct ioas_alloc_cmd { uint32_t size, flags, out_ioas_id; } a = { sizeof(a), 0, 0 };
	V(0, 0, "the inherited iommufd still answers: IOAS_ALLOC", ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	V(-1, legacy ? ENOTTY : EINVAL, legacy ? "CHANGE_PROCESS: ENOTTY" : "CHANGE_PROCESS with an anonymous area -> EINVAL", ioas_change_process(fd));
	long len = unmap(1 << 25, 64 << 10);
	check(len == (64 << 10), "unmap the anonymous area: 64 KiB", len);
	kb = fd_field(sfd, "VmPin");
	check(kb == 0, "VmPin still 0 (the old mm paid for it)", kb);
	long moved = legacy || none ? 0 : 512;
	if (!legacy) {
		V(0, 0, "CHANGE_PROCESS", ioas_change_process(fd));
		kb = fd_field(sfd, "VmPin");
		check(kb == moved, none ? "VmPin stays 0 after CHANGE_PROCESS (NONE: pinned_vm left on the old mm)" : "VmPin 512 KiB after CHANGE_PROCESS", kb);
		V(0, 0, "CHANGE_PROCESS again (nothing to move)", ioas_change_process(fd));
		kb = fd_field(sfd, "VmPin");
		check(kb == moved, "VmPin unchanged by a second CHANGE_PROCESS", kb);
	}
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	check(p != MAP_FAILED && p[4096] == 0x5a && p[(1 << 20) - 1] == 0x5a, "the memfd keeps its bytes", p == MAP_FAILED ? -1 : p[4096]);
	int rc;
	if (legacy) {
		struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)p + (512 << 10), .length = 256 << 10, .iova = 1 << 26 };
		rc = ioctl(fd, IOMMU_IOAS_MAP, &m);
	} else {
		rc = map_file(512 << 10, 256 << 10, 1 << 26);
	}
	check_rc(rc, 0, 0, "map 256 KiB more of the memfd");
	kb = fd_field(sfd, "VmPin");
	check(kb == moved + 256, "VmPin grows by 256 KiB", kb);
	len = unmap(0, ~0ULL);
	check(len == (768 << 10), "unmap all: 768 KiB", len);
	kb = fd_field(sfd, "VmPin");
	if (none && !legacy) {
		/* the 512 KiB left on the old mm come off this one: pinned_vm -128, which task_mem() prints unsigned */
		char buf[4096], *l;
		lseek(sfd, 0, SEEK_SET);
		ssize_t n = read(sfd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		l = strstr(buf, "VmPin:");
		const char *want = "VmPin:\t18446744073709551104 kB\n";
		check(l && !strncmp(l, want, strlen(want)), "VmPin after unmap: -512 KiB printed unsigned", l ? l[7] : -1);
	} else {
		check(kb == 0, "VmPin 0 after unmap", kb);
	}
	return failed;
}

int main(void)
{
	if (getenv("CPR_FD"))
		return second();
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		return first();
	int st = 0;
	waitpid(c, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "root's run (account mode NONE) passed", st);
	mode = "user";
	V(0, 0, "drop CAP_IPC_LOCK", drop_ipc_lock());
	return first();
}
