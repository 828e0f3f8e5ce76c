// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bridge's own paths, checked end to end: ACCESS_RW's user buffer goes
 * with the request and comes back with the reply (both directions, across a
 * page, and the pointers the shim cannot read: EFAULT as the kernel gives
 * it), a descriptor closed without waiting for the model, and a child
 * killed by a signal whose pins are gone once the parent reaped it. One line
 * per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define PG 4096

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open", fd);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas != 0, "IOAS_ALLOC", ioas);

	unsigned char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 2 * PG; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	struct ioas_map m = { .size = sizeof(m), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 2 * PG };
	check(ioctl(fd, IOMMU_IOAS_MAP, &m) == 0, "IOAS_MAP", 0);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioctl(fd, IOMMU_TEST_CMD, &ca) == 0, "CREATE_ACCESS", 0);
	uint32_t access = (uint32_t)ca.u[0];

	/* the user buffer travels with the request: reads across the page, both paths */
	unsigned char got[100], put[100];
	for (int slow = 0; slow < 2; slow++) {
		memset(got, 0, sizeof(got));
		int rc = access_rw(fd, access, m.iova + PG - 50, got, sizeof(got), slow ? RW_SLOW_PATH : 0);
		check(rc == 0 && !memcmp(got, buf + PG - 50, sizeof(got)),
		      slow ? "ACCESS_RW read across a page (slow path)" : "ACCESS_RW read across a page", rc);
	}
	for (int i = 0; i < (int)sizeof(put); i++)
		put[i] = (unsigned char)(0xc0 ^ i);
	int rc = access_rw(fd, access, m.iova + PG - 30, put, sizeof(put), RW_WRITE);
	check(rc == 0 && !memcmp(buf + PG - 30, put, sizeof(put)), "ACCESS_RW write lands in the program's memory", rc);
	memset(got, 0, sizeof(got));
	rc = access_rw(fd, access, m.iova + PG - 30, got, sizeof(put), RW_SLOW_PATH);
	check(rc == 0 && !memcmp(got, put, sizeof(put)), "ACCESS_RW reads back what it wrote", rc);

	/* pointers the shim cannot read: the model's own walk gives EFAULT */
	unsigned char *hole = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 2 * PG);
	rc = access_rw(fd, access, m.iova, hole, 16, 0);
	check(rc == -1 && errno == EFAULT, "ACCESS_RW read into unmapped memory -> EFAULT", rc);
	unsigned char before[16];
	memcpy(before, buf, sizeof(before));
	rc = access_rw(fd, access, m.iova, hole, 16, RW_WRITE);
	check(rc == -1 && errno == EFAULT && !memcmp(buf, before, sizeof(before)),
	      "ACCESS_RW write from unmapped memory -> EFAULT, IOVA unchanged", rc);
	unsigned char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rc = access_rw(fd, access, m.iova, ro, 16, 0);
	check(rc == -1 && errno == EFAULT && ro[0] == 0 && ro[15] == 0, "ACCESS_RW read into read-only memory -> EFAULT", rc);
	rc = access_rw(fd, access, m.iova, ro, 16, RW_WRITE);
	check(rc == 0 && !memcmp(buf, ro, 16), "ACCESS_RW write from read-only memory", rc);
	/* a buffer running off the end of its mapping: the shim sends nothing, the model walks it */
	unsigned char *edge = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(edge + PG, PG);
	rc = access_rw(fd, access, m.iova, edge + PG - 8, 16, 0);
	check(rc == -1 && errno == EFAULT, "ACCESS_RW read into a buffer past its mapping -> EFAULT", rc);

	/* a close is not waited for, yet the model has it before the next call: the number is free again */
	int dupd = dup(fd);
	check(dupd > fd, "dup of the iommufd", dupd);
	close(dupd);
	struct test_cmd ca2 = { .size = sizeof(ca2), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	rc = ioctl(fd, IOMMU_TEST_CMD, &ca2);
	check(rc == 0 && (int)ca2.u[0] == dupd, "the model installs its next file on the number just closed", (long)ca2.u[0]);

	/* a child killed by a signal never says EXIT: once reaped, its pins are gone */
	unsigned char *shared = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(shared, 1, 4 * PG);
	int p[2];
	check(pipe(p) == 0, "pipe", 0);
	pid_t child = fork();
	if (child == 0) {
		int cfd = open("/dev/iommu", O_RDWR);
		uint32_t cioas = ioas_alloc(cfd);
		struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = cioas };
		struct ioas_map cm = { .size = sizeof(cm), .flags = 6, .ioas_id = cioas, .user_va = (uintptr_t)shared, .length = 4 * PG };
		char ok = (cfd >= 0 && cioas && !ioctl(cfd, IOMMU_TEST_CMD, &md) && !ioctl(cfd, IOMMU_IOAS_MAP, &cm)) ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char ok = 0;
	check(read(p[0], &ok, 1) == 1 && ok == 'y', "the child pins the shared pages through its own domain", ok);
	rc = md_check_refs(fd, shared, 4 * PG, 1);
	check(rc == 0, "MD_CHECK_REFS: pinned once while the child lives", rc);
	kill(child, SIGKILL);
	int st = 0;
	check(waitpid(child, &st, 0) == child && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the child dies by SIGKILL", st);
	rc = md_check_refs(fd, shared, 4 * PG, 0);
	check(rc == 0, "MD_CHECK_REFS: no pin left right after waitpid", rc);

	/* a process that dropped to another uid still reaches the server, and so do its children */
	if (geteuid() == 0) {
		pid_t c = fork();
		if (c == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(2);
			pid_t g = fork();
			if (g == 0)
				_exit(ioas_alloc(fd) ? 0 : 3);
			int gs = 0;
			_exit(g > 0 && waitpid(g, &gs, 0) == g && WIFEXITED(gs) ? WEXITSTATUS(gs) : 4);
		}
		st = 0;
		check(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "a child of a process that dropped to uid 65534 allocates an IOAS on the inherited fd", st);
	} else {
		check(1, "not root: no uid to drop to", 0);
	}

	close(fd);
	return failed;
}
