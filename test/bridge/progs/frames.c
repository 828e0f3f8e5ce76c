// SPDX-License-Identifier: GPL-2.0-only
/*
 * Under exec a frame's bytes live in the program's memory, found through
 * where the model maps the frame. Each check here is a place where that
 * went wrong once: ACCESS_RW's slow write through a private mapping of a
 * memfd (GUP copies the file's page, and the write goes to the copy), a
 * write to a memfd page whose first mapping the model found is read-only,
 * MAP_POPULATE of a writable private mapping of a file (every page
 * copied then: a later write to the file is not seen there), pwrite(2) to
 * a memfd page a private mapping has read, and a private page GUP copied
 * (a small page, a hugetlb folio) that must keep its bytes when the file
 * changes. One line per check; exit
 * 0 when all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "progs.h"

#define PG 4096UL

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static char *map_at(unsigned long va, int prot, int flags, int fd)
{
	return mmap((void *)va, PG, prot, flags | MAP_FIXED, fd, 0);
}

static int map_iova2(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct ioas_map m = { .size = sizeof(m), .flags = 7 /* FIXED_IOVA | WRITEABLE | READABLE */, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

static int map_iova(int fd, uint32_t ioas, void *va, uint64_t iova)
{
	return map_iova2(fd, ioas, va, PG, iova);
}

