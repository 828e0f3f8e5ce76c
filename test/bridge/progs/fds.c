// SPDX-License-Identifier: GPL-2.0-only
/*
 * Descriptors and threads through the bridge: dup/dup2/dup3/F_DUPFD of an
 * iommufd and of an access fd the model created (one open file, two
 * descriptors: closing one keeps the other working), and fail-nth per
 * thread (/proc/self/task/TID/fail-nth is each task's own counter), and
 * RLIMIT_NOFILE as a booted kernel gives it (under exec, not the host's).
 * One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

struct destroy { uint32_t size, id; };
struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };

static int destroy(int fd, uint32_t id)
{
	struct destroy d = { .size = sizeof(d), .id = id };
	return ioctl(fd, IOMMU_DESTROY, &d);
}

static int nth_fd(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", tid);
	return open(path, O_RDWR);
}

static int nth_read(int fd)
{
	char buf[16] = { 0 };
	return pread(fd, buf, sizeof(buf) - 1, 0) > 0 ? atoi(buf) : -1;
}

/* the other thread: arms its own fail-nth, then allocates when told */
static int ctl[2], done[2];
static int shared_fd;
static pid_t other_tid;
static int other_rc, other_errno;

static void *other(void *unused)
{
	char c;
	(void)unused;
	other_tid = (pid_t)syscall(SYS_gettid);
	int nth = open("/proc/thread-self/fail-nth", O_RDWR);
	write(nth, "1", 1);
	write(done[1], "a", 1);
	read(ctl[0], &c, 1); /* the main thread made its calls meanwhile */
	struct ioas_alloc a = { .size = sizeof(a) };
	other_rc = ioctl(shared_fd, IOMMU_IOAS_ALLOC, &a);
	other_errno = errno;
	close(nth);
	return NULL;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu", fd);
	uint32_t ioas = ioas_alloc(fd);
	check(ioas != 0, "IOAS_ALLOC", ioas);
	/* the rest of the VFS: a misc character device without llseek, read or write */
	struct stat sb;
	char b8[8];
	check(fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 10, "fstat: a misc character device", sb.st_mode);
	check(lseek(fd, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek on the iommufd -> ESPIPE", errno);
	check(pread(fd, b8, 8, 0) == -1 && errno == EINVAL, "pread on the iommufd -> EINVAL (no read)", errno);
	int rofd = open("/dev/iommu", O_RDONLY);
	const int o_largefile = 0100000; /* the kernel's; glibc's O_LARGEFILE is 0 on 64-bit */
	check(fcntl(rofd, F_GETFL) == (O_RDONLY | o_largefile), "F_GETFL of an O_RDONLY open: O_LARGEFILE added", fcntl(rofd, F_GETFL));
	check(fcntl(rofd, F_SETFL, O_NONBLOCK | O_APPEND | O_RDWR) == 0 && fcntl(rofd, F_GETFL) == (o_largefile | O_NONBLOCK | O_APPEND),
	      "F_SETFL changes the status flags, not the access mode", fcntl(rofd, F_GETFL));
	close(rofd);

	/* dup: the same context through either descriptor, alive while one is open */
	int d1 = dup(fd);
	check(d1 > fd, "dup of the iommufd", d1);
	uint32_t ioas2 = ioas_alloc(d1);
	check(ioas2 == ioas + 1, "IOAS_ALLOC through the dup: the same context's next id", ioas2);
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 40);
	check(d2 >= 40 && (fcntl(d2, F_GETFD) & FD_CLOEXEC), "F_DUPFD_CLOEXEC from 40", d2);
	check(dup2(fd, 50) == 50, "dup2 to 50", 0);
	check(ioctl(50, FIOCLEX) == 0 && fcntl(50, F_GETFD) == FD_CLOEXEC, "FIOCLEX on a model descriptor sets FD_CLOEXEC", 0);
	check(ioctl(50, FIONCLEX) == 0 && fcntl(50, F_GETFD) == 0, "FIONCLEX clears it", 0);
	check(dup3(fd, 51, O_CLOEXEC) == 51, "dup3 to 51", 0);
	check(dup3(fd, fd, 0) == -1 && errno == EINVAL, "dup3 onto itself -> EINVAL", 0);
	check(dup2(fd, fd) == fd, "dup2 onto itself", 0);
	close(fd);
	check(destroy(d1, ioas2) == 0, "DESTROY through the dup after closing the original", 0);
	check(destroy(d2, ioas2) == -1 && errno == ENOENT, "the object is gone for every descriptor", 0);
	check(ioctl(fd, IOMMU_IOAS_ALLOC, &(struct ioas_alloc){ .size = 12 }) == -1 && errno == EBADF,
	      "the closed original -> EBADF", 0);
	/* dup2 of an ordinary file over a model descriptor closes the model's one */
	int null = open("/dev/null", O_RDWR);
	check(dup2(null, 51) == 51, "dup2 /dev/null over the iommufd dup at 51", 0);
	check(ioctl(51, IOMMU_IOAS_ALLOC, &(struct ioas_alloc){ .size = 12 }) == -1 && errno == ENOTTY,
	      "51 is /dev/null now -> ENOTTY", 0);
	close(null);
	close(50);
	close(d2);
	fd = d1;

	/* an access fd the model made, duplicated: closing the original keeps the access */
	char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 0x5a, 4096);
	struct ioas_map m = { .size = sizeof(m), .flags = 6, .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 4096 };
	check(ioctl(fd, IOMMU_IOAS_MAP, &m) == 0, "IOAS_MAP", 0);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas, .u = { 0, 0 } };
	check(ioctl(fd, IOMMU_TEST_CMD, &ca) == 0, "CREATE_ACCESS", 0);
	int afd = (int)ca.u[0];
	int adup = dup(afd);
	check(adup >= 0 && adup != afd, "dup of the access fd", adup);
	check(pread(adup, b8, 8, 0) == -1 && errno == ESPIPE, "pread on an access fd -> ESPIPE (an anon inode)", errno);
	check(fstat(adup, &sb) == 0 && sb.st_mode == 0600, "fstat: the anon inode's mode 0600", sb.st_mode);
	check(fcntl(adup, F_GETFL) == O_RDWR, "F_GETFL of an access fd: O_RDWR (anon_inode_getfile)", fcntl(adup, F_GETFL));
	int on = 1, off = 0;
	/* ioctl_fionbio(): O_NONBLOCK of the shared open file, seen through the other descriptor too */
	check(ioctl(afd, FIONBIO, &on) == 0 && fcntl(adup, F_GETFL) == (O_RDWR | O_NONBLOCK), "FIONBIO(1): F_GETFL shows O_NONBLOCK on the dup", fcntl(adup, F_GETFL));
	check(ioctl(adup, FIONBIO, &off) == 0 && fcntl(afd, F_GETFL) == O_RDWR, "FIONBIO(0) clears it", fcntl(afd, F_GETFL));
	close(afd);
	char got[8] = { 0 };
	struct test_cmd rw = { .size = sizeof(rw), .op = TEST_OP_ACCESS_RW, .id = (uint32_t)adup };
	uint64_t a64[3] = { m.iova, sizeof(got), (uintptr_t)got };
	memcpy(&rw.u[0], a64, sizeof(a64));
	int rc = ioctl(fd, IOMMU_TEST_CMD, &rw);
	check(rc == 0 && got[0] == 0x5a && got[7] == 0x5a, "ACCESS_RW through the dup'd access fd", rc);
	rw.id = (uint32_t)afd;
	check(ioctl(fd, IOMMU_TEST_CMD, &rw) == -1 && errno == EBADFD, "ACCESS_RW on the closed access fd -> EBADFD (iommufd_access_get)", 0);
	close(adup);

	/* fail-nth per thread: the other thread's armed counter does not touch this one's calls
	 * (with failslab/ignore-gfp-wait = N, IOAS_ALLOC's allocation is the first fault point) */
	int knob = open("/sys/kernel/debug/failslab/ignore-gfp-wait", O_WRONLY);
	check(knob >= 0 && write(knob, "N", 1) == 1, "debugfs failslab/ignore-gfp-wait = N", knob);
	close(knob);
	pipe(ctl);
	pipe(done);
	shared_fd = fd;
	pthread_t th;
	char c;
	pthread_create(&th, NULL, other, NULL);
	read(done[0], &c, 1);
	int mine = nth_fd((pid_t)syscall(SYS_gettid));
	int theirs = nth_fd(other_tid);
	check(mine >= 0 && theirs >= 0, "open both threads' fail-nth", theirs);
	check(nth_read(theirs) == 1 && nth_read(mine) == 0, "the other thread's reads 1, this one's 0", nth_read(mine));
	uint32_t id = ioas_alloc(fd);
	check(id != 0, "this thread's IOAS_ALLOC passes", id);
	check(nth_read(theirs) == 1, "the other thread's fail-nth is untouched by this thread's call", nth_read(theirs));
	write(ctl[1], "b", 1);
	pthread_join(th, NULL);
	check(other_rc == -1 && other_errno == ENOMEM, "the other thread's IOAS_ALLOC fails (its first fault point)",
	      other_errno);
	/* this thread arms, the other's counter stays; then a write to another task's file */
	check(write(mine, "1", 1) == 1, "arm this thread's fail-nth", 0);
	check(ioas_alloc(fd) == 0 && errno == ENOMEM, "this thread's next IOAS_ALLOC fails", errno);
	check(nth_read(mine) == 0, "fired: reads 0", nth_read(mine));
	close(mine);
	close(theirs);
	/* the knob back at its default: the programs after this one in a VM boot count fault points by it */
	knob = open("/sys/kernel/debug/failslab/ignore-gfp-wait", O_WRONLY);
	check(knob >= 0 && write(knob, "Y", 1) == 1, "debugfs failslab/ignore-gfp-wait = Y again", knob);
	close(knob);
	/* RLIMIT_NOFILE as a booted kernel gives it: F_DUPFD at the soft limit is EINVAL, dup2 there EBADF */
	struct rlimit nof;
	check(!getrlimit(RLIMIT_NOFILE, &nof) && nof.rlim_cur == 1024 && nof.rlim_max == 4096, "RLIMIT_NOFILE 1024, hard 4096",
	      (long)nof.rlim_cur);
	check(fcntl(fd, F_DUPFD, 1023) == 1023 && ioas_alloc(1023) != 0, "F_DUPFD 1023: a model descriptor", 0);
	check(fcntl(fd, F_DUPFD, 1024) == -1 && errno == EINVAL, "F_DUPFD 1024 -> EINVAL", errno);
	check(dup2(fd, 1024) == -1 && errno == EBADF, "dup2 to 1024 -> EBADF", errno);
	close(1023);
	return failed;
}
