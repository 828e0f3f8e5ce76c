/*
 * What pinning shared memory shows in smaps and status: IOAS_MAP of a
 * shared memfd mapping faults every page into the program's page tables
 * (GUP), dirty when the area is writable, clean when only readable, so the
 * mapping's Rss and the process's RssShmem grow by the pages the program had
 * not touched. (Under exec the model's GUP takes them; the real page tables
 * fault them the same way, MADV_POPULATE_WRITE or _READ.) The same on
 * 6.12.95 and 7.2.13.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "progs.h"
#define IOVA 0x40000000UL

static long field(void *p, const char *k)
{
	char fl[256];
	return smaps_field(p, k, fl);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	check(ioas && !ioctl(fd, IOMMU_TEST_CMD, &md), "IOAS and mock domain", 0);
	int mfd = memfd_create("ram", 0);
	ftruncate(mfd, 8 << 20);
	char *ram = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(ram, 1, 1 << 20);
	volatile char c = ram[(1 << 20) + 4096];
	(void)c;
	check(field(ram, "Rss") == 1028, "1 MiB written and a page read: Rss 1028 kB", field(ram, "Rss"));
	check(field(ram, "Private_Dirty") == 1024 && field(ram, "Private_Clean") == 4, "1024 kB dirty, 4 kB clean", field(ram, "Private_Clean"));
	long shmem = file_field("/proc/self/status", "RssShmem");

	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)ram, .length = 4 << 20, .iova = IOVA };
	V(0, 0, "IOAS_MAP of the first 4 MiB, writable", ioctl(fd, IOMMU_IOAS_MAP, &m));
	check(field(ram, "Rss") == 4096, "Rss 4096 kB: the pin faulted the rest in", field(ram, "Rss"));
	check(field(ram, "Private_Dirty") == 4096 && field(ram, "Private_Clean") == 0, "all dirty, the page read too (GUP for writing)", field(ram, "Private_Dirty"));
	check(file_field("/proc/self/status", "RssShmem") - shmem == 3068, "RssShmem grew by 3068 kB", file_field("/proc/self/status", "RssShmem") - shmem);

	m.flags = MAP_FIXED_IOVA | MAP_READABLE;
	m.user_va = (uintptr_t)ram + (4 << 20);
	m.length = 1 << 20;
	m.iova = IOVA + (4 << 20);
	V(0, 0, "IOAS_MAP of the next MiB, readable only", ioctl(fd, IOMMU_IOAS_MAP, &m));
	check(field(ram, "Rss") == 5120, "Rss 5120 kB", field(ram, "Rss"));
	check(field(ram, "Private_Clean") == 1024 && field(ram, "Private_Dirty") == 4096, "the new MiB clean", field(ram, "Private_Clean"));
	check(file_field("/proc/self/status", "RssShmem") - shmem == 4092, "RssShmem grew by 4092 kB", file_field("/proc/self/status", "RssShmem") - shmem);
	return failed;
}
