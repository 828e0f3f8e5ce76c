// SPDX-License-Identifier: GPL-2.0-only
/*
 * glibc's clone() with a fork's flags (SIGCHLD only): the child runs on its
 * own stack with its own copy of the memory and of the file table, maps
 * through the inherited iommufd (its pins are its own VmPin), closes its
 * copy of the descriptor (the parent's stays open) and returns its exit
 * status; the parent then reads the child's pages through the domain,
 * unmaps them and keeps using its descriptor. Each step prints its result,
 * so that the oracle suite compares the output on Linux 6.12 and 7.2 with
 * the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "progs.h"

static int fd;
static uint32_t ioas;
static char *buf;

static int child(void *arg)
{
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas,
			      .user_va = (uintptr_t)buf, .length = 0x4000, .iova = 0x1000000 };
	memset(buf, 0x5a, 0x4000);
	SAID("child: IOAS_MAP of 4 pages", ioctl(fd, IOMMU_IOAS_MAP, &m));
	printf("child: VmPin %ld kB\n", file_field("/proc/self/status", "VmPin"));
	SAID("child: close its iommufd", close(fd));
	fflush(stdout);
	return 3;
}

int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	buf = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, 0x4000);
	char *stack = malloc(1 << 16);
	fflush(stdout);
	pid_t pid = clone(child, stack + (1 << 16), SIGCHLD, NULL);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
	printf("parent: VmPin %ld kB, its bytes %d\n", file_field("/proc/self/status", "VmPin"), buf[0]);
	/* the child's pages, through the domain: what it wrote */
	struct test_cmd_md acc = { .size = sizeof(acc), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	SAID("CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &acc));
	unsigned char got[8] = { 0 };
	SAID("ACCESS_RW of the child's pages", access_rw(fd, acc.out_stdev_id, 0x1000000, got, sizeof(got), 0));
	printf("they hold 0x%02x\n", got[0]);
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0x1000000, .length = 0x4000 };
	SAID("parent: unmap them", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	SAID("parent: its iommufd still works (IOAS_ALLOC)", ioas_alloc(fd));
	printf("done\n");
	return 0;
}
