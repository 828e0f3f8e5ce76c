// SPDX-License-Identifier: GPL-2.0-only
/*
 * Processes made and images executed past libc's wrappers: a raw clone3
 * and syscall(SYS_fork) and glibc's _Fork() copy the process as fork()
 * does (the child's calls on the inherited iommufd are its own: the next
 * object ids go on from them), a raw execve and fexecve() keep the
 * iommufd that is not close-on-exec in the new image; close_range() with
 * its range backwards or an unknown flag is EINVAL. The program executes
 * itself again (its own command line) with RAWPROC_ROLE set. Each step
 * prints its result, so that the oracle suite compares the output on
 * Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "progs.h"

extern char **environ;
static char *args[16];

static void alloc(const char *who, int fd)
{
	struct ioas_alloc a = { .size = sizeof(a) };
	errno = 0;
	long r = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	printf("%s: IOAS_ALLOC -> %ld %d, id %u\n", who, r, r < 0 ? errno : 0, a.out_ioas_id);
}

static void reap(const char *how, long pid)
{
	int st = -1;
	waitpid((pid_t)pid, &st, 0);
	printf("%s child: exit %d\n", how, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *role = getenv("RAWPROC_ROLE");
	if (role) {
		alloc(role, 3);
		if (strcmp(role, "raw execve") == 0) {
			int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
			setenv("RAWPROC_ROLE", "fexecve", 1);
			self_cmdline(args, 16);
			fexecve(self, args, environ);
			printf("fexecve failed %d\n", errno);
		} else {
			printf("done\n");
		}
		return 0;
	}
	int fd = open("/dev/iommu", O_RDWR);
	printf("iommufd at %d\n", fd);
	alloc("parent", fd);

	int pidfd = -1;
	struct clone_args ca = { .flags = CLONE_PIDFD, .pidfd = (uintptr_t)&pidfd, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		alloc("raw clone3 child", fd);
		_exit(7);
	}
	reap("raw clone3", pid);
	printf("its pidfd: %d\n", pidfd >= 0);
	alloc("parent", fd);

	pid = syscall(SYS_fork);
	if (pid == 0) {
		alloc("raw fork child", fd);
		_exit(8);
	}
	reap("raw fork", pid);
	pid = _Fork();
	if (pid == 0) {
		alloc("_Fork child", fd);
		_exit(9);
	}
	reap("_Fork", pid);
	alloc("parent", fd);

	SAID("close_range(5, 4, 0)", syscall(SYS_close_range, 5, 4, 0));
	SAID("close_range(3, 3, 1)", close_range(3, 3, 1));
	alloc("parent, its iommufd still open", fd);

	setenv("RAWPROC_ROLE", "raw execve", 1);
	self_cmdline(args, 16);
	syscall(SYS_execve, "/proc/self/exe", args, environ);
	printf("execve failed %d\n", errno);
	return 1;
}
