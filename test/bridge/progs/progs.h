/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the bridge's test programs share: the iommufd ioctl numbers and
 * structs they use (include/uapi/linux/iommufd.h, iommufd_test.h), one
 * "ok WHAT" / "FAIL WHAT" line per check, IOMMU_IOAS_ALLOC, and reading a
 * field of a /proc text file (or of a VMA's smaps block) or writing a knob.
 */
#ifndef BRIDGE_PROGS_H
#define BRIDGE_PROGS_H
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define T ';'
#define IOMMU_DESTROY _IO(T, 0x80)
#define IOMMU_IOAS_ALLOC _IO(T, 0x81)
#define IOMMU_IOAS_MAP _IO(T, 0x85)
#define IOMMU_IOAS_UNMAP _IO(T, 0x86)
#define IOMMU_IOAS_MAP_FILE _IO(T, 0x8f)
#define IOMMU_IOAS_CHANGE_PROCESS _IO(T, 0x92)
#define IOMMU_TEST_CMD _IO(T, 0xa0)
#define TEST_OP_MOCK_DOMAIN 2
#define TEST_OP_MD_CHECK_MAP 3
#define TEST_OP_MD_CHECK_REFS 4
#define TEST_OP_CREATE_ACCESS 5
#define TEST_OP_ACCESS_PAGES 7
#define TEST_OP_ACCESS_RW 8

/* IOMMU_IOAS_MAP's flags */
#define MAP_FIXED_IOVA 1
#define MAP_WRITEABLE 2
#define MAP_READABLE 4

struct ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct ioas_map { uint32_t size, flags, ioas_id, reserved; uint64_t user_va, length, iova; };
struct ioas_unmap { uint32_t size, ioas_id; uint64_t iova, length; };
struct ioas_map_file { uint32_t size, flags, ioas_id; int32_t fd; uint64_t start, length, iova; };
/* IOMMU_TEST_CMD of TEST_OP_MOCK_DOMAIN: its outputs, and room for the largest union member */
struct test_cmd_md {
	uint32_t size, op, id, reserved;
	uint32_t out_stdev_id, out_hwpt_id, out_idev_id;
	uint32_t pad[57];
};

/* IOMMU_TEST_OP_ACCESS_RW's flags (MOCK_ACCESS_RW_*) */
#define RW_WRITE (1 << 0)
#define RW_SLOW_PATH (1 << 2)

static int failed;

static __attribute__((unused)) void check(int cond, const char *what, long got)
{
	if (cond)
		printf("ok %s\n", what);
	else {
		printf("FAIL %s (got %ld, errno %d)\n", what, got, errno);
		failed = 1;
	}
	fflush(stdout);
}

/* the call answers `want` (>= 0), or -1 with errno `err` */
static __attribute__((unused)) void check_rc(long got, long want, int err, const char *what)
{
	int e = errno;
	check(want >= 0 ? got == want : got == -1 && e == err, what, got);
}

/* V(want, err, what, call): run `call` with errno cleared and check_rc() its answer */
#define V(want, err, what, call)              \
	do {                                  \
		errno = 0;                    \
		long r_ = (long)(call);       \
		check_rc(r_, want, err, what); \
	} while (0)

/*
 * The printing programs' line (their output is compared with the kernels' line by line): what was
 * done, its result, and errno when it failed.
 */
static __attribute__((unused)) void said(const char *what, long r)
{
	printf("%s -> %ld %d\n", what, r, r < 0 ? errno : 0);
	fflush(stdout);
}

/* SAID(what, call): run `call` with errno cleared and print its line */
#define SAID(what, call)                \
	do {                            \
		errno = 0;              \
		said(what, (long)(call)); \
	} while (0)

/* The number after "key:" on its line of the text file at `path` (/proc/self/status, /proc/meminfo); -1 if absent, -2 if unreadable. */
static __attribute__((unused)) long file_field(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	size_t k = strlen(key);
	FILE *f = fopen(path, "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':')
			v = strtol(line + k + 1, NULL, 10);
	fclose(f);
	return v;
}

/* The same through a descriptor opened earlier (a process that dropped to another uid may not open /proc again). */
static __attribute__((unused)) long fd_field(int fd, const char *key)
{
	char buf[4096];
	long n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, strlen(key)) && l[strlen(key)] == ':')
			return strtol(l + strlen(key) + 1, NULL, 10);
	return -1;
}

