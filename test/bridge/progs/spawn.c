// SPDX-License-Identifier: GPL-2.0-only
/*
 * Children started by posix_spawn(), posix_spawnp() and system(): an
 * iommufd the program holds without close-on-exec is the child's too (the
 * same context: its next IOAS is the parent's next), one with close-on-exec
 * is not; the file actions (dup2, close, open of /dev/iommu: a context of
 * the child's own) and a failing one; an exec that fails is the errno
 * posix_spawn returns; the shell's exit statuses, and popen's pipe. The program spawns itself
 * again (/proc/self/exe, its own command line) with SPAWN_ROLE set. Each
 * step prints its result, so that the oracle suite compares the output on
 * Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <sys/wait.h>

#include "progs.h"

static long next_ioas(int fd)
{
	struct ioas_alloc a = { .size = sizeof(a) };
	long r = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	return r < 0 ? r : (long)a.out_ioas_id;
}

static int child(const char *role)
{
	int fd = atoi(getenv("SPAWN_FD"));
	if (!strcmp(role, "inherit")) {
		SAID("child: IOAS_ALLOC on the inherited iommufd", next_ioas(fd));
		SAID("child: IOAS_ALLOC on the close-on-exec one", next_ioas(atoi(getenv("SPAWN_CFD"))));
	} else if (!strcmp(role, "actions")) {
		SAID("child: IOAS_ALLOC on the dup2'd descriptor 20", next_ioas(20));
		SAID("child: IOAS_ALLOC on the closed original", next_ioas(fd));
		SAID("child: IOAS_ALLOC on descriptor 21, /dev/iommu opened by the action", next_ioas(21));
		SAID("child: and again", next_ioas(21));
	} else if (!strcmp(role, "popen")) {
		printf("IOAS_ALLOC on the inherited iommufd: %ld\n", next_ioas(fd));
	}
	return 7;
}

static char *args[16];

/* this program again, with SPAWN_ROLE=role; the exit status or the failure */
static long spawn_self(const char *role, int fd, int cfd, const posix_spawn_file_actions_t *fa)
{
	char e1[64], e2[64], e3[64];
	snprintf(e1, sizeof(e1), "SPAWN_ROLE=%s", role);
	snprintf(e2, sizeof(e2), "SPAWN_FD=%d", fd);
	snprintf(e3, sizeof(e3), "SPAWN_CFD=%d", cfd);
	char *envp[] = { e1, e2, e3, NULL };
	pid_t pid;
	int e = posix_spawn(&pid, "/proc/self/exe", fa, NULL, args, envp);
	if (e)
		return -e;
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1000;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

int main(void)
{
	const char *role = getenv("SPAWN_ROLE");
	if (role)
		return child(role);
	self_cmdline(args, 16);

	int fd = open("/dev/iommu", O_RDWR);
	int cfd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	SAID("parent: first IOAS", next_ioas(fd));
	SAID("parent: first IOAS of the close-on-exec context", next_ioas(cfd));
	SAID("posix_spawn, inheriting", spawn_self("inherit", fd, cfd, NULL));
	SAID("parent: next IOAS", next_ioas(fd));

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 20);
	posix_spawn_file_actions_addclose(&fa, fd);
	posix_spawn_file_actions_addopen(&fa, 21, "/dev/iommu", O_RDWR, 0);
	SAID("posix_spawn with dup2, close and open", spawn_self("actions", fd, cfd, &fa));
	posix_spawn_file_actions_destroy(&fa);
	SAID("parent: next IOAS", next_ioas(fd));

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 22, "/dev/vfio/no-such-node", O_RDWR, 0);
	SAID("posix_spawn with an open that fails", spawn_self("none", fd, cfd, &fa));
	posix_spawn_file_actions_destroy(&fa);

	pid_t pid = 0;
	char *none[] = { "x", NULL };
	SAID("posix_spawn of a path that is none", -posix_spawn(&pid, "/no/such/program", NULL, NULL, none, NULL));
	char *sh[] = { "sh", "-c", "exit 5", NULL };
	int e = posix_spawnp(&pid, "sh", NULL, NULL, sh, NULL);
	int st = 0;
	if (!e)
		waitpid(pid, &st, 0);
	SAID("posix_spawnp sh -c 'exit 5': its status", e ? -e : WEXITSTATUS(st));
	st = system("exit 3");
	SAID("system(\"exit 3\")", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	SAID("system(NULL)", system(NULL) != 0);

	/* popen: the shell's output through the pipe, its status from pclose */
	FILE *pf = popen("echo one; echo two; exit 4", "r");
	char line[128];
	while (pf && fgets(line, sizeof(line), pf))
		printf("via popen: %s", line);
	st = pf ? pclose(pf) : -1;
	SAID("pclose: the shell's status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pf = popen("cat > /dev/null; exit 2", "w");
	if (pf)
		fputs("to the shell\n", pf);
	st = pf ? pclose(pf) : -1;
	SAID("popen \"w\": pclose", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	SAID("popen of a bad mode", popen("true", "rw") ? 0 : -1);
	/* this program again under the shell, holding the iommufd */
	char exe[4096], pcmd[8192];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;
	int k = snprintf(pcmd, sizeof(pcmd), "SPAWN_ROLE=popen SPAWN_FD=%d exec %s", fd, exe);
	for (int i = 1; args[i]; i++)
		k += snprintf(pcmd + k, sizeof(pcmd) - k, " %s", args[i]);
	pf = popen(pcmd, "r");
	while (pf && fgets(line, sizeof(line), pf))
		printf("via popen: %s", line);
	st = pf ? pclose(pf) : -1;
	SAID("pclose of this program again", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	SAID("parent: next IOAS", next_ioas(fd));
	printf("done\n");
	return 0;
}
