// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmap of a model device file whose pages only the model holds (as the
 * vIOMMU's page of an iommufd): the program reads the model's frames in
 * its mapping, placed by the kernel or MAP_FIXED. The test registers the
 * device at /dev/vfio/bridge-test with byte i of page p = p * 16 + i % 16.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int failed;

static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "FAIL", what);
	failed |= !cond;
}

static int pattern_ok(const unsigned char *p, int pages)
{
	for (int pg = 0; pg < pages; pg++)
		for (int i = 0; i < 4096; i++)
			if (p[pg * 4096 + i] != (unsigned char)(pg * 16 + i % 16))
				return 0;
	return 1;
}

int main(void)
{
	int fd = open("/dev/vfio/bridge-test", O_RDWR);
	check(fd >= 0, "open the device");
	unsigned char *p = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && pattern_ok(p, 2), "mmap: the program sees the device's pages");
	check(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == EINVAL,
	      "a private mapping -> the device's EINVAL");
	unsigned char *q = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *f = mmap(q + 4096, 2 * 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	check(f == q + 4096 && pattern_ok(f, 2), "MAP_FIXED: the same pages");
	check(munmap(p, 2 * 4096) == 0 && munmap(q, 3 * 4096) == 0, "munmap");
	close(fd);
	return failed;
}