/*
 * This program's own command line (/proc/self/cmdline) in args[0..max-2], NULL after it: what a
 * program runs again through /proc/self/exe (in the VMs' multicall binary, its number is among them).
 */
static __attribute__((unused)) void self_cmdline(char **args, int max)
{
	static char cmd[4096];
	int cl = open("/proc/self/cmdline", O_RDONLY);
	ssize_t n = read(cl, cmd, sizeof(cmd) - 1);
	close(cl);
	int ac = 0;
	for (ssize_t i = 0; i < n && ac < max - 1; i += strlen(cmd + i) + 1)
		args[ac++] = cmd + i;
	args[ac] = NULL;
}

/* Write `v` to the file at `path`: the bytes taken, or -errno (of the open or the write). */
static __attribute__((unused)) int write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	int n = write(fd, v, strlen(v));
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

/*
 * fail-nth set up as the kernel's iommufd_fail_nth selftest sets it up: sleeping allocations counted too
 * (failslab's and fail_page_alloc's ignore-gfp-wait N); the calling thread's fail-nth file, open.
 */
static __attribute__((unused)) int nth_open(void)
{
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	return open("/proc/thread-self/fail-nth", O_RDWR);
}

/* ignore-gfp-wait back to its default (Y) */
static __attribute__((unused)) void nth_done(void)
{
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "Y");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "Y");
}

/*
 * fail-nth through `nth` (/proc/thread-self/fail-nth, open): `call` run with the thread's n-th fault point
 * armed, then disarmed; its result, with its errno in *err and in *fired whether the point was reached.
 */
static __attribute__((unused)) int nth_call(int nth, int n, int (*call)(void), int *err, int *fired)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%d", n);
	pwrite(nth, b, l, 0);
	errno = 0;
	int r = call();
	*err = r < 0 ? errno : 0;
	memset(b, 0, sizeof(b));
	pread(nth, b, sizeof(b) - 1, 0);
	*fired = atoi(b) == 0;
	pwrite(nth, "0", 1, 0);
	return r;
}

/*
 * nth_call() tried until two tries agree (at most three), `after` run once disarmed after each try (to undo
 * what a success made): the kernel's slab allocator now and then makes an allocation of its own inside a
 * counted one (a CPU's cache refilled, a new slab page), one more point that fires without failing, at a
 * place that depends on the slab's state; two tries in three do not meet it. A third try unlike both is said.
 */
static __attribute__((unused)) int nth_vote(int nth, int n, int (*call)(void), void (*after)(int), int *err, int *fired)
{
	int r[3], e[3], f[3], k;
	for (k = 0; k < 3; k++) {
		r[k] = nth_call(nth, n, call, &e[k], &f[k]);
		after(r[k]);
		if (k == 1 && r[0] == r[1] && e[0] == e[1] && f[0] == f[1])
			break;
	}
	k = k == 3 ? 2 : 1;
	if (k == 2 && !(r[2] == r[0] && e[2] == e[0] && f[2] == f[0]) && !(r[2] == r[1] && e[2] == e[1] && f[2] == f[1]))
		printf("fail-nth %d: three different tries\n", n);
	*err = e[k];
	*fired = f[k];
	return r[k];
}

/*
 * Fail the 1st, 2nd, ... fault point of `call` until one is not reached, a line per n: "what n=N -> result
 * errno, fired F". With `after`, each n goes through nth_vote() (`after` undoing what a try made).
 */
static __attribute__((unused)) void nth_sweep(int nth, const char *what, int (*call)(void), void (*after)(int))
{
	for (int n = 1; n < 100; n++) {
		int e, fired;
		int r = after ? nth_vote(nth, n, call, after, &e, &fired) : nth_call(nth, n, call, &e, &fired);
		printf("%s n=%d -> %d %d, fired %d\n", what, n, r, e, fired);
		if (!fired)
			return;
	}
}

/* The number of /proc/self/maps lines inside [lo, hi). */
static __attribute__((unused)) int vmas_in(unsigned long lo, unsigned long hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s >= lo && e <= hi)
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* The value (kB) of `key` in the smaps block of the VMA holding `va`; -1 if absent. `flags` gets VmFlags. */
static __attribute__((unused)) long smaps_field(void *va, const char *key, char *flags)
{
	char line[512];
	int in = 0;
	long v = -1;
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char c;
		if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)va >= s && (uintptr_t)va < e;
			continue;
		}
		if (!in)
			continue;
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
		if (flags && !strncmp(line, "VmFlags:", 8))
			strcpy(flags, line + 8);
	}
	fclose(f);
	return v;
}

