/*
 * memfd seals (fcntl F_ADD_SEALS / F_GET_SEALS, mm/memfd.c) and what they
 * refuse: F_SEAL_GROW / F_SEAL_SHRINK a size change (shmem_setattr(),
 * shmem_fallocate(), shmem_write_begin() once per generic_perform_write()
 * step of up to 2 MiB), F_SEAL_WRITE every write and hole and every new
 * shared writable mapping (memfd_check_seals_mmap()); a first F_SEAL_WRITE
 * is EBUSY while a shared writable mapping exists or while an IOAS pins a
 * page of the file (memfd_wait_for_pins()). The same on 6.12.95 and 7.2.13.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "progs.h"
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x8U
#define MFD_EXEC 0x10U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x20
#endif
#define PG 4096
#define IOVA 0x40000000UL

static int fd;
static uint32_t ioas;

static int file_mode(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (int)(st.st_mode & 07777);
}

static long file_size(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	static char big[3 << 20];
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	check(ioas && !ioctl(fd, IOMMU_TEST_CMD, &md), "IOAS and mock domain", 0);

	int plain = memfd_create("plain", 0);
	V(F_SEAL_SEAL, 0, "a memfd without MFD_ALLOW_SEALING has F_SEAL_SEAL", fcntl(plain, F_GET_SEALS));
	V(-1, EPERM, "and takes no seal: EPERM", fcntl(plain, F_ADD_SEALS, F_SEAL_GROW));
	V(F_SEAL_EXEC, 0, "MFD_NOEXEC_SEAL: F_SEAL_EXEC", fcntl(memfd_create("nx", MFD_NOEXEC_SEAL), F_GET_SEALS));
	int m = memfd_create("m", MFD_ALLOW_SEALING);
	V(0, 0, "MFD_ALLOW_SEALING: no seal", fcntl(m, F_GET_SEALS));
	V(-1, EINVAL, "an unknown seal: EINVAL", fcntl(m, F_ADD_SEALS, 0x40));
	V(-1, EINVAL, "F_GET_SEALS of /dev/iommu: EINVAL", fcntl(fd, F_GET_SEALS));
	V(-1, EINVAL, "F_ADD_SEALS of /dev/iommu: EINVAL", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));

	ftruncate(m, 16 * PG);
	memset(mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0), 0x5a, 16 * PG);
	V(0, 0, "F_SEAL_GROW | F_SEAL_SHRINK", fcntl(m, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK));
	V(F_SEAL_GROW | F_SEAL_SHRINK, 0, "both are set", fcntl(m, F_GET_SEALS));
	V(-1, EPERM, "ftruncate larger: EPERM", ftruncate(m, 32 * PG));
	V(-1, EPERM, "ftruncate smaller: EPERM", ftruncate(m, 8 * PG));
	V(0, 0, "ftruncate to the same size", ftruncate(m, 16 * PG));
	V(-1, EPERM, "fallocate past the end: EPERM", fallocate(m, 0, 15 * PG, 2 * PG));
	V(-1, EPERM, "fallocate past the end with KEEP_SIZE: EPERM", fallocate(m, FALLOC_FL_KEEP_SIZE, 15 * PG, 2 * PG));
	V(0, 0, "fallocate inside", fallocate(m, 0, 0, 16 * PG));
	V(0, 0, "PUNCH_HOLE (no write seal)", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PG));
	V(100, 0, "pwrite inside", pwrite(m, big, 100, 100));
	V(-1, EPERM, "pwrite over the end: EPERM, nothing written", pwrite(m, big, 2 * PG, 15 * PG - 100));
	V(-1, EPERM, "pwrite at the end: EPERM", pwrite(m, big, 10, 16 * PG));
	check(file_size(m) == 16 * PG, "the size stays", file_size(m));

	int g = memfd_create("g", MFD_ALLOW_SEALING);
	ftruncate(g, 3 << 20);
	fcntl(g, F_ADD_SEALS, F_SEAL_GROW);
	V(3 << 20, 0, "F_SEAL_GROW: a 3 MiB pwrite up to the end", pwrite(g, big, 3 << 20, 0));
	V(2 << 20, 0, "2 MiB from 1 MiB: steps of 1 MiB and 1 MiB, both inside", pwrite(g, big, 2 << 20, 1 << 20));
	V(PG, 0, "1 MiB + 8 KiB from 2 MiB - 4 KiB: the step at 2 MiB passes the end", pwrite(g, big, (1 << 20) + 2 * PG, (2 << 20) - PG));

	V(-1, EBUSY, "F_SEAL_WRITE with a shared writable mapping: EBUSY", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	V(F_SEAL_GROW | F_SEAL_SHRINK, 0, "the seals are as they were", fcntl(m, F_GET_SEALS));

	/* a page of the file pinned by the IOAS, its mapping gone */
	int m2 = memfd_create("m2", MFD_ALLOW_SEALING);
	ftruncate(m2, 16 * PG);
	pwrite(m2, big, 16 * PG, 0);
	char *ro = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, m2, 0);
	struct ioas_map im = { .size = sizeof(im), .flags = MAP_FIXED_IOVA | MAP_READABLE, .ioas_id = ioas, .user_va = (uintptr_t)ro, .length = 16 * PG, .iova = IOVA };
	V(0, 0, "IOAS_MAP of a shared read-only mapping pins the file's pages", ioctl(fd, IOMMU_IOAS_MAP, &im));
	munmap(ro, 16 * PG);
	V(-1, EBUSY, "F_SEAL_WRITE while pinned: EBUSY", fcntl(m2, F_ADD_SEALS, F_SEAL_WRITE));
	struct { uint32_t size, ioas_id; uint64_t iova, length; } un = { sizeof(un), ioas, 0, ~0ULL };
	V(0, 0, "IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &un));
	V(0, 0, "F_SEAL_WRITE once unpinned", fcntl(m2, F_ADD_SEALS, F_SEAL_WRITE));
	V(F_SEAL_WRITE, 0, "F_SEAL_WRITE is set", fcntl(m2, F_GET_SEALS));
	V(-1, EPERM, "pwrite: EPERM", pwrite(m2, big, 10, 0));
	V(-1, EPERM, "PUNCH_HOLE: EPERM", fallocate(m2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PG));
	V(0, 0, "ftruncate (no size seal)", ftruncate(m2, 32 * PG));
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, m2, 0) == MAP_FAILED && errno == EPERM, "a shared writable mapping: EPERM", errno);
	ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, m2, 0);
	check(ro != MAP_FAILED, "a shared read-only mapping", 0);
	V(-1, EACCES, "mprotect of it to writable: EACCES", mprotect(ro, PG, PROT_READ | PROT_WRITE));
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, m2, 0) != MAP_FAILED, "a private writable mapping", errno);
	im.user_va = (uintptr_t)ro;
	im.length = PG;
	V(0, 0, "IOAS_MAP of the read-only mapping", ioctl(fd, IOMMU_IOAS_MAP, &im));

	int m3 = memfd_create("m3", MFD_ALLOW_SEALING);
	ftruncate(m3, 2 * PG);
	volatile char *w3 = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m3, 0);
	V(0, 0, "F_SEAL_FUTURE_WRITE with a shared writable mapping", fcntl(m3, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	w3[0] = 9;
	check(w3[0] == 9, "that mapping still writes", w3[0]);
	V(-1, EPERM, "pwrite: EPERM", pwrite(m3, big, 1, 0));
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, m3, 0) == MAP_FAILED && errno == EPERM, "a new shared writable mapping: EPERM", errno);
	V(0, 0, "F_SEAL_SEAL", fcntl(m3, F_ADD_SEALS, F_SEAL_SEAL));
	V(-1, EPERM, "then no seal: EPERM", fcntl(m3, F_ADD_SEALS, F_SEAL_GROW));

	int x = memfd_create("x", MFD_ALLOW_SEALING);
	V(0, 0, "F_SEAL_EXEC on an executable memfd", fcntl(x, F_ADD_SEALS, F_SEAL_EXEC));
	V(F_SEAL_EXEC | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE, 0, "brings the write and size seals", fcntl(x, F_GET_SEALS));

	/* the mode: shmem_setattr() keeps F_SEAL_EXEC's x bits; setattr_prepare() wants the owner */
	V(-1, EPERM, "chmod 0644 of it: EPERM (the x bits)", fchmod(x, 0644));
	V(0, 0, "chmod 04755 (the same x bits)", fchmod(x, 04755));
	check(file_mode(x) == 04755, "its mode is 04755", file_mode(x));
	int nx = memfd_create("nx", MFD_NOEXEC_SEAL);
	check(file_mode(nx) == 0666, "MFD_NOEXEC_SEAL: mode 0666", file_mode(nx));
	V(-1, EPERM, "chmod 0755 of it: EPERM", fchmod(nx, 0755));
	V(0, 0, "chmod 0644 of it", fchmod(nx, 0644));
	check(file_mode(nx) == 0644, "its mode is 0644", file_mode(nx));
	char link[64];
	struct stat ls;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", nx);
	check(!stat(link, &ls) && (ls.st_mode & 07777) == 0644, "and so says stat of /proc/self/fd/N", (long)ls.st_mode);
	int hx = memfd_create("hx", MFD_HUGETLB | MFD_NOEXEC_SEAL);
	V(0, 0, "chmod 0755 of an MFD_NOEXEC_SEAL hugetlb memfd (hugetlbfs_setattr() checks no seal)", fchmod(hx, 0755));
	pid_t k = fork();
	if (k == 0) {
		if (setuid(1000))
			_exit(2);
		int own = memfd_create("own", 0);
		_exit(fchmod(own, 0700) || !fchmod(nx, 0600) || errno != EPERM ? 1 : 0);
	}
	int st = -1;
	waitpid(k, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "after setuid(1000) a child may chmod its own memfd, not root's (EPERM)", st);
	return failed;
}
