// SPDX-License-Identifier: GPL-2.0-only
/*
 * Round-trip time of one bridged ioctl: IOMMU_OPTION (get RLIMIT_MODE) N
 * times on /dev/iommu; prints "ns_per_ioctl <n>".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

struct iommu_option { uint32_t size, option_id; uint16_t op, reserved; uint32_t object_id; uint64_t val64; };

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_option o = { .size = sizeof(o), .option_id = 0, .op = 1 };
	struct timespec a, b;
	if (fd < 0 || ioctl(fd, _IO(';', 0x87), &o))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		if (ioctl(fd, _IO(';', 0x87), &o))
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_ioctl %.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