static __attribute__((unused)) uint32_t ioas_alloc(int fd)
{
	struct ioas_alloc a = { .size = sizeof(a) };
	return ioctl(fd, IOMMU_IOAS_ALLOC, &a) ? 0 : a.out_ioas_id;
}

/* IOMMU_IOAS_CHANGE_PROCESS: the context's pins move to the calling process's mm (7.2; 6.12: ENOTTY) */
static __attribute__((unused)) int ioas_change_process(int fd)
{
	struct { uint32_t size, reserved; } cp = { sizeof(cp), 0 };
	return ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cp);
}

/* IOMMU_TEST_OP_ACCESS_RW through access `access`: `len` bytes between IOVA `iova` and `uptr` */
static __attribute__((unused)) int access_rw(int fd, uint32_t access, uint64_t iova, void *uptr, uint64_t len, uint32_t flags)
{
	/* struct iommu_test_cmd's access_rw: iova, length, uptr, __u32 flags */
	struct { uint32_t size, op, id, reserved; uint64_t iova, length, uptr; uint32_t flags, pad[53]; } c = {
		.size = sizeof(c), .op = TEST_OP_ACCESS_RW, .id = access, .iova = iova, .length = len, .uptr = (uintptr_t)uptr, .flags = flags,
	};
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

/* FNV-1a of n bytes at p: the sweeps print it for what a call read or left in memory */
static __attribute__((unused)) uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* IOMMU_TEST_CMD of MD_CHECK_MAP / MD_CHECK_REFS: the header and the union as u64 words */
struct md_check_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

/* MD_CHECK_MAP: domain `hwpt` maps [iova, iova + len) to the pages at va now */
static __attribute__((unused)) int md_check_map(int fd, uint32_t hwpt, uint64_t iova, const void *va, uint64_t len)
{
	struct md_check_cmd c = { .size = sizeof(c), .op = TEST_OP_MD_CHECK_MAP, .id = hwpt };
	c.u[0] = iova;
	c.u[1] = len;
	c.u[2] = (uintptr_t)va;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

/* MD_CHECK_REFS: each page at va holds `refs` pins */
static __attribute__((unused)) int md_check_refs(int fd, const void *va, uint64_t len, uint32_t refs)
{
	struct md_check_cmd c = { .size = sizeof(c), .op = TEST_OP_MD_CHECK_REFS };
	c.u[0] = len;
	c.u[1] = (uintptr_t)va;
	c.u[2] = refs;
	return ioctl(fd, IOMMU_TEST_CMD, &c);
}

/*
 * /dev/iommu with an IOAS, and on it a fault queue and an access, each allocation's line said (the
 * programs that run calls on each kind of model file): the iommufd.
 */
static __attribute__((unused)) int model_files(int *fault_fd, int *access_fd)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	SAID("FAULT_QUEUE_ALLOC", ioctl(fd, _IO(T, 0x8e), &fa));
	struct md_check_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	SAID("CREATE_ACCESS", ioctl(fd, IOMMU_TEST_CMD, &ca));
	*fault_fd = (int)fa.out_fault_fd;
	*access_fd = (int)ca.u[0];
	return fd;
}

/* The sweeps' xorshift stream: sweep_seed is each program's own fixed seed, set before the first draw. */
static __attribute__((unused)) uint64_t sweep_seed;
static __attribute__((unused)) uint64_t rnd(void)
{
	sweep_seed ^= sweep_seed << 13;
	sweep_seed ^= sweep_seed >> 7;
	sweep_seed ^= sweep_seed << 17;
	return sweep_seed;
}
/* a value of the array `a`, drawn */
#define PICK(a) (a[rnd() % (sizeof(a) / sizeof(a[0]))])

/*
 * The sweeps' buffers, at fixed addresses so that both runs see the same ones: 4 MiB at `ua`, populated,
 * every 64th byte its index, and 64 KiB at `ub` for what a call writes out. 0, or -1 with a line said.
 */
static __attribute__((unused)) int sweep_buffers(uint64_t ua, uint64_t ub)
{
	if (mmap((void *)ua, 0x400000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE, -1, 0) != (void *)ua ||
	    mmap((void *)ub, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)ub) {
		printf("cannot map the buffers\n");
		return -1;
	}
	for (int i = 0; i < 0x400000; i += 64)
		((uint8_t *)ua)[i] = (uint8_t)(i >> 6);
	return 0;
}

#endif
