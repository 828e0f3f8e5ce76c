/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The iommufd descriptor's life: dup()ed fds, a second open (ids per context), a fork-inherited fd,
 * close with everything attached (pins and references released), an ioctl on a closed fd, destroy
 * order, IOMMU_DESTROY of size 4 and 12 with and without a non-zero tail.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* fd lifecycle: dup, second open, close with everything attached, fork-inherited fd */
int main(void)
{
	char *A = anon(4 << 20);
	memset(A, 1, 4 << 20);
	uint64_t iova, len;
	int fd = open("/dev/iommu", O_RDWR);
	int fd2 = open("/dev/iommu", O_RDWR);
	int d = dup(fd);
	uint32_t ioas = ioas_new(fd), s, h, i;
	P("ioas=%u ioas on fd2=%u\n", ioas, ioas_new(fd2));
	R("attach via dup", mock_dev(d, ioas, 0, &s, &h, &i));
	P("ids %u %u %u\n", s, h, i);
	iova = 0x1000000; R("map via fd", map(fd, ioas, A, 4 << 20, &iova, FX));
	iova = 0x1000000; R("map fd2's id 1 (its own ioas)", map(fd2, 1, A, 4 << 20, &iova, FX));
	R("fd2 destroy id of fd's hwpt", destroy(fd2, h));
	R("fd2 check_map fd's hwpt", check_map(fd2, h, 0x1000000, A, 4 << 20));
	R("check_map via dup", check_map(d, h, 0x1000000, A, 4 << 20));
	R("refs 2 via fd2", check_refs(fd2, A, 4 << 20, 1));
	P("VmPin %ld\n", status_kb("VmPin"));
	R("close fd (dup still open)", close(fd));
	R("check_map via dup after close", check_map(d, h, 0x1000000, A, 4 << 20));
	pid_t c = fork();
	if (c == 0) {
		R("child check_map", check_map(d, h, 0x1000000, A, 4 << 20));
		iova = 0x1400000; R("child map its own copy", map(d, ioas, A, 4096, &iova, FX));
		R("child unmap its map", unmap(d, ioas, 0x1400000, 4096, &len));
		R("child close", close(d));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	R("parent check_map after child", check_map(d, h, 0x1000000, A, 4 << 20));
	R("close dup with all attached", close(d));
	P("VmPin %ld\n", status_kb("VmPin"));
	R("refs after close via fd2", check_refs(fd2, A, 4 << 20, 0));
	R("refs 1 after close via fd2", check_refs(fd2, A, 4 << 20, 1));
	R("ioctl on closed fd", ioctl(d, IOMMU_IOAS_ALLOC, &(struct iommu_ioas_alloc){ .size = 12 }));
	int fd3 = open("/dev/iommu", O_RDWR);
	uint32_t io3 = ioas_new(fd3);
	P("fd3 ioas=%u\n", io3);
	R("fd3 attach", mock_dev(fd3, io3, 0, &s, &h, &i));
	P("ids %u %u %u\n", s, h, i);
	R("fd3 destroy ioas busy", destroy(fd3, io3));
	R("fd3 destroy idev (not user destroyable?)", destroy(fd3, i));
	R("fd3 destroy hwpt busy", destroy(fd3, h));
	R("fd3 destroy stdev", destroy(fd3, s));
	R("fd3 destroy stdev again", destroy(fd3, s));
	R("fd3 destroy hwpt now", destroy(fd3, h));
	R("fd3 destroy idev now", destroy(fd3, i));
	R("fd3 destroy ioas", destroy(fd3, io3));
	P("fd3 next ioas=%u\n", ioas_new(fd3));
	R("fd3 destroy 0", destroy(fd3, 0));
	struct iommu_destroy dd = { .size = 4, .id = 1 };
	R("destroy size 4", ioctl(fd3, IOMMU_DESTROY, &dd));
	struct { uint32_t size, id, x; } d12 = { 12, 1, 1 };
	R("destroy size 12 nonzero tail", ioctl(fd3, IOMMU_DESTROY, &d12));
	d12.x = 0; d12.id = 5;
	R("destroy size 12 zero tail", ioctl(fd3, IOMMU_DESTROY, &d12));
	R("close fd2", close(fd2));
	R("close fd3", close(fd3));
	return 0;
}
