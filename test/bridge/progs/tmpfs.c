/*
 * Guest memory in a file on the tmpfs of /tmp (QEMU's memory-backend-file):
 * its page cache is shmem's, as a memfd's (mm/shmem.c), so IOAS_MAP_FILE
 * pins it (memfd_pin_folios() takes a shmem_file()), a shared mapping of it
 * maps the same pages, and it takes no seal (F_SEAL_SEAL from
 * shmem_get_inode()). The name keeps the pages with nothing open; a reopen
 * by path or through /proc/self/fd reaches the same inode; truncate(2) and
 * an O_TRUNC open drop its pages, a pinned one keeping its bytes for the
 * IOAS; unlink leaves the open file, the mappings and the pins; its mapped
 * pages count in RssShmem and a read fault of a hole adds one page to
 * st_blocks; a stream's writes (stdio writes from inside libc) reach its
 * size and pages; a shared mapping of /dev/zero is shmem too. 80 checks on
 * 7.2.13, the 71 without IOAS_MAP_FILE (6.13+) on 6.12.95 (both mount a
 * tmpfs on /tmp), the same under exec whatever /tmp is on the host.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "progs.h"
#define PG 4096
#define IOVA 0x40000000UL

struct test_cmd { uint32_t size, op, id, reserved; uint64_t u[30]; };

static int fd;
static uint32_t ioas, acc;

static long map_file(int f, uint64_t start, uint64_t len, uint64_t iova, uint32_t flags)
{
	struct ioas_map_file m = { .size = sizeof(m), .flags = flags, .ioas_id = ioas, .fd = f, .start = start, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}

static long map_user(void *va, uint64_t len, uint64_t iova, uint32_t flags)
{
	struct ioas_map m = { .size = sizeof(m), .flags = flags, .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova };
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

/* a byte through the access: its value, or -errno */
static int dma_read(uint64_t iova)
{
	unsigned char b = 0;
	return access_rw(fd, acc, iova, &b, 1, 0) ? -errno : b;
}

static int dma_write(uint64_t iova, unsigned char b)
{
	return access_rw(fd, acc, iova, &b, 1, RW_WRITE) ? -errno : 0;
}

static int byte_at(int f, off_t off)
{
	unsigned char b = 0;
	return pread(f, &b, 1, off) == 1 ? b : -1;
}

static long file_size(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (long)st.st_size;
}

static long blocks_of(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (long)st.st_blocks;
}

static long nlink_of(int f)
{
	struct stat st;
	return fstat(f, &st) ? -1 : (long)st.st_nlink;
}

