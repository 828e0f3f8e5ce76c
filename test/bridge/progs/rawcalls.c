// SPDX-License-Identifier: GPL-2.0-only
/*
 * The calls a program makes through syscall(2) instead of libc's wrappers:
 * openat, ioctl, dup/dup3/fcntl(F_DUPFD_CLOEXEC), close, mmap, munmap,
 * madvise(MADV_DONTNEED) and close_range over every descriptor from 3 up
 * (the usual way to close them all). Under exec each must reach what the
 * wrapper would: the model's descriptor closed, its mapping gone (a map
 * over it pins nothing: EFAULT), its page dropped (the pin takes a zeroed
 * one). Last, what libc closes inside itself: closefrom() and fclose() of
 * a stream fopen() made over /dev/iommu. One line per check; exit 0 when
 * all passed.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>

#include "progs.h"

#define PG 4096
#define IOVA 0x40000000UL

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static long raw_alloc(long fd)
{
	struct ioas_alloc a = { .size = sizeof(a) };
	long rc = syscall(SYS_ioctl, fd, IOMMU_IOAS_ALLOC, &a);
	return rc ? rc : (long)a.out_ioas_id;
}

static long raw_map(long fd, uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct ioas_map m = { .size = sizeof(m), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return syscall(SYS_ioctl, fd, IOMMU_IOAS_MAP, &m);
}

int main(void)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/dev/iommu", O_RDWR);
	check(fd >= 0, "openat(/dev/iommu)", fd);
	V(1, 0, "IOAS_ALLOC through syscall(SYS_ioctl)", raw_alloc(fd));

	/* one open file, more descriptors: closing the first keeps the file */
	long d = syscall(SYS_dup, fd);
	check(d >= 0, "dup", d);
	V(0, 0, "close of the first descriptor", syscall(SYS_close, fd));
	V(-1, EBADF, "IOAS_ALLOC on the closed descriptor", raw_alloc(fd));
	V(2, 0, "IOAS_ALLOC on the duplicate: the same context", raw_alloc(d));
	V(50, 0, "dup3 to 50, O_CLOEXEC", syscall(SYS_dup3, d, 50, O_CLOEXEC));
	V(FD_CLOEXEC, 0, "descriptor 50 is close-on-exec", fcntl(50, F_GETFD));
	long f = syscall(SYS_fcntl, d, F_DUPFD_CLOEXEC, 60);
	check(f >= 60, "F_DUPFD_CLOEXEC from 60", f);
	V(3, 0, "IOAS_ALLOC on descriptor 50", raw_alloc(50));

	/* with a domain attached a map pins at once: a raw munmap takes the range away from later maps */
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = 1 };
	V(0, 0, "MOCK_DOMAIN on IOAS 1", syscall(SYS_ioctl, d, IOMMU_TEST_CMD, &md));
	unsigned char *a = (unsigned char *)syscall(SYS_mmap, 0, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(a != MAP_FAILED, "mmap", (long)a);
	memset(a, 0xab, 8 * PG);
	V(0, 0, "IOAS_MAP of the first 4 pages", raw_map(d, 1, a, 4 * PG, IOVA));
	V(0, 0, "munmap of them", syscall(SYS_munmap, a, 4 * PG));
	V(-1, EFAULT, "IOAS_MAP of the unmapped pages", raw_map(d, 1, a, 4 * PG, IOVA + 0x100000));

	/* a raw MADV_DONTNEED drops the page: what a pin takes afterwards is a fresh zero-filled one */
	V(0, 0, "madvise(MADV_DONTNEED) of page 5", syscall(SYS_madvise, a + 5 * PG, PG, MADV_DONTNEED));
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = 1 };
	V(0, 0, "CREATE_ACCESS", syscall(SYS_ioctl, d, IOMMU_TEST_CMD, &ca));
	uint32_t acc = (uint32_t)ca.u[0];
	V(0, 0, "IOAS_MAP of pages 4-7", raw_map(d, 1, a + 4 * PG, 4 * PG, IOVA + 0x200000));
	unsigned char got[16];
	memset(got, 0x55, sizeof(got));
	V(0, 0, "ACCESS_RW read of page 5", access_rw(d, acc, IOVA + 0x200000 + PG + 8, got, sizeof(got), 0));
	check(got[0] == 0 && got[15] == 0, "page 5 reads zeros through the IOAS", got[0]);
	memset(got, 0x55, sizeof(got));
	V(0, 0, "ACCESS_RW read of page 4", access_rw(d, acc, IOVA + 0x200000 + 8, got, sizeof(got), 0));
	check(got[0] == 0xab && got[15] == 0xab, "page 4 reads what was written", got[0]);

	/* close_range(3, ~0U): every descriptor the program holds goes, the access's included */
	V(0, 0, "close_range(3, ~0U, 0)", syscall(SYS_close_range, 3, ~0U, 0));
	V(-1, EBADF, "IOAS_ALLOC on the duplicate after close_range", raw_alloc(d));
	V(-1, EBADF, "IOAS_ALLOC on descriptor 50 after close_range", raw_alloc(50));
	V(-1, EBADF, "F_GETFD of the F_DUPFD_CLOEXEC one", fcntl((int)f, F_GETFD));
	long again = syscall(SYS_openat, AT_FDCWD, "/dev/iommu", O_RDWR);
	check(again == 3, "openat again takes descriptor 3", again);
	V(1, 0, "IOAS_ALLOC in the new context: its first ID", raw_alloc(again));

	/* libc closing inside itself: closefrom() (its own close_range), fclose() of a stream over the device */
	closefrom(3);
	V(-1, EBADF, "IOAS_ALLOC after closefrom(3)", raw_alloc(again));
	FILE *s = fopen("/dev/iommu", "r+e");
	check(s != NULL && fileno(s) == 3, "fopen(/dev/iommu, r+e): descriptor 3", s ? fileno(s) : -1);
	int sfd = s ? fileno(s) : -1;
	V(FD_CLOEXEC, 0, "the stream's descriptor is close-on-exec", fcntl(sfd, F_GETFD));
	V(1, 0, "IOAS_ALLOC on the stream's descriptor: a new context", raw_alloc(sfd));
	V(0, 0, "fclose", s ? fclose(s) : -1);
	V(-1, EBADF, "IOAS_ALLOC after fclose", raw_alloc(sfd));
	return failed;
}
