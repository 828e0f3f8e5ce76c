// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capabilities across execve() for root (cap_bprm_creds_from_file(),
 * handle_privileged_root()): a root program that dropped CAP_IPC_LOCK from
 * its effective and permitted sets gets it back in the image it executes,
 * so an IOAS_MAP past RLIMIT_MEMLOCK passes there; a task that left UID 0
 * keeping its permitted set (SECBIT_KEEP_CAPS) has none after the exec,
 * and the keep-caps bit is cleared. (An exec with the effective UID not the
 * real one is a secure execution, where the host's loader drops the shim:
 * not here.) The program executes itself again
 * (/proc/self/exe, its own command line) with EXECCAPS_ROLE set. Each step
 * prints its result, so that the oracle suite compares the output on Linux
 * 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "progs.h"

#define IPC_LOCK (1u << CAP_IPC_LOCK)

static struct __user_cap_data_struct caps[2];

static void capget_(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	syscall(SYS_capget, &h, caps);
}

static void show(const char *who)
{
	uid_t r, e, s;
	capget_();
	getresuid(&r, &e, &s);
	printf("%s: uids %u %u %u, CAP_IPC_LOCK effective %d permitted %d, keep-caps %d\n", who, r, e, s,
	       !!(caps[0].effective & IPC_LOCK), !!(caps[0].permitted & IPC_LOCK), prctl(PR_GET_KEEPCAPS));
}

/* 32 pages into the IOAS the first image made (with a mock domain: they are pinned), VmPin, then unmapped */
static void map_past_limit(const char *who, int fd, uint32_t ioas)
{
	char *p = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, 0x20000);
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas,
			      .user_va = (uintptr_t)p, .length = 0x20000, .iova = 0x1000000 };
	errno = 0;
	long r = ioctl(fd, IOMMU_IOAS_MAP, &m);
	printf("%s: IOAS_MAP of 32 pages under a 16-page limit -> %ld %d, VmPin %ld kB\n", who, r, r < 0 ? errno : 0,
	       file_field("/proc/self/status", "VmPin"));
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0x1000000, .length = 0x20000 };
	if (r == 0)
		ioctl(fd, IOMMU_IOAS_UNMAP, &u);
	munmap(p, 0x20000);
}

static char *args[16];

static int run_self(const char *role, int fd, uint32_t ioas)
{
	char env[64], efd[64];
	snprintf(env, sizeof(env), "EXECCAPS_ROLE=%s", role);
	snprintf(efd, sizeof(efd), "EXECCAPS_FD=%d,%u", fd, ioas);
	char *envp[] = { env, efd, NULL };
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (!strcmp(role, "user"))
			setresuid(1000, 1000, 1000);
		execve("/proc/self/exe", args, envp);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	const char *role = getenv("EXECCAPS_ROLE");
	if (role) {
		int fd;
		uint32_t ioas;
		sscanf(getenv("EXECCAPS_FD"), "%d,%u", &fd, &ioas);
		show(role);
		map_past_limit(role, fd, ioas);
		return 0;
	}
	self_cmdline(args, 16);

	struct rlimit rl = { 0x10000, 0x10000 };
	SAID("setrlimit(RLIMIT_MEMLOCK, 64 KiB)", setrlimit(RLIMIT_MEMLOCK, &rl));
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	capget_();
	caps[0].effective &= ~IPC_LOCK;
	caps[0].permitted &= ~IPC_LOCK;
	SAID("capset without CAP_IPC_LOCK", syscall(SYS_capset, &h, caps));
	SAID("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1));
	/* the iommufd (no close-on-exec) and an IOAS with a mock domain, for the images this one executes */
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	show("before");
	map_past_limit("before", fd, ioas);
	printf("exec as root: status %d\n", run_self("root", fd, ioas));
	printf("exec as UID 1000 with keep-caps: status %d\n", run_self("user", fd, ioas));
	printf("done\n");
	return 0;
}
