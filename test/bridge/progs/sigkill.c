// SPDX-License-Identifier: GPL-2.0-only
/*
 * A child that mapped memory into the parent's IOAS (no domain: nothing
 * pinned yet) and then dies by SIGKILL: by the time the parent sees it
 * (its pidfd polls readable), exit_mm() has dropped the child's address
 * space, so a mock domain attached then cannot pin the area (EFAULT),
 * before the child is reaped and after. The model learns of such a death
 * from the connection's close, which may come after the parent's next
 * call. Each step prints its result, so that the oracle suite compares the
 * output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "progs.h"

static long mock_domain(int fd, uint32_t ioas)
{
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	return ioctl(fd, IOMMU_TEST_CMD, &md);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	int ready[2];
	pipe(ready);
	char *p = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, 0x4000);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE,
				      .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 0x4000, .iova = 0x1000000 };
		char c = (char)ioctl(fd, IOMMU_IOAS_MAP, &m);
		write(ready[1], &c, 1);
		for (;;)
			pause();
	}
	char c = 1;
	read(ready[0], &c, 1);
	printf("child's IOAS_MAP -> %d\n", c);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	SAID("kill the child", kill(pid, SIGKILL));
	struct pollfd pf = { .fd = pfd, .events = POLLIN };
	SAID("its pidfd polls readable", poll(&pf, 1, 5000));
	SAID("MOCK_DOMAIN over its area, not reaped", mock_domain(fd, ioas));
	int st = 0;
	SAID("reaped", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	SAID("MOCK_DOMAIN over its area, reaped", mock_domain(fd, ioas));
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0x1000000, .length = 0x4000 };
	SAID("the parent unmaps it", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	SAID("MOCK_DOMAIN with nothing mapped", mock_domain(fd, ioas));
	printf("done\n");
	return 0;
}
