// SPDX-License-Identifier: GPL-2.0-only
/*
 * A forked child maps its own pages into the parent's IOAS (through the
 * iommufd it inherited) and exits. Where a domain pinned them, the parent's
 * access reads the child's copies (the one it wrote, and the ones the pin
 * made of pages still shared with the parent), whatever the parent writes
 * afterwards; where nothing pinned them, the child's address space is gone
 * and the access gets EFAULT. One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "progs.h"

#define PG 4096UL

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

/* fork a child that writes 'c' at a[0] and maps a's 4 pages at `iova` of `ioas`; its exit status */
static int child_maps(int fd, uint32_t ioas, char *a, uint64_t iova)
{
	pid_t c = fork();
	if (c == 0) {
		a[0] = 'c';
		struct ioas_map m = { .size = sizeof(m), .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)a, .length = 4 * PG, .iova = iova };
		_exit(ioctl(fd, IOMMU_IOAS_MAP, &m) ? 1 : 0);
	}
	int st = 0;
	return waitpid(c, &st, 0) == c && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t pinned = ioas_alloc(fd), unpinned = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = pinned };
	check(fd >= 0 && pinned && unpinned && ioctl(fd, IOMMU_TEST_CMD, &md) == 0, "open, two IOASes, a domain on the first", 0);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = pinned };
	struct test_cmd cb = { .size = sizeof(cb), .op = TEST_OP_CREATE_ACCESS, .id = unpinned };
	check(ioctl(fd, IOMMU_TEST_CMD, &ca) == 0 && ioctl(fd, IOMMU_TEST_CMD, &cb) == 0, "an access on each", 0);
	char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 4; i++)
		a[i * PG] = 'p';
	check(child_maps(fd, pinned, a, 0x40000000) == 0, "a child maps its pages where a domain pins them, and exits", 0);
	check(child_maps(fd, unpinned, a, 0x40000000) == 0, "a child maps them where nothing pins them, and exits", 0);
	a[0] = 'r';
	a[PG] = 'q';
	char got[4] = { 0 };
	int ok = 1;
	for (int i = 0; i < 4; i++)
		ok &= access_rw(fd, (uint32_t)ca.u[0], 0x40000000 + i * PG, got + i, 1, RW_SLOW_PATH) == 0;
	check(ok && got[0] == 'c' && got[1] == 'p' && got[2] == 'p' && got[3] == 'p', "the access reads the child's copies, not the parent's later writes", got[0]);
	char one = 0;
	V(-1, EFAULT, "the unpinned area's address space is gone: EFAULT", access_rw(fd, (uint32_t)cb.u[0], 0x40000000, &one, 1, RW_SLOW_PATH));
	V(-1, EFAULT, "the fast path too", access_rw(fd, (uint32_t)cb.u[0], 0x40000000, &one, 1, 0));
	return failed;
}
