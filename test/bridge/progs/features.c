// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the kernel selftests need beyond plain ioctls, checked through the
 * bridge: fork (the model forks first), exec with an inherited iommufd,
 * emulated hugetlb, VmPin from the model's accounting, fail-nth, the THP size
 * file. One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "after-exec")) {
		/* the new image still has the iommufd it inherited */
		int fd = atoi(argv[2]);
		uint32_t id = ioas_alloc(fd);
		printf("%s after exec: IOAS_ALLOC on the inherited fd -> id %u\n", id ? "ok" : "FAIL", id);
		return id ? 0 : 1;
	}

	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open", fd);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas != 0, "IOAS_ALLOC", ioas);

	/* THP size as the model reports it */
	char buf[64] = "";
	int tfd = open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", O_RDONLY);
	long n = read(tfd, buf, sizeof(buf) - 1);
	close(tfd);
	check(n > 0 && atol(buf) == 2 * 1024 * 1024, "hpage_pmd_size", n);
	FILE *te = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	memset(buf, 0, sizeof(buf));
	check(te && fgets(buf, sizeof(buf), te) && !strcmp(buf, "[always] madvise never\n"), "THP enabled: always, the model machine's mode as the oracle VMs boot", 0);
	if (te)
		fclose(te);

	/* hugetlb without huge pages configured: emulated */
	size_t hsz = 2 * 1024 * 1024;
	char *h = mmap(NULL, hsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	check(h != MAP_FAILED && ((uintptr_t)h % hsz) == 0, "MAP_HUGETLB mapping, 2 MiB aligned", (long)(uintptr_t)h);
	memset(h, 0x11, hsz);
	check(munmap(h + 4096, 4096) == -1 && errno == EINVAL, "munmap inside a huge page -> EINVAL", 0);

	/* a hugetlb memfd: the model's folios are 2 MiB, the real file is shmem placed like hugetlb */
	int hfd = memfd_create("bridge-huge", MFD_HUGETLB);
	check(hfd >= 0 && ftruncate(hfd, hsz) == 0, "MFD_HUGETLB memfd + ftruncate 2 MiB", hfd);
	check(ftruncate(hfd, 4096) == -1 && errno == EINVAL, "ftruncate of a hugetlb memfd to 4 KiB -> EINVAL", 0);
	char *hm = mmap(NULL, hsz, PROT_READ | PROT_WRITE, MAP_SHARED, hfd, 0);
	check(hm != MAP_FAILED && ((uintptr_t)hm % hsz) == 0, "mmap of the hugetlb memfd, 2 MiB aligned", (long)(uintptr_t)hm);
	memset(hm, 0x33, hsz);

	/* a mock domain: maps now pin, and VmPin shows it */
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	int rc = ioctl(fd, IOMMU_TEST_CMD, &md);
	check(rc == 0 && md.u[0] != 0, "MOCK_DOMAIN", rc);
	long pin0 = file_field("/proc/self/status", "VmPin");
	char *b = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(b, 0x22, 1 << 20);
	struct ioas_map m = { .size = sizeof(m), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)b, .length = 1 << 20 };
	rc = ioctl(fd, IOMMU_IOAS_MAP, &m);
	check(rc == 0, "IOAS_MAP with a domain", rc);
	long pin1 = file_field("/proc/self/status", "VmPin");
	check(pin1 - pin0 == 1024, "VmPin grows by the pinned 1 MiB", pin1 - pin0);
	m.user_va = (uintptr_t)h;
	m.length = hsz;
	rc = ioctl(fd, IOMMU_IOAS_MAP, &m);
	check(rc == 0, "IOAS_MAP of the hugetlb mapping", rc);

	/* a pinned memfd page whose mapping is gone is still the file's page: DMA sees later writes to the file */
	int mfd = memfd_create("bridge-test", 0);
	check(mfd >= 0 && ftruncate(mfd, 4 * 4096) == 0, "memfd_create + ftruncate", mfd);
	char *mp = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(mp, 0xaa, 4 * 4096);
	struct ioas_map mm2 = { .size = sizeof(mm2), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)mp, .length = 4 * 4096 };
	check(ioctl(fd, IOMMU_IOAS_MAP, &mm2) == 0, "IOAS_MAP of the memfd mapping", 0);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas, .u = { 0, 1 /* NEEDS_PIN_PAGES */ } };
	rc = ioctl(fd, IOMMU_TEST_CMD, &ca);
	check(rc == 0 && fcntl((int)ca.u[0], F_GETFD) >= 0, "CREATE_ACCESS: its fd is open in the program", rc);
	/* the access pins the second page (the xarray tier holds it) */
	struct test_cmd ap = { .size = sizeof(ap), .op = TEST_OP_ACCESS_PAGES, .id = ca.u[0] };
	uint64_t p64[3] = { mm2.iova + 4096, 4096, (uintptr_t)mp + 4096 };
	memcpy(&ap.u[2], p64, sizeof(p64));
	rc = ioctl(fd, IOMMU_TEST_CMD, &ap);
	check(rc == 0, "ACCESS_PAGES", rc);
	munmap(mp, 4 * 4096);
	char pat[16], got[16];
	memset(pat, 0x55, sizeof(pat));
	check(pwrite(mfd, pat, sizeof(pat), 4096) == sizeof(pat), "write(2) to the memfd", 0);
	struct test_cmd rw = { .size = sizeof(rw), .op = TEST_OP_ACCESS_RW, .id = ca.u[0] };
	/* across a page boundary: the slow path reads the PFNs the domain holds */
	uint64_t a64[3] = { mm2.iova + 4096 - 8, sizeof(got), (uintptr_t)got };
	memcpy(&rw.u[0], a64, sizeof(a64));
	rw.u[6] = 1 << 2; /* MOCK_ACCESS_RW_SLOW_PATH: through the pinned page, not copy_from_user */
	memset(got, 0, sizeof(got));
	rc = ioctl(fd, IOMMU_TEST_CMD, &rw);
	char want[16];
	memset(want, 0xaa, 8);
	memset(want + 8, 0x55, 8);
	check(rc == 0 && !memcmp(got, want, sizeof(got)), "ACCESS_RW reads what was written to the file", rc);

	/* mremap moves memory: the old range is gone for the model too (EFAULT once a domain pins) */
	char *mv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, 16384, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(mv, 0x77, 8192);
	char *moved = mremap(mv, 8192, 16384, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	check(moved == dst && moved[100] == 0x77, "mremap moves the pages", (long)(uintptr_t)moved);
	struct ioas_map om = { .size = sizeof(om), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)mv, .length = 8192 };
	rc = ioctl(fd, IOMMU_IOAS_MAP, &om);
	check(rc == -1 && errno == EFAULT, "IOAS_MAP of the old range -> EFAULT", rc);
	om.user_va = (uintptr_t)moved;
	om.length = 16384;
	check(ioctl(fd, IOMMU_IOAS_MAP, &om) == 0, "IOAS_MAP of the new range", 0);

	/* fork: the child shares the iommufd; its objects are seen by the parent */
	pid_t child = fork();
	if (child == 0) {
		uint32_t id = ioas_alloc(fd);
		_exit(id > ioas ? 42 : 1);
	}
	int st = 0;
	waitpid(child, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "child allocates on the inherited iommufd", st);
	uint32_t next = ioas_alloc(fd);
	check(next > ioas + 1, "the parent sees the child's object", next);

	/* fail-nth: the first fault point of the next call fails */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", getpid());
	int nth = open(path, O_RDWR);
	check(nth >= 0, "open fail-nth", nth);
	/* with the kernel's default knobs, slab allocations that may sleep are not injected */
	check(write(nth, "1", 1) == 1, "arm fail-nth", 0);
	struct ioas_alloc a = { .size = sizeof(a) };
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	check(rc == 0, "failslab/ignore-gfp-wait=Y: IOAS_ALLOC passes", rc);
	check(pread(nth, buf, sizeof(buf), 0) == 2 && buf[0] == '1', "fail-nth still armed", 0);
	int knob = open("/sys/kernel/debug/failslab/ignore-gfp-wait", O_WRONLY);
	check(knob >= 0 && write(knob, "N", 1) == 1, "debugfs failslab/ignore-gfp-wait = N", knob);
	close(knob);
	check(write(nth, "1", 1) == 1, "arm fail-nth again", 0);
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &a);
	check(rc == -1 && errno == ENOMEM, "IOAS_ALLOC fails with ENOMEM", rc);
	memset(buf, 0, sizeof(buf));
	check(pread(nth, buf, sizeof(buf), 0) == 2 && !strcmp(buf, "0\n"), "fail-nth reads 0 after firing", 0);
	close(nth);

	/* capabilities are the model's (the test starts the program with none) */
	struct { uint32_t version; int pid; } ch = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } cd[2];
	rc = syscall(SYS_capget, &ch, cd);
	check(rc == 0 && cd[0].eff == 0 && cd[1].eff == 0, "capget reports the model's capabilities", cd[0].eff);
	cd[0].eff = cd[0].perm = 1u << 14; /* CAP_IPC_LOCK */
	rc = syscall(SYS_capset, &ch, cd);
	check(rc == -1 && errno == EPERM, "capset cannot raise a capability -> EPERM", rc);

	/* exec keeps a descriptor without close-on-exec */
	child = fork();
	if (child == 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", fd);
		/* an empty environment: the bridge's variables come back */
		char *const noenv[] = { NULL };
		execle("/proc/self/exe", argv[0], "after-exec", num, (char *)NULL, noenv);
		_exit(3);
	}
	waitpid(child, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child used the inherited iommufd", st);
	return failed;
}
