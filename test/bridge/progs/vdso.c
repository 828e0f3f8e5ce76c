// SPDX-License-Identifier: GPL-2.0-only
/*
 * The [vdso] text as memory behind IOMMU_IOAS_MAP: map_vdso() makes it a
 * private read/exec mapping with VM_MAYWRITE, so a read-only long-term pin
 * unshares it (a private copy is pinned: VmPin grows, the device reads the
 * vDSO's bytes) while a writable map is EFAULT (no VM_WRITE); [vvar] below
 * it is EFAULT either way. With a mock domain, so the pages are pinned at
 * the map. Each step prints its result, so that the oracle suite compares
 * the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include <sys/auxv.h>

#include "progs.h"

static long map(int fd, uint32_t ioas, uintptr_t va, uint64_t iova, uint32_t flags)
{
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | flags, .ioas_id = ioas, .user_va = va, .length = 4096, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

int main(void)
{
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	SAID("MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	printf("a vDSO: %d\n", vdso != 0);
	SAID("map its first page readable", map(fd, ioas, vdso, 1 << 24, MAP_READABLE));
	printf("VmPin %ld kB\n", file_field("/proc/self/status", "VmPin"));
	SAID("map it writeable too", map(fd, ioas, vdso, 2 << 24, MAP_READABLE | MAP_WRITEABLE));
	SAID("map the page below it ([vvar])", map(fd, ioas, vdso - 4096, 3 << 24, MAP_READABLE));
	struct test_cmd_md acc = { .size = sizeof(acc), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	SAID("CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &acc));
	unsigned char *got = malloc(16);
	memset(got, 0, 16);
	SAID("ACCESS_RW of its first bytes", access_rw(fd, acc.out_stdev_id, 1 << 24, got, 16, 0));
	printf("the device reads the vDSO's bytes: %d, an ELF header: %d\n", !memcmp(got, (void *)vdso, 16), !memcmp(got, "\177ELF", 4));
	struct ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = ~0ULL };
	SAID("unmap all", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	printf("unmapped 0x%llx, VmPin %ld kB\n", (unsigned long long)u.length, file_field("/proc/self/status", "VmPin"));
	printf("done\n");
	return 0;
}
