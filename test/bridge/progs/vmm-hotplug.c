/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reserved regions and IOVA_RANGES asked QEMU's way (num 0 first: EMSGSIZE, then enough),
 * ALLOW_IOVAS cases, device unplug and replug (ids reused), replace into another IOAS.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* device hot-unplug/replug, reserved regions, IOVA_RANGES as QEMU queries it (0 first, then enough) */
static int fd;
static int add_resv(uint32_t ioas, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas };
	c.add_reserved.start = start; c.add_reserved.length = len;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}
static void qranges(uint32_t ioas, uint32_t n, const char *t)
{
	struct iommu_iova_range r[8];
	memset(r, 0xee, sizeof(r));
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas, .num_iovas = n, .allowed_iovas = (uintptr_t)r };
	errno = 0;
	int rc = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q);
	P("%s n=%u -> %d %d num=%u align=%llx", t, n, rc, rc ? errno : 0, q.num_iovas, (unsigned long long)q.out_iova_alignment);
	for (int i = 0; i < 4; i++) P(" [%llx-%llx]", (unsigned long long)r[i].start, (unsigned long long)r[i].last);
	P("\n");
}
static int allow(uint32_t ioas, int n, uint64_t *se)
{
	struct iommu_ioas_allow_iovas a = { .size = sizeof(a), .ioas_id = ioas, .num_iovas = n, .allowed_iovas = (uintptr_t)se };
	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &a);
}
int main(void)
{
	char *A = anon(2 << 20);
	memset(A, 1, 2 << 20);
	uint64_t iova, len;
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), s, h, i, s2, h2, i2;
	R("resv 0xfee00000+1M", add_resv(ioas, 0xfee00000, 1 << 20));
	R("resv 0x40000000+4K", add_resv(ioas, 0x40000000, 4096));
	qranges(ioas, 0, "no dev");
	qranges(ioas, 2, "no dev");
	iova = 0x800000; R("map below aperture (no dev)", map(fd, ioas, A, 2 << 20, &iova, FX));
	R("attach (mapping below aperture)", mock_dev(fd, ioas, 0, &s, &h, &i));
	R("unmap it", unmap(fd, ioas, 0x800000, 2 << 20, &len));
	R("attach", mock_dev(fd, ioas, 0, &s, &h, &i));
	P("ids %u %u %u\n", s, h, i);
	qranges(ioas, 0, "dev");
	qranges(ioas, 1, "dev");
	qranges(ioas, 8, "dev");
	iova = 0x3ff00000; R("map over resv 4K", map(fd, ioas, A, 2 << 20, &iova, FX));
	iova = 0x3fe00000; R("map up to resv", map(fd, ioas, A, 2 << 20, &iova, FX));
	R("resv over a mapping", add_resv(ioas, 0x3ff00000, 4096));
	uint64_t se[4] = { 0x1000000, 0x1ffffff, 0x3fe00000, 0x3fffffff };
	R("allow 2 ranges (second covers map)", allow(ioas, 2, se));
	uint64_t se2[2] = { 0x1000000, 0x1ffffff };
	R("allow excluding existing map", allow(ioas, 1, se2));
	qranges(ioas, 8, "after allow");
	iova = 0; R("auto map 1M", map(fd, ioas, A, 1 << 20, &iova, RW)); P(" iova=%llx\n", (unsigned long long)iova);
	iova = 0x2000000; R("map outside allowed", map(fd, ioas, A, 1 << 20, &iova, FX));
	uint64_t se3[2] = { 0x100, 0x1ff };
	R("allow unaligned", allow(ioas, 1, se3));
	uint64_t se4[4] = { 0x1000000, 0x1ffffff, 0x1800000, 0x2ffffff };
	R("allow overlapping", allow(ioas, 2, se4));
	R("allow none", allow(ioas, 0, NULL));
	qranges(ioas, 8, "allow none");
	/* unplug: destroy the device, the hwpt goes; replug into the same IOAS */
	R("unplug", destroy(fd, s));
	R("destroy auto hwpt after unplug", destroy(fd, h));
	qranges(ioas, 8, "unplugged");
	iova = 0x800000; R("map below aperture after unplug", map(fd, ioas, A, 1 << 20, &iova, FX));
	R("replug", mock_dev(fd, ioas, 0, &s2, &h2, &i2));
	R("unmap below", unmap(fd, ioas, 0x800000, 1 << 20, &len));
	R("replug", mock_dev(fd, ioas, 0, &s2, &h2, &i2));
	P("ids %u %u %u\n", s2, h2, i2);
	R("check map", check_map(fd, h2, 0x3fe00000, A, 2 << 20));
	uint32_t ioas2 = ioas_new(fd);
	iova = 0x3fe00000; R("ioas2 map", map(fd, ioas2, A, 2 << 20, &iova, FX));
	R("resv ioas2 over map", add_resv(ioas2, 0x3fe00000, 4096));
	uint32_t out = 0;
	R("replace to ioas2", md_replace(fd, s2, ioas2, &out)); P(" out=%u\n", out);
	R("check map after replace", check_map(fd, out, 0x3fe00000, A, 2 << 20));
	R("destroy ioas (no device now)", destroy(fd, ioas));
	R("destroy old hwpt", destroy(fd, h2));
	qranges(ioas2, 8, "ioas2");
	R("close", close(fd));
	return 0;
}