int main(void)
{
	const uint32_t RW = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE;
	fd = open("/dev/iommu", O_RDWR);
	ioas = ioas_alloc(fd);
	struct test_cmd_md md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	check(ioas && !ioctl(fd, IOMMU_TEST_CMD, &md) && !ioctl(fd, IOMMU_TEST_CMD, &ca), "IOAS, mock domain and access", 0);
	acc = (uint32_t)ca.u[0];
	long pin0 = file_field("/proc/self/status", "VmPin");
	/* IOAS_MAP_FILE came with 6.13: 6.12 knows no such command */
	int has_file = !(map_file(-1, 0, PG, IOVA, MAP_READABLE) == -1 && errno == ENOTTY);
	const uint64_t FILE_IOVA = IOVA + (8 << 20);

	unlink("/tmp/iommufd-sim-guest");
	int g = open("/tmp/iommufd-sim-guest", O_RDWR | O_CREAT | O_EXCL, 0600);
	check(g >= 0, "open O_CREAT | O_EXCL of a file on /tmp", g);
	V(-1, EEXIST, "again: EEXIST", open("/tmp/iommufd-sim-guest", O_RDWR | O_CREAT | O_EXCL, 0600));
	V(F_SEAL_SEAL, 0, "a tmpfs file has F_SEAL_SEAL", fcntl(g, F_GET_SEALS));
	V(-1, EPERM, "and takes no seal: EPERM", fcntl(g, F_ADD_SEALS, F_SEAL_GROW));
	V(0, 0, "ftruncate to 4 MiB", ftruncate(g, 4 << 20));
	char *ram = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
	check(ram != MAP_FAILED, "a shared mapping of it", 0);
	long shmem0 = file_field("/proc/self/status", "RssShmem");
	memset(ram, 0x33, 1 << 20);
	long shmem = file_field("/proc/self/status", "RssShmem") - shmem0;
	check(shmem == 1024, "RssShmem grows by the MiB written (shmem pages)", shmem);
	long blocks0 = blocks_of(g);
	check(blocks0 == 2048, "st_blocks: the MiB written", blocks0);
	check(ram[3 << 20] == 0, "a read through the mapping past what was written", ram[3 << 20]);
	check(blocks_of(g) == 2048 + 8, "st_blocks: its read fault added a page", blocks_of(g));
	V(0, 0, "IOAS_MAP of 2 MiB of the mapping", map_user(ram, 2 << 20, IOVA, RW));
	V(0x33, 0, "DMA reads what the CPU wrote", dma_read(IOVA + 5));
	V(0, 0, "DMA reads an untouched page as zero", dma_read(IOVA + (3 << 19)));
	V(0, 0, "a DMA write", dma_write(IOVA + 0x10, 0x77));
	check(ram[0x10] == 0x77, "the CPU sees it", ram[0x10]);
	V(0x77, 0, "and pread of the file", byte_at(g, 0x10));
	if (has_file) {
		V(0, 0, "IOAS_MAP_FILE of the file's first 2 MiB", map_file(g, 0, 2 << 20, FILE_IOVA, RW));
		V(0x77, 0, "reads the same page", dma_read(FILE_IOVA + 0x10));
		V(-1, EINVAL, "IOAS_MAP_FILE past the end: EINVAL", map_file(g, 4 << 20, PG, IOVA + (16 << 20), RW));
		int ro = open("/tmp/iommufd-sim-guest", O_RDONLY);
		V(0, 0, "IOAS_MAP_FILE through a read-only descriptor (no mode check)", map_file(ro, 0, PG, IOVA + (16 << 20), RW));
		close(ro);
	}
	long pinned = file_field("/proc/self/status", "VmPin") - pin0;
	check(pinned == (has_file ? 2048 + 2048 + 4 : 2048), "VmPin: 2 MiB per map, 4 KiB more (7.x: the file maps too)", pinned);

	/* the pages are the file's: a child writing through its own mapping, a write(2) */
	pid_t k = fork();
	if (k == 0) {
		ram[0x20] = 0x66;
		_exit(0);
	}
	waitpid(k, NULL, 0);
	V(0x66, 0, "DMA reads the child's store", dma_read(IOVA + 0x20));
	V(1, 0, "pwrite of a byte", pwrite(g, "\x55", 1, 0x30));
	V(0x55, 0, "DMA reads it through the user mapping", dma_read(IOVA + 0x30));
	if (has_file)
		V(0x55, 0, "and through the file mapping", dma_read(FILE_IOVA + 0x30));

	/* nothing open, nothing mapped: the name keeps the pages */
	V(0, 0, "munmap", munmap(ram, 4 << 20));
	V(0, 0, "close", close(g));
	g = open("/tmp/iommufd-sim-guest", O_RDWR);
	check(g >= 0, "open it again by path", g);
	check(file_size(g) == 4 << 20, "the size stays", file_size(g));
	V(0x66, 0, "the bytes stay", byte_at(g, 0x20));
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", g);
	int again = open(link, O_RDWR);
	check(again >= 0, "open of /proc/self/fd/N", again);
	V(1, 0, "pwrite through that file", pwrite(again, "\x44", 1, 0x40));
	V(0x44, 0, "the first file reads it", byte_at(g, 0x40));
	if (has_file)
		V(0x44, 0, "DMA reads it through the file mapping", dma_read(FILE_IOVA + 0x40));
	check(dma_read(IOVA + 0x40) == -EFAULT, "the user mapping is gone: DMA through it is EFAULT", dma_read(IOVA + 0x40));
	close(again);
	V(1, 0, "nlink 1", nlink_of(g));

	/* truncate by path: the pages past the end leave the file, the pins keep theirs */
	V(-1, EINVAL, "truncate(2) of /dev/iommu: EINVAL (no regular file)", truncate("/dev/iommu", 0));
	V(-1, EISDIR, "truncate(2) of /tmp: EISDIR", truncate("/tmp", 0));
	V(0, 0, "truncate(2) to 1 MiB", truncate("/tmp/iommufd-sim-guest", 1 << 20));
	check(file_size(g) == 1 << 20, "the size follows", file_size(g));
	V(0, 0, "pread past the end reads nothing", pread(g, link, 1, 3 << 20));
	/* the access reads a user mapping's pages through the mapping: past the end, a fault */
	check(dma_read(IOVA + (3 << 19)) == -EFAULT, "DMA of a pinned page past the end through the user area: EFAULT", 0);
	if (has_file)
		V(0, 0, "through the file mapping: the pinned page (zero)", dma_read(FILE_IOVA + (3 << 19)));

	/* O_TRUNC: the file's pages go, a pinned one stays the IOAS's with its bytes */
	V(1, 0, "pwrite into a pinned page", pwrite(g, "\x19", 1, 0x18));
	int tr = open("/tmp/iommufd-sim-guest", O_RDWR | O_TRUNC);
	check(tr >= 0 && file_size(g) == 0, "an O_TRUNC open empties it", file_size(g));
	if (has_file)
		V(0x19, 0, "the pinned page keeps its bytes for the IOAS", dma_read(FILE_IOVA + 0x18));
	V(0, 0, "ftruncate back to 1 MiB", ftruncate(tr, 1 << 20));
	V(0, 0, "the file reads zero there", byte_at(g, 0x10));
	close(tr);

	/* unlink: the open file, its mapping and the pins stay */
	char *m2 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
	V(0, 0, "unlink", unlink("/tmp/iommufd-sim-guest"));
	V(-1, ENOENT, "the path is gone", open("/tmp/iommufd-sim-guest", O_RDWR));
	V(0, 0, "nlink 0", nlink_of(g));
	m2[0x50] = 0x22;
	V(0x22, 0, "a store through the new mapping reaches the file", byte_at(g, 0x50));
	if (has_file)
		V(0x33, 0, "the pinned page is no longer the file's: it keeps its old byte", dma_read(FILE_IOVA + 0x50));
	struct { uint32_t size, ioas_id; uint64_t iova, length; } un = { sizeof(un), ioas, 0, ~0ULL };
	V(0, 0, "IOAS_UNMAP of everything", ioctl(fd, IOMMU_IOAS_UNMAP, &un));
	check(file_field("/proc/self/status", "VmPin") == pin0, "VmPin back", file_field("/proc/self/status", "VmPin"));

	/* O_TMPFILE: an inode with no name, mapped by IOAS_MAP_FILE */
	int t = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	check(t >= 0, "O_TMPFILE on /tmp", t);
	V(0, 0, "ftruncate it", ftruncate(t, 64 * PG));
	V(3, 0, "pwrite", pwrite(t, "abc", 3, PG));
	if (has_file)
		V(0, 0, "IOAS_MAP_FILE of it", map_file(t, 0, 64 * PG, IOVA, RW));
	else
		V(0, 0, "IOAS_MAP of a shared mapping of it", map_user(mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, t, 0), 64 * PG, IOVA, RW));
	V('b', 0, "DMA reads it", dma_read(IOVA + PG + 1));
	V(0, 0, "a DMA write", dma_write(IOVA + 2 * PG, 'z'));
	V('z', 0, "pread sees it", byte_at(t, 2 * PG));
	V(0, 0, "nlink 0", nlink_of(t));
	V(F_SEAL_SEAL, 0, "F_SEAL_SEAL", fcntl(t, F_GET_SEALS));
	un.iova = 0;
	un.length = ~0ULL;
	V(0, 0, "IOAS_UNMAP", ioctl(fd, IOMMU_IOAS_UNMAP, &un));

	/* a stream: stdio writes from inside libc, the size and pages follow */
	static char page[2 * PG];
	memset(page, 'a', sizeof(page));
	FILE *st = fopen("/tmp/iommufd-sim-stdio", "w+");
	check(st != NULL, "fopen w+ of a file on /tmp", 0);
	check(fwrite(page, 1, sizeof(page), st) == sizeof(page) && !fflush(st), "fwrite 8 KiB and fflush", 0);
	check(file_size(fileno(st)) == 2 * PG, "fstat: its size", file_size(fileno(st)));
	check(blocks_of(fileno(st)) == 16, "fstat: 16 blocks", blocks_of(fileno(st)));
	V(F_SEAL_SEAL, 0, "a tmpfs file: F_SEAL_SEAL", fcntl(fileno(st), F_GET_SEALS));
	if (has_file)
		V(0, 0, "IOAS_MAP_FILE of it", map_file(fileno(st), 0, 2 * PG, IOVA, RW));
	else
		V(0, 0, "IOAS_MAP of a shared mapping of it", map_user(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fileno(st), 0), 2 * PG, IOVA, MAP_FIXED_IOVA | MAP_READABLE));
	V('a', 0, "DMA reads what fwrite wrote", dma_read(IOVA + PG + 5));
	check(!fseek(st, PG + 5, SEEK_SET) && fputc('z', st) == 'z' && !fflush(st), "fputc into it", 0);
	V('z', 0, "DMA reads it", dma_read(IOVA + PG + 5));
	V(0, 0, "fclose", fclose(st));
	unlink("/tmp/iommufd-sim-stdio");

	/* /dev/zero: mmap_zero() makes a shared mapping shmem (shmem_zero_setup()), a private one anonymous */
	int z = open("/dev/zero", O_RDWR);
	char *zs = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
	char *zp = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
	memset(zs, 1, 2 * PG);
	memset(zp, 2, 3 * PG);
	check(smaps_field(zs, "Rss", NULL) == 8 && smaps_field(zs, "Anonymous", NULL) == 0, "smaps of a shared /dev/zero mapping: 8 kB, not anonymous", smaps_field(zs, "Rss", NULL));
	check(smaps_field(zp, "Rss", NULL) == 12 && smaps_field(zp, "Anonymous", NULL) == 12, "smaps of a private one: 12 kB, anonymous", smaps_field(zp, "Anonymous", NULL));
	V(0, 0, "IOAS_MAP of the shared one", map_user(zs, 16 * PG, IOVA + (64 << 20), RW));
	k = fork();
	if (k == 0) {
		zs[0x60] = 0x5c;
		_exit(0);
	}
	waitpid(k, NULL, 0);
	V(0x5c, 0, "DMA reads the child's store into the shared one", dma_read(IOVA + (64 << 20) + 0x60));
	return failed;
}
