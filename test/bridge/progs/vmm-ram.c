/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM set-up and memory hot-unplug as a VMM does it: 16 MiB anonymous, 8 MiB hugetlb and
 * 8 MiB anonymous at fixed IOVAs around an MMIO hole; IOVA_RANGES before and after attach; maps below
 * or across the aperture; unplug of part of a region, a tail, a span across two areas, length 0, one
 * region twice, a span with a hole; remap; unmap-all (exact, non-zero iova: EOVERFLOW, empty); VmPin
 * throughout; attach or replace into an IOAS with a mapping outside the aperture (EADDRINUSE).
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* guest RAM set-up and memory hot-unplug as a VMM does it */
int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), stdev, hwpt, idev, out;
	uint64_t len, iova;
	char *A = anon(16 << 20), *C = anon(8 << 20), *B = huge(8 << 20);
	if (!B) B = anon(8 << 20);
	memset(A, 1, 16 << 20); memset(C, 2, 8 << 20); memset(B, 3, 8 << 20);
	ranges(fd, ioas, "empty");
	iova = 0x1000000; R("map A fixed 16M@16M", map(fd, ioas, A, 16 << 20, &iova, FX));
	ranges(fd, ioas, "A only");
	R("attach", mock_dev(fd, ioas, 0, &stdev, &hwpt, &idev));
	P("ids stdev=%u hwpt=%u idev=%u\n", stdev, hwpt, idev);
	ranges(fd, ioas, "attached");
	uint32_t st1 = stdev;
	iova = 0x2200000; R("map B fixed 8M@34M", map(fd, ioas, B, 8 << 20, &iova, FX));
	iova = 0x3000000; R("map C fixed 8M@48M", map(fd, ioas, C, 8 << 20, &iova, FX));
	iova = 0x2000000; R("map into hole below aperture? 2M@32M ok", map(fd, ioas, C, 2 << 20, &iova, FX));
	R("unmap hole 2M@32M", unmap(fd, ioas, 0x2000000, 2 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	iova = 0x100000; R("map below aperture", map(fd, ioas, C, 1 << 20, &iova, FX));
	iova = 0x7ff00000; R("map across aperture end", map(fd, ioas, C, 2 << 20, &iova, FX));
	iova = 0; R("map auto 1M", map(fd, ioas, C, 1 << 20, &iova, RW)); P(" iova=%llx\n", (unsigned long long)iova);
	R("unmap auto", unmap(fd, ioas, iova, 1 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("check A", check_map(fd, hwpt, 0x1000000, A, 16 << 20));
	R("check B", check_map(fd, hwpt, 0x2200000, B, 8 << 20));
	R("check C", check_map(fd, hwpt, 0x3000000, C, 8 << 20));
	R("unmap part of C", unmap(fd, ioas, 0x3000000, 4 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap C tail+beyond", unmap(fd, ioas, 0x3400000, 8 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap from mid A to end B", unmap(fd, ioas, 0x1800000, 0x2a00000 - 0x1800000, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap len 0", unmap(fd, ioas, 0x1000000, 0, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap exactly B", unmap(fd, ioas, 0x2200000, 8 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap exactly B again", unmap(fd, ioas, 0x2200000, 8 << 20, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap span A..C (hole inside)", unmap(fd, ioas, 0x1000000, 0x3800000 - 0x1000000, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("check C after", check_map(fd, hwpt, 0x3000000, C, 8 << 20));
	iova = 0x2200000; R("remap B", map(fd, ioas, B, 8 << 20, &iova, FX));
	iova = 0x1000000; R("remap A", map(fd, ioas, A, 16 << 20, &iova, FX));
	iova = 0x3000000; R("remap C", map(fd, ioas, C, 8 << 20, &iova, FX));
	R("check B remapped", check_map(fd, hwpt, 0x2200000, B, 8 << 20));
	R("refs A", check_refs(fd, A, 16 << 20, 1));
	R("unmap iova!=0 len max", unmap(fd, ioas, 0x1000000, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap 0,max-1", unmap(fd, ioas, 0, UINT64_MAX - 1, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap all", unmap(fd, ioas, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("unmap all empty", unmap(fd, ioas, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("refs A after", check_refs(fd, A, 16 << 20, 0));
	P("VmPin %ld\n", status_kb("VmPin"));
	iova = 0x1000000; R("remap A again", map(fd, ioas, A, 16 << 20, &iova, FX));
	P("VmPin %ld\n", status_kb("VmPin"));
	/* second IOAS: map outside the aperture first, then attach */
	uint32_t ioas2 = ioas_new(fd);
	iova = 0x100000; R("ioas2 map below aperture", map(fd, ioas2, C, 1 << 20, &iova, FX));
	R("attach ioas2", mock_dev(fd, ioas2, 0, &stdev, &hwpt, &idev));
	R("replace dev1 to ioas2", md_replace(fd, st1, ioas2, &out));
	R("unmap ioas2 all", unmap(fd, ioas2, 0, UINT64_MAX, &len)); P(" len=%llx\n", (unsigned long long)len);
	R("attach ioas2 again", mock_dev(fd, ioas2, 0, &stdev, &hwpt, &idev));
	P("ids stdev=%u hwpt=%u idev=%u\n", stdev, hwpt, idev);
	ranges(fd, ioas2, "ioas2 attached");
	R("close", close(fd));
	P("VmPin %ld\n", status_kb("VmPin"));
	return 0;
}
