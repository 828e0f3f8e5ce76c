// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_IOAS_CHANGE_PROCESS across a privilege drop: root (CAP_IPC_LOCK, so
 * nothing is charged) maps 256 KiB of a memfd; a forked child drops to uid
 * 1000 and takes the context's pins over (its VmPin stays 0: pages of
 * account mode NONE leave their pinned_vm on the old mm, a kernel quirk),
 * then maps more as uid 1000 against its 128 KiB RLIMIT_MEMLOCK; the parent
 * takes everything back. The values are what Linux 7.2.13 answers (as
 * root); 6.12 has neither IOAS_MAP_FILE nor CHANGE_PROCESS (ENOTTY), and
 * 6.12.95 and the v6.12 profile fail the same 11 checks. One line per
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
#include <sys/resource.h>
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

int main(void)
{
	int sfd = open("/proc/self/status", O_RDONLY);
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	mfd = memfd_create("guest", 0);
	check(ftruncate(mfd, 1 << 20) == 0, "memfd of 1 MiB", mfd);
	V(0, 0, "root maps 256 KiB of it", map_file(0, 256 << 10, 1 << 24));
	long kb = fd_field(sfd, "VmPin");
	check(kb == 256, "root: VmPin 256 KiB (counted, not charged)", kb);
	struct rlimit rl = { 128 << 10, 128 << 10 };
	V(0, 0, "RLIMIT_MEMLOCK 128 KiB", setrlimit(RLIMIT_MEMLOCK, &rl));
	pid_t c = fork();
	if (c == 0) {
		int csfd = open("/proc/self/status", O_RDONLY);
		failed = 0;
		V(0, 0, "child: setresuid(1000, 1000, 1000)", setresuid(1000, 1000, 1000));
		V(0, 0, "child: CHANGE_PROCESS", ioas_change_process(fd));
		kb = fd_field(csfd, "VmPin");
		check(kb == 0, "child: VmPin stays 0 (account mode NONE keeps pinned_vm on the old mm)", kb);
		V(0, 0, "child: uid 1000 maps 64 KiB", map_file(256 << 10, 64 << 10, 1 << 25));
		V(-1, ENOMEM, "child: 128 KiB more is over its limit -> ENOMEM", map_file(512 << 10, 128 << 10, 1 << 26));
		kb = fd_field(csfd, "VmPin");
		check(kb == 64, "child: VmPin 64 KiB", kb);
		_exit(failed);
	}
	int st = 0;
	check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child passed", st);
	kb = fd_field(sfd, "VmPin");
	check(kb == 256, "parent: still 256 KiB", kb);
	V(0, 0, "parent: CHANGE_PROCESS back", ioas_change_process(fd));
	kb = fd_field(sfd, "VmPin");
	check(kb == 320, "parent: 320 KiB (the child's 64 KiB moved here)", kb);
	struct ioas_unmap_ { uint32_t size, ioas_id; uint64_t iova, length; } u = { 24, ioas, 0, ~0ull };
	V(0, 0, "IOAS_UNMAP of everything", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	check(u.length == 320 << 10, "320 KiB were mapped", (long)u.length);
	kb = fd_field(sfd, "VmPin");
	check(kb == 0, "parent: VmPin 0", kb);
	return failed;
}
