// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM's manager setting its child's RLIMIT_MEMLOCK with prlimit() before
 * the child maps guest memory (kernel/sys.c prlimit64): the child's own
 * getrlimit and its IOAS_MAP charge see the limit its parent gave it; a new
 * hard limit above the old one needs the caller's CAP_SYS_RESOURCE; no such
 * process is ESRCH, a process of another user EPERM without it
 * (check_prlimit_permission()), a reaped child ESRCH. Start it as root with
 * every capability (under exec: --caps all); the same checks pass on Linux
 * 6.12 and 7.2. One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define K 1024ul

static int limits_are(const struct rlimit *r, rlim_t cur, rlim_t max)
{
	return r->rlim_cur == cur && r->rlim_max == max;
}

/* A second thread: its ID, until it is told to end. */
static volatile pid_t thread_tid;
static volatile int thread_done;

static void *thread_main(void *arg)
{
	thread_tid = (pid_t)syscall(SYS_gettid);
	while (!thread_done)
		usleep(1000);
	return arg;
}

/* The child: waits for its parent's word, then maps against the limit it was given. */
static int child(int go)
{
	char c;
	struct rlimit r;
	int fd = open("/dev/iommu", O_RDWR);
	struct ioas_alloc a = { .size = sizeof(a) };
	check(fd >= 0 && ioctl(fd, IOMMU_IOAS_ALLOC, &a) == 0, "child: /dev/iommu and an IOAS, as root", fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = a.out_ioas_id };
	check(ioctl(fd, IOMMU_TEST_CMD, &md) == 0, "child: a mock domain", -1);
	char *buf = mmap(NULL, 64 * K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (read(go, &c, 1) != 1)
		return 2;
	check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 16 * K, 32 * K), "child: getrlimit reads what its parent set, 16 KiB, hard 32 KiB", (long)r.rlim_cur);
	/* drop to uid 1000, no capabilities: the pins are charged, against this limit */
	check(setresuid(1000, 1000, 1000) == 0, "child: setresuid(1000)", -1);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_WRITEABLE | MAP_READABLE, .ioas_id = a.out_ioas_id,
			      .user_va = (uintptr_t)buf, .length = 16 * K, .iova = 1ul << 24 };
	V(0, 0, "child: IOAS_MAP of 16 KiB, exactly its limit", ioctl(fd, IOMMU_IOAS_MAP, &m));
	m.user_va += 16 * K;
	m.length = 4 * K;
	m.iova += 1ul << 22;
	V(-1, ENOMEM, "child: 4 KiB more -> ENOMEM", ioctl(fd, IOMMU_IOAS_MAP, &m));
	/* its parent is root's: another user's, and no CAP_SYS_RESOURCE here */
	V(-1, EPERM, "child: prlimit of its root parent, read -> EPERM", prlimit(getppid(), RLIMIT_MEMLOCK, NULL, &r));
	struct rlimit low = { 4 * K, 4 * K };
	V(-1, EPERM, "child: prlimit of its root parent, set -> EPERM", prlimit(getppid(), RLIMIT_MEMLOCK, &low, NULL));
	V(0, 0, "child: prlimit of its own pid lowers its own", prlimit(getpid(), RLIMIT_MEMLOCK, &low, NULL));
	check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 4 * K, 4 * K), "child: now 4 KiB, hard 4 KiB", (long)r.rlim_cur);
	return failed;
}

