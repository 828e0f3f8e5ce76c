/*
 * A memfd opened again through /proc/self/fd/N (proc_fd_link(), do_open()):
 * a file of its own on the same inode (its access mode, its position), so
 * what one descriptor changes (size, contents, seals) the other sees, and
 * what its mode forbids is refused: a read-only one neither writes,
 * truncates, allocates nor seals, nor maps shared writable. O_TRUNC
 * truncates (the size seals may refuse), O_CREAT | O_EXCL is EEXIST,
 * O_DIRECTORY ENOTDIR, a descriptor not open ENOENT. The same on 6.12.95
 * and 7.2.13.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "progs.h"
#define PG 4096
#define IOVA 0x40000000UL

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static long file_size(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioas && !ioctl(fd, IOMMU_TEST_CMD, &md) && !ioctl(fd, IOMMU_TEST_CMD, &ca), "IOAS, mock domain, access", 0);
	uint32_t acc = (uint32_t)ca.u[0];

	int m = memfd_create("m", MFD_ALLOW_SEALING);
	ftruncate(m, 4 * PG);
	pwrite(m, "hello", 5, 0);
	char path[64], b[8] = { 0 };
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	int ro = open(path, O_RDONLY);
	int rw = open(path, O_RDWR);
	check(ro >= 0 && rw >= 0, "reopened read-only and read-write", ro);
	V(5, 0, "pread through the read-only one", pread(ro, b, 5, 0));
	check(!memcmp(b, "hello", 5), "reads what the first wrote", b[0]);
	V(-1, EBADF, "pwrite through it: EBADF", pwrite(ro, "x", 1, 0));
	V(-1, EINVAL, "ftruncate through it: EINVAL", ftruncate(ro, PG));
	V(-1, EBADF, "fallocate through it: EBADF", fallocate(ro, 0, 0, PG));
	V(-1, EPERM, "F_ADD_SEALS through it: EPERM", fcntl(ro, F_ADD_SEALS, F_SEAL_GROW));
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES, "a shared writable mapping of it: EACCES", errno);
	V(0, 0, "F_GET_SEALS through it", fcntl(ro, F_GET_SEALS));

	V(1, 0, "pwrite through the read-write one", pwrite(rw, "J", 1, 0));
	pread(m, b, 5, 0);
	check(!memcmp(b, "Jello", 5), "the first sees it", b[0]);
	V(0, 0, "ftruncate through it to 8 pages", ftruncate(rw, 8 * PG));
	check(file_size(m) == 8 * PG, "the first sees the size", file_size(m));
	V(0, 0, "fallocate through it to 12 pages", fallocate(rw, 0, 0, 12 * PG));
	check(file_size(ro) == 12 * PG, "the read-only one sees the size", file_size(ro));
	V(2, 0, "lseek of the first", lseek(m, 2, SEEK_SET));
	V(0, 0, "the reopened one keeps its own position", lseek(ro, 0, SEEK_CUR));

	/* a shared mapping through the read-write one, pinned by the IOAS: the pages are the file's */
	unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	p[PG] = 0x42;
	struct ioas_map im = { .size = sizeof(im), .flags = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, .ioas_id = ioas, .user_va = (uintptr_t)p, .length = 4 * PG, .iova = IOVA };
	V(0, 0, "IOAS_MAP of the mapping", ioctl(fd, IOMMU_IOAS_MAP, &im));
	unsigned char one = 0;
	check(!access_rw(fd, acc, IOVA + PG, &one, 1, RW_SLOW_PATH) && one == 0x42, "ACCESS_RW reads what the mapping wrote", one);
	pread(m, &one, 1, PG);
	check(one == 0x42, "and so does pread of the first", one);
	V(-1, EBUSY, "F_SEAL_WRITE through the first: EBUSY (mapped writable, pinned)", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));

	V(0, 0, "F_SEAL_SHRINK through the read-write one", fcntl(rw, F_ADD_SEALS, F_SEAL_SHRINK));
	V(F_SEAL_SHRINK, 0, "the first sees the seal", fcntl(m, F_GET_SEALS));
	V(-1, EPERM, "an O_TRUNC reopen: EPERM (F_SEAL_SHRINK)", open(path, O_RDWR | O_TRUNC));
	check(file_size(m) == 12 * PG, "the size stays", file_size(m));
	int m2 = memfd_create("m2", 0);
	ftruncate(m2, 4 * PG);
	char path2[64];
	snprintf(path2, sizeof(path2), "/proc/self/fd/%d", m2);
	int t = open(path2, O_RDWR | O_TRUNC);
	check(t >= 0 && file_size(m2) == 0, "an O_TRUNC reopen truncates", file_size(m2));
	V(-1, EEXIST, "O_CREAT | O_EXCL: EEXIST", open(path2, O_RDWR | O_CREAT | O_EXCL, 0600));
	V(-1, ENOTDIR, "O_DIRECTORY: ENOTDIR", open(path2, O_RDONLY | O_DIRECTORY));
	close(m2);
	V(-1, ENOENT, "a descriptor closed: ENOENT", open(path2, O_RDWR));
	V(0, 0, "the reopened one outlives the first: ftruncate", ftruncate(t, PG));
	check(file_size(t) == PG, "its size", file_size(t));
	return failed;
}
