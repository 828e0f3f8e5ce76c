// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deterministic sweep of memory calls (mmap of anonymous memory and of a
 * memfd, shared and private, populated or not; munmap, mprotect, madvise,
 * the program's own writes, fork) interleaved with IOAS_MAP and UNMAP over
 * those ranges, ACCESS_RW reads and writes (fast and slow path),
 * ACCESS_PAGES, a mock domain attached and destroyed, MD_CHECK_MAP/REFS.
 * Each call prints its result and a hash of what it read and of the memory
 * it touched, so two runs compare line by line: the oracle suite runs it on
 * Linux 6.12 and 7.2 and under exec with the matching profile and requires
 * the same output. Seven episodes (the seeds that once found ways exec lost
 * a frame's bytes; from the fourth on they also write and read the memfd
 * with pwrite/pread and read through the access into the program's memory;
 * the last two also mremap: resized in place, or moved with MREMAP_FIXED and
 * MREMAP_DONTUNMAP, the slots' states then read back from /proc/self/maps),
 * each from a fresh iommufd. Not a check
 * program: it prints, it does not judge.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "progs.h"
#define PG 4096UL
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define SLOTS 8
#define SLOT_PAGES 256
#define BASE 0x300000000000UL
#define IOVA0 0x40000000UL
#define IOMMU_IOAS_COPY _IO(T, 0x83)
#define TEST_OP_MD_CHECK_MAP 3
#define TEST_OP_DESTROY_ACCESS_PAGES 6


/* per slot page: 0 unmapped, 1 read-only, 2 read-write */
static unsigned char st[SLOTS][SLOT_PAGES];
static int fd, mfd;
static uint32_t ioas, access_id, stdev, hwpt;
struct tcmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static char *slot(int i) { return (char *)(BASE + (uint64_t)i * SLOT_PAGES * PG); }

static void mark(int sl, int p0, int n, int v)
{
	for (int p = p0; p < p0 + n && p < SLOT_PAGES; p++)
		st[sl][p] = v;
}

static int all(int sl, int p0, int n, int min)
{
	for (int p = p0; p < p0 + n; p++)
		if (p >= SLOT_PAGES || st[sl][p] < min)
			return 0;
	return 1;
}

/* the slots' page states from /proc/self/maps (after an mremap, whose outcome the sweep does not work out) */
static void resync(void)
{
	char line[512];
	memset(st, 0, sizeof(st));
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	const unsigned long lo = BASE, hi = BASE + SLOTS * SLOT_PAGES * PG;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char prot[5];
		if (sscanf(line, "%lx-%lx %4s", &a, &b, prot) != 3 || b <= lo || a >= hi)
			continue;
		for (unsigned long v = a < lo ? lo : a; v < b && v < hi; v += PG) {
			unsigned long k = (v - lo) / PG;
			st[k / SLOT_PAGES][k % SLOT_PAGES] = prot[0] != 'r' ? 0 : prot[1] == 'w' ? 2 : 1;
		}
	}
	fclose(f);
}

static long tc(struct tcmd *c)
{
	c->size = sizeof(*c);
	return ioctl(fd, IOMMU_TEST_CMD, c);
}