int main(void)
{
	const int RW = PROT_READ | PROT_WRITE;
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(fd >= 0 && ioas && ioctl(fd, IOMMU_TEST_CMD, &ca) == 0, "open, IOAS_ALLOC, CREATE_ACCESS", 0);
	uint32_t acc = (uint32_t)ca.u[0];
	unsigned char put[64];
	for (int i = 0; i < 64; i++)
		put[i] = (unsigned char)(i + 1);

	/* a private mapping of a memfd, mapped into the IOAS; the slow write pins (copies) the file's page */
	int m1 = memfd_create("private", 0);
	check(ftruncate(m1, 16 * PG) == 0, "ftruncate", 0);
	char *shared = map_at(0x310000000000UL, RW, MAP_SHARED, m1);
	shared[5] = 7;
	char *priv = map_at(0x310000000000UL, RW, MAP_PRIVATE, m1);
	check(priv == shared && priv[5] == 7, "a private mapping over the shared one sees the file", priv[5]);
	V(0, 0, "IOAS_MAP of the private mapping", map_iova(fd, ioas, priv, 0x40000000));
	int rc = access_rw(fd, acc, 0x40000000 + 8, put, sizeof(put), RW_WRITE | RW_SLOW_PATH);
	check(rc == 0 && !memcmp(priv + 8, put, sizeof(put)) && priv[5] == 7, "ACCESS_RW's slow write lands in the private copy", rc);
	char c = 1;
	check(pread(m1, &c, 1, 8) == 1 && c == 0, "and not in the file", c);

	/* a memfd page mapped read-only first, then writable: the write goes to the file's page */
	int m2 = memfd_create("ro", 0);
	check(ftruncate(m2, PG) == 0, "ftruncate", 0);
	char *ro = map_at(0x320000000000UL, RW, MAP_SHARED, m2);
	ro[0] = 'a';
	V(0, 0, "mprotect read-only", mprotect(ro, PG, PROT_READ));
	char *rw = map_at(0x330000000000UL, RW, MAP_SHARED, m2);
	V(0, 0, "IOAS_MAP of the writable mapping", map_iova(fd, ioas, rw, 0x40100000));
	rc = access_rw(fd, acc, 0x40100000 + 8, put, 4, RW_WRITE | RW_SLOW_PATH);
	check(rc == 0 && rw[8] == 1 && ro[11] == 4 && rw[0] == 'a', "ACCESS_RW's write reaches the file's page, seen read-only too", rw[8]);

	/* MAP_POPULATE of a writable private mapping copies every page at once */
	char *pop = map_at(0x340000000000UL, RW, MAP_PRIVATE | MAP_POPULATE, m2);
	rw[100] = 'S';
	check(pop[100] == 0 && pop[0] == 'a', "MAP_POPULATE of a writable private mapping: its copy keeps the file's old bytes", pop[100]);
	char *rpop = map_at(0x350000000000UL, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m2);
	rw[200] = 'T';
	check(rpop[200] == 'T', "a read-only one still sees the file", rpop[200]);

	/* pwrite(2) to a memfd page the model maps privately (the private mapping read it): the file gets the bytes */
	int m3 = memfd_create("pwrite", 0);
	check(ftruncate(m3, PG) == 0, "ftruncate", 0);
	char *rd = map_at(0x360000000000UL, RW, MAP_PRIVATE, m3);
	char *src = map_at(0x370000000000UL, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	V(0, 0, "IOAS_MAP of an anonymous page", map_iova(fd, ioas, src, 0x40200000));
	rc = access_rw(fd, acc, 0x40200000, rd, 16, RW_WRITE); /* copy_from_user reads the private mapping */
	check(rc == 0, "ACCESS_RW write from the private mapping", rc);
	V(1, 0, "pwrite", pwrite(m3, "Z", 1, 300));
	char *sh = map_at(0x380000000000UL, RW, MAP_SHARED, m3);
	check(sh[300] == 'Z' && rd[300] == 'Z', "a new shared mapping and the private one both see it", sh[300]);

	/* a page GUP copied (the slow write pins it for write) keeps its bytes when the file changes */
	V(0, 0, "IOAS_MAP of the private mapping", map_iova(fd, ioas, rd, 0x40300000));
	rc = access_rw(fd, acc, 0x40300000 + 8, put, 4, RW_WRITE | RW_SLOW_PATH);
	check(rc == 0 && rd[8] == 1 && rd[300] == 'Z', "ACCESS_RW's slow write copies the private page", rd[8]);
	V(1, 0, "pwrite over the copied page", pwrite(m3, "Q", 1, 300));
	check(rd[300] == 'Z' && sh[300] == 'Q', "the copy keeps the old byte, the file has the new one", rd[300]);

	/* a domain's pin for write copies a private page with no write through it at all */
	uint32_t ioas2 = ioas_alloc(fd);
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas2 };
	V(0, 0, "MOCK_DOMAIN on a second IOAS", ioctl(fd, IOMMU_TEST_CMD, &md));
	char *pin = map_at(0x390000000000UL, RW, MAP_PRIVATE, m3);
	check(pin[300] == 'Q', "a private mapping sees the file", pin[300]);
	V(0, 0, "IOAS_MAP pins it for write", map_iova(fd, ioas2, pin, 0x40000000));
	V(1, 0, "pwrite after the pin", pwrite(m3, "R", 1, 300));
	check(pin[300] == 'Q' && sh[300] == 'R', "the pinned copy keeps the old byte", pin[300]);

	/* the same with a hugetlb memfd: the private mapping read the file's folio, which the pin copies */
	const unsigned long MB2 = 2UL << 20;
	int h = memfd_create("huge", MFD_HUGETLB);
	V(0, 0, "ftruncate of a hugetlb memfd", ftruncate(h, MB2));
	char *hs = mmap(NULL, MB2, RW, MAP_SHARED, h, 0);
	check(hs != MAP_FAILED, "its shared mapping", 0);
	hs[100] = 'A';
	hs[MB2 - 1] = 'Z';
	char *hp = mmap(NULL, MB2, RW, MAP_PRIVATE, h, 0);
	check(hp != MAP_FAILED && hp[100] == 'A', "a private mapping reads the file's folio", hp[100]);
	V(0, 0, "IOAS_MAP pins the private hugetlb mapping for write", map_iova2(fd, ioas2, hp, MB2, 0x40200000));
	hs[100] = 'B';
	hs[MB2 - 1] = 'Y';
	check(hp[100] == 'A' && hp[MB2 - 1] == 'Z', "the pinned hugetlb copy keeps the old bytes", hp[100]);
	return failed;
}