int main(void)
{
	struct rlimit r, set = { 64 * K, 64 * K };
	int pipefd[2];
	/* a child inherits its parent's limits, a hard one raised past the host's own (under exec) too */
	struct rlimit big = { 1ul << 30, 2ul << 30 };
	V(0, 0, "setrlimit 1 GiB, hard 2 GiB (CAP_SYS_RESOURCE)", setrlimit(RLIMIT_MEMLOCK, &big));
	fflush(stdout);
	pid_t first = fork();
	if (first == 0) {
		check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 1ul << 30, 2ul << 30), "a child's getrlimit reads the 1 GiB, hard 2 GiB it inherited", (long)r.rlim_max);
		exit(failed);
	}
	int st = 0;
	waitpid(first, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "that child's check passed", st);
	V(0, 0, "setrlimit 64 KiB, hard 64 KiB (root)", setrlimit(RLIMIT_MEMLOCK, &set));
	if (pipe(pipefd) < 0)
		return 2;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[1]);
		exit(child(pipefd[0]));
	}
	close(pipefd[0]);
	check(prlimit(pid, RLIMIT_MEMLOCK, NULL, &r) == 0 && limits_are(&r, 64 * K, 64 * K), "prlimit reads the child's limits: inherited 64 KiB", (long)r.rlim_cur);
	struct rlimit lower = { 16 * K, 32 * K };
	check(prlimit(pid, RLIMIT_MEMLOCK, &lower, &r) == 0 && limits_are(&r, 64 * K, 64 * K), "prlimit sets the child's to 16 KiB, hard 32 KiB, and answers the old", (long)r.rlim_cur);
	memset(&r, 0, sizeof(r));
	check(syscall(SYS_prlimit64, pid, RLIMIT_MEMLOCK, NULL, &r) == 0 && limits_are(&r, 16 * K, 32 * K), "the prlimit64 system call reads the new ones", (long)r.rlim_cur);
	struct rlimit bad = { 32 * K, 16 * K };
	V(-1, EINVAL, "soft above hard -> EINVAL", prlimit(pid, RLIMIT_MEMLOCK, &bad, NULL));
	V(-1, ESRCH, "no such process -> ESRCH", prlimit(0x7fffffff, RLIMIT_MEMLOCK, &lower, NULL));
	/* prlimit64(): the new limits are copied in before the task is looked up, the old ones out after the change */
	V(-1, EFAULT, "new limits at a bad pointer, no such process -> EFAULT", prlimit(0x7fffffff, RLIMIT_MEMLOCK, (struct rlimit *)8, NULL));
	V(-1, EFAULT, "the child's old limits to a bad pointer -> EFAULT", prlimit(pid, RLIMIT_MEMLOCK, &lower, (struct rlimit *)8));
	check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 64 * K, 64 * K), "the parent's own limit is untouched", (long)r.rlim_cur);
	if (write(pipefd[1], "g", 1) != 1)
		return 2;
	int status = 0;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks passed", status);
	V(-1, ESRCH, "prlimit of the reaped child -> ESRCH", prlimit(pid, RLIMIT_MEMLOCK, NULL, &r));
	struct rlimit up = { 128 * K, 128 * K };
	check(prlimit(getpid(), RLIMIT_MEMLOCK, &up, NULL) == 0 && getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 128 * K, 128 * K), "prlimit of its own pid raises its hard limit (CAP_SYS_RESOURCE)", (long)r.rlim_cur);
	/* a thread's ID names its process: prlimit64 finds any task, and the limits are the thread group's */
	pthread_t th;
	if (pthread_create(&th, NULL, thread_main, NULL) != 0)
		return 2;
	while (!thread_tid)
		usleep(1000);
	struct rlimit by_tid = { 112 * K, 128 * K };
	check(prlimit(thread_tid, RLIMIT_MEMLOCK, &by_tid, &r) == 0 && limits_are(&r, 128 * K, 128 * K), "prlimit of a thread's ID sets its process's limits, answering the old", (long)r.rlim_cur);
	check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 112 * K, 128 * K), "... which are the caller's own: 112 KiB, hard 128 KiB", (long)r.rlim_cur);
	thread_done = 1;
	pthread_join(th, NULL);
	V(-1, EFAULT, "getrlimit into a bad pointer -> EFAULT", getrlimit(RLIMIT_MEMLOCK, (struct rlimit *)8));
	V(-1, EFAULT, "getrlimit into read-only memory -> EFAULT", getrlimit(RLIMIT_MEMLOCK, (struct rlimit *)(void *)main));
	V(-1, EFAULT, "setrlimit from a bad pointer -> EFAULT", setrlimit(RLIMIT_MEMLOCK, (const struct rlimit *)8));
	const struct rlimit *volatile none = NULL;
	V(0, 0, "setrlimit with no limits (NULL) does nothing", setrlimit(RLIMIT_MEMLOCK, none));
	struct rlimit again = { 96 * K, 128 * K };
	V(-1, EFAULT, "prlimit of itself, the old limits to a bad pointer -> EFAULT", prlimit(0, RLIMIT_MEMLOCK, &again, (struct rlimit *)8));
	check(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && limits_are(&r, 96 * K, 128 * K), "... its new limits were set before that", (long)r.rlim_cur);
	return failed;
}