static void episode(unsigned seed, int ops)
{
	sweep_seed = seed * 2654435761ULL + 1;
	memset(st, 0, sizeof(st));
	stdev = hwpt = 0;
	munmap((void *)BASE, SLOTS * SLOT_PAGES * PG);
	mfd = memfd_create("mm", 0);
	ftruncate(mfd, SLOT_PAGES * PG);
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct tcmd ca = { .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	ca.u[0] = (uint64_t)(rnd() % 2) << 32; /* flags: MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
	printf("seed %u fd %d ioas %u access %ld\n", seed, fd, ioas, tc(&ca));
	access_id = (uint32_t)ca.u[0];
	static unsigned char buf[SLOT_PAGES * PG];
	for (int i = 0; i < 1500; i++) {
		int op = (int)(rnd() % (unsigned)ops), sl = rnd() % SLOTS, p0 = rnd() % SLOT_PAGES;
		int n = 1 + (rnd() % 4 ? rnd() % 8 : rnd() % SLOT_PAGES);
		if (p0 + n > SLOT_PAGES)
			n = SLOT_PAGES - p0;
		char *va = slot(sl) + p0 * PG;
		uint64_t iova = IOVA0 + ((uint64_t)sl * SLOT_PAGES + p0) * PG;
		long r = 0, h = 0;
		errno = 0;
		switch (op) {
		case 0: { /* mmap */
			int kind = rnd() % 4, prot = rnd() % 4 ? PROT_READ | PROT_WRITE : PROT_READ;
			int flags = MAP_FIXED | (kind == 1 || kind == 2 ? MAP_SHARED : MAP_PRIVATE) | (kind < 2 ? MAP_ANONYMOUS : 0);
			if (rnd() % 4 == 0)
				flags |= MAP_POPULATE;
			void *m = mmap(va, n * PG, prot, flags, kind < 2 ? -1 : mfd, kind < 2 ? 0 : (off_t)p0 * PG);
			r = m == MAP_FAILED ? -1 : 0;
			h = kind * 100 + prot * 10 + !!(flags & MAP_POPULATE);
			if (!r)
				mark(sl, p0, n, prot & PROT_WRITE ? 2 : 1);
			break;
		}
		case 1:
			r = munmap(va, n * PG);
			if (!r)
				mark(sl, p0, n, 0);
			break;
		case 2: case 3: /* CPU writes */
			if (all(sl, p0, n, 2)) {
				int v = rnd() % 256;
				for (int p = 0; p < n; p++)
					va[p * PG + (rnd() % PG)] = (char)v, va[p * PG] = (char)(v + p);
				r = 1;
			}
			break;
		case 4: { /* madvise */
			static const int adv[] = { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_POPULATE_WRITE, MADV_POPULATE_READ, MADV_DONTFORK, MADV_DOFORK, MADV_COLLAPSE };
			int a = adv[rnd() % 8];
			r = madvise(va, n * PG, a);
			h = a;
			break;
		}
		case 5: {
			int prot = rnd() % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
			r = mprotect(va, n * PG, prot);
			/* a failure at a hole leaves the mappings before it changed */
			for (int p = p0; p < p0 + n && st[sl][p]; p++)
				st[sl][p] = prot & PROT_WRITE ? 2 : 1;
			break;
		}
		case 6: case 7: { /* IOAS_MAP */
			struct ioas_map m = { .size = sizeof(m), .flags = 1 | 4 | (rnd() % 3 ? 2 : 0), .ioas_id = ioas, .user_va = (uintptr_t)va, .length = n * PG, .iova = iova };
			r = ioctl(fd, IOMMU_IOAS_MAP, &m);
			break;
		}
		case 8: {
			struct { uint32_t size, ioas_id; uint64_t iova, length; } u = { sizeof(u), ioas, iova, n * PG };
			r = ioctl(fd, IOMMU_IOAS_UNMAP, &u);
			h = (long)u.length;
			break;
		}
		case 9: { /* domain on/off */
			if (!stdev) {
				struct tcmd md = { .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
				r = tc(&md);
				if (!r)
					stdev = (uint32_t)md.u[0], hwpt = (uint32_t)(md.u[0] >> 32);
			} else {
				uint32_t d[2] = { 8, stdev };
				r = ioctl(fd, IOMMU_DESTROY, d);
				stdev = 0;
			}
			break;
		}
		case 10: case 11: { /* ACCESS_RW read, fast or slow */
			size_t len = (size_t)n * PG - (rnd() % 64);
			memset(buf, 0xee, len);
			uint64_t at = iova + (rnd() % 64);
			uint32_t fl = rnd() % 2 ? RW_SLOW_PATH : 0;
			r = access_rw(fd, access_id, at, buf, len, fl);
			h = (long)(fnv(buf, len) & ~1UL) | (fl ? 1 : 0);
			break;
		}
		case 12: { /* ACCESS_RW write from our buffer */
			for (size_t k = 0; k < 64; k++)
				buf[k] = (unsigned char)rnd();
			h = RW_WRITE | (rnd() % 2 ? RW_SLOW_PATH : 0);
			r = access_rw(fd, access_id, iova + 8, buf, 64, (uint32_t)h);
			break;
		}
		case 13: { /* ACCESS_PAGES, then drop them */
			struct tcmd c = { .op = TEST_OP_ACCESS_PAGES, .id = access_id };
			c.u[0] = rnd() % 2; /* flags: MOCK_FLAGS_ACCESS_WRITE */
			c.u[1] = iova;
			c.u[2] = n * PG;
			c.u[3] = (uint64_t)(uintptr_t)va; /* uptr */
			r = tc(&c);
			if (!r) {
				struct tcmd d = { .op = TEST_OP_DESTROY_ACCESS_PAGES, .id = access_id };
				d.u[0] = c.u[0] >> 32;
				h = tc(&d);
			}
			break;
		}
		case 14: { /* MD_CHECK_MAP / MD_CHECK_REFS */
			struct tcmd c = { .op = rnd() % 2 ? TEST_OP_MD_CHECK_MAP : TEST_OP_MD_CHECK_REFS, .id = hwpt };
			if (c.op == TEST_OP_MD_CHECK_MAP) {
				c.u[0] = iova;
				c.u[1] = n * PG;
				c.u[2] = (uint64_t)(uintptr_t)va;
			} else {
				c.u[0] = n * PG;
				c.u[1] = (uint64_t)(uintptr_t)va;
				c.u[2] = rnd() % 3;
			}
			h = c.op;
			r = tc(&c);
			break;
		}
		case 15: { /* fork: the child writes, maps and exits */
			pid_t c = fork();
			if (c == 0) {
				if (all(sl, p0, n, 2))
					va[0] = 0x5a;
				struct ioas_map m = { .size = sizeof(m), .flags = 1 | 2 | 4, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = n * PG, .iova = iova + 0x10000000 };
				_exit(ioctl(fd, IOMMU_IOAS_MAP, &m) ? errno : 0);
			}
			int ws = 0;
			waitpid(c, &ws, 0);
			r = WIFEXITED(ws) ? WEXITSTATUS(ws) : 255;
			break;
		}
		case 16: { /* pwrite to the memfd under its mappings */
			unsigned char b[64];
			for (int k = 0; k < 64; k++)
				b[k] = (unsigned char)rnd();
			r = pwrite(mfd, b, 64, (off_t)p0 * PG + (rnd() % (PG - 64)));
			break;
		}
		case 17: /* read(2) of the memfd into the program's memory */
			if (all(sl, p0, n, 2)) {
				r = pread(mfd, va + (rnd() % 64), 200, (off_t)(rnd() % SLOT_PAGES) * PG);
			} else
				r = -2;
			break;
		case 19: { /* mremap: resized in place, or moved with MREMAP_FIXED (and DONTUNMAP) elsewhere in the slots */
			int kind = rnd() % 4, dsl = rnd() % SLOTS, dp0 = rnd() % SLOT_PAGES;
			int nn = kind == 0 ? 1 + rnd() % 8 : kind == 1 ? n : 1 + rnd() % (n + 4);
			int lim = kind == 0 ? SLOT_PAGES - p0 : SLOT_PAGES - dp0;
			if (nn > lim)
				nn = lim;
			if (kind == 3 && nn > n)
				nn = n;
			char *to = slot(dsl) + dp0 * PG;
			void *m = kind == 0 ? mremap(va, n * PG, nn * PG, 0)
				: kind == 3 ? mremap(va, nn * PG, nn * PG, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to)
					    : mremap(va, n * PG, nn * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			r = m == MAP_FAILED ? -1 : (long)((char *)m - (char *)BASE);
			h = kind * 1000 + nn;
			resync();
			break;
		}
		case 18: /* an access read into the program's memory (copy_to_user) */
			if (all(sl, p0, 1, 2)) {
				uint64_t from = IOVA0 + ((uint64_t)(rnd() % SLOTS) * SLOT_PAGES + rnd() % SLOT_PAGES) * PG;
				h = rnd() % 2 ? RW_SLOW_PATH : 0;
				r = access_rw(fd, access_id, from, va + 16, 100, (uint32_t)h);
			} else
				r = -2;
			break;
		}
		int e = r < 0 ? errno : 0;
		/* the memory itself, where readable */
		uint64_t mh = 0;
		if (all(sl, p0, n, 1))
			mh = fnv(va, n * PG);
		printf("%d op %d slot %d p %d n %d -> %ld %d h %lx m %016llx\n", i, op, sl, p0, n, r, e, h, (unsigned long long)mh);
	}
	close((int)access_id);
	close(fd);
	close(mfd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the slots' range must be free (nothing of the program's there) */
	if (mmap((void *)BASE, SLOTS * SLOT_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0) != (void *)BASE) {
		printf("cannot map the slots\n");
		return 1;
	}
#ifdef SEED
	/* one episode, for probing new seeds: -DSEED=n -DNOPS=20 */
	episode(SEED, NOPS);
	printf("done\n");
	return 0;
#endif
	episode(1, 16);
	episode(4, 16);
	episode(5, 16);
	episode(101, 19);
	episode(103, 19);
	episode(7, 20);
	episode(9, 20);
	printf("done\n");
	return 0;
}
