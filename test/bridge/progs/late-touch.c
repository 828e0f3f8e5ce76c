// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pages the program's CPU touches after their range was mapped into an IOAS
 * are the pages a later pin takes: ACCESS_RW's slow path (which pins),
 * a mock domain attached later, a page the program read (the zero page)
 * before the map and wrote after it, an area mapped read-only. Under exec
 * the model learns of those writes only when it looks; each check reads
 * back what the program wrote; last, a page fork left shared that the
 * parent wrote before the pin. One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "progs.h"

#define PG 4096

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int map_at(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t iova, uint32_t prot)
{
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | prot, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

static void *anon(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(void)
{
	const uint32_t RW = MAP_READABLE | MAP_WRITEABLE;
	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open", fd);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioas != 0 && ioctl(fd, IOMMU_TEST_CMD, &ca) == 0, "IOAS_ALLOC, CREATE_ACCESS", 0);
	uint32_t acc = (uint32_t)ca.u[0];
	unsigned char got[32];

	/* written after the map: the fast path copies from the program, the slow path pins the page */
	unsigned char *a = anon(4 * PG);
	V(0, 0, "IOAS_MAP of untouched memory", map_at(fd, ioas, a, 4 * PG, 0x40000000, RW));
	memset(a, 0xab, 4 * PG);
	memset(got, 0, sizeof(got));
	int rc = access_rw(fd, acc, 0x40000000 + PG + 8, got, sizeof(got), 0);
	check(rc == 0 && got[0] == 0xab && got[31] == 0xab, "ACCESS_RW reads a page written after the map", got[0]);
	memset(got, 0, sizeof(got));
	rc = access_rw(fd, acc, 0x40000000 + PG + 72, got, sizeof(got), RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0xab && got[31] == 0xab, "ACCESS_RW's slow path reads it too, after the fast one", got[0]);
	memset(got, 0, sizeof(got));
	rc = access_rw(fd, acc, 0x40000000 + 3 * PG, got, sizeof(got), RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0xab && got[31] == 0xab, "ACCESS_RW's slow path on a page written after the map", got[0]);
	check(a[PG + 72] == 0xab && a[3 * PG + 31] == 0xab, "the program's memory still holds what it wrote", a[PG + 72]);

	/* read before the map (the zero page), written after it */
	unsigned char *z = anon(2 * PG);
	volatile unsigned char sink = z[0] + z[PG];
	(void)sink;
	V(0, 0, "IOAS_MAP of memory read before", map_at(fd, ioas, z, 2 * PG, 0x40100000, RW));
	z[0] = 0x44;
	z[PG + 9] = 0x45;
	rc = access_rw(fd, acc, 0x40100000, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x44, "ACCESS_RW's slow path on a zero page written after the map", got[0]);
	rc = access_rw(fd, acc, 0x40100000 + PG + 9, got, 1, 0);
	check(rc == 0 && got[0] == 0x45, "ACCESS_RW's fast path on a zero page written after the map", got[0]);

	/* a write through the slow path into a page the program touched after the map */
	unsigned char *w = anon(PG);
	V(0, 0, "IOAS_MAP of a page for a write", map_at(fd, ioas, w, PG, 0x40200000, RW));
	w[0] = 0x01;
	unsigned char put[4] = { 0x77, 0x78, 0x79, 0x7a };
	rc = access_rw(fd, acc, 0x40200000 + 8, put, sizeof(put), RW_WRITE | RW_SLOW_PATH);
	check(rc == 0 && w[0] == 0x01 && w[8] == 0x77 && w[11] == 0x7a, "ACCESS_RW's slow write lands beside the program's own", w[8]);

	/* read-only areas: pinned without FOLL_WRITE */
	unsigned char *r = anon(2 * PG);
	V(0, 0, "IOAS_MAP read-only of untouched memory", map_at(fd, ioas, r, 2 * PG, 0x40300000, MAP_READABLE));
	r[5] = 0x55;
	r[PG] = 0x56;
	rc = access_rw(fd, acc, 0x40300000 + 5, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x55, "ACCESS_RW's slow path on a read-only area written after the map", got[0]);

	/* a domain attached later pins every area; pages written before and after it */
	unsigned char *d = anon(2 * PG);
	V(0, 0, "IOAS_MAP before the domain", map_at(fd, ioas, d, 2 * PG, 0x40400000, RW));
	d[0] = 0x11;
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	V(0, 0, "MOCK_DOMAIN", ioctl(fd, IOMMU_TEST_CMD, &md));
	d[PG] = 0x22;
	rc = access_rw(fd, acc, 0x40400000, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x11, "ACCESS_RW of a page written before the attach", got[0]);
	rc = access_rw(fd, acc, 0x40400000 + PG, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x22, "ACCESS_RW of a page written after the attach", got[0]);
	rc = access_rw(fd, acc, 0x40300000 + PG, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x56, "ACCESS_RW of a read-only page the domain pinned", got[0]);

	/* with the domain there the map pins at once: a write after it lands in the pinned page */
	unsigned char *e = anon(2 * PG);
	V(0, 0, "IOAS_MAP with the domain attached", map_at(fd, ioas, e, 2 * PG, 0x40500000, RW));
	e[PG + 5] = 0x33;
	rc = access_rw(fd, acc, 0x40500000 + PG + 5, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 0x33, "ACCESS_RW of a page pinned by the map, then written", got[0]);

	/* after a fork the parent's write copies the page: the pin takes the parent's copy, the child keeps its own */
	unsigned char *f = anon(2 * PG);
	memset(f, 1, 2 * PG);
	V(0, 0, "IOAS_MAP before the fork", map_at(fd, ioas, f, 2 * PG, 0x40600000, MAP_READABLE));
	int p[2];
	check(pipe(p) == 0, "pipe", 0);
	pid_t c = fork();
	if (c == 0) {
		char x;
		_exit(read(p[0], &x, 1) == 1 && f[0] == 1 && f[PG] == 1 ? 0 : 3);
	}
	f[0] = 2;
	f[PG] = 3;
	rc = access_rw(fd, acc, 0x40600000, got, 1, RW_SLOW_PATH);
	check(rc == 0 && got[0] == 2, "ACCESS_RW's slow path on a page the parent wrote after the fork", got[0]);
	rc = access_rw(fd, acc, 0x40600000 + PG, got, 1, 0);
	check(rc == 0 && got[0] == 3, "ACCESS_RW's fast path on the other one", got[0]);
	check(write(p[1], "x", 1) == 1, "the child goes on", 0);
	int st = 0;
	check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child kept its own copies", st);
	return failed;
}
