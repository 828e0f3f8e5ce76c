// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf file the 7.x selftest exporter makes (IOMMU_TEST_OP_DMABUF_GET)
 * as a program meets it: fstat (its own inode: the size, and st_blocks from
 * inode_set_bytes()), the file's own ioctls (dma_buf_ioctl(): SET_NAME with
 * its 32-byte limit and bad pointers, the name in the /proc/self/fd link and
 * in fdinfo; SYNC's struct and flag checks; the sync-file ioctls without
 * CONFIG_SYNC_FILE), and an unknown ioctl. Each step prints its result, so
 * that the oracle suite compares the output on Linux 7.2 with the output
 * under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "progs.h"

#define TEST_OP_DMABUF_GET 22
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, uint64_t)
#define DMA_BUF_SET_NAME_A _IOW('b', 1, uint32_t)
#define DMA_BUF_SET_NAME_B _IOW('b', 1, uint64_t)
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR('b', 2, uint64_t)

static char *buf;

static void show(int d)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", d);
	ssize_t r = readlink(p, buf, 200);
	buf[r > 0 ? r : 0] = 0;
	printf("link %s\n", buf);
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", d);
	FILE *in = fopen(p, "r");
	char l[256];
	while (in && fgets(l, sizeof(l), in))
		if (!strncmp(l, "name:", 5) || !strncmp(l, "size:", 5))
			printf("fdinfo %s", l);
	if (in)
		fclose(in);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct { uint32_t size, op, id, reserved; uint32_t length, open_flags; uint32_t pad[56]; } get = {
		.size = sizeof(get), .op = TEST_OP_DMABUF_GET, .length = 3 * 4096, .open_flags = O_CLOEXEC,
	};
	int d = ioctl(fd, IOMMU_TEST_CMD, &get);
	printf("DMABUF_GET -> %s\n", d >= 0 ? "a descriptor" : "error");
	buf = malloc(4096);
	struct stat *st = malloc(sizeof(*st));
	SAID("fstat", fstat(d, st));
	printf("size %lld, blocks %lld, blksize %ld, mode 0%o\n", (long long)st->st_size, (long long)st->st_blocks, (long)st->st_blksize, st->st_mode);
	show(d);
	strcpy(buf, "abc");
	SAID("SET_NAME_B abc", ioctl(d, DMA_BUF_SET_NAME_B, buf));
	show(d);
	strcpy(buf, "xyz");
	SAID("SET_NAME_A xyz", ioctl(d, DMA_BUF_SET_NAME_A, buf));
	show(d);
	memset(buf, 'q', 31);
	buf[31] = 0;
	SAID("SET_NAME of 31 bytes", ioctl(d, DMA_BUF_SET_NAME_B, buf));
	memset(buf, 'q', 32);
	buf[32] = 0;
	SAID("SET_NAME of 32 bytes", ioctl(d, DMA_BUF_SET_NAME_B, buf));
	SAID("SET_NAME from address 8", ioctl(d, DMA_BUF_SET_NAME_B, (void *)8));
	buf[0] = 0;
	SAID("SET_NAME empty", ioctl(d, DMA_BUF_SET_NAME_B, buf));
	show(d);
	uint64_t *sync = malloc(8);
	const uint64_t flags[] = { 0, 1, 2, 3, 4, 5, 7, 8, 1ULL << 40 };
	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char what[48];
		*sync = flags[i];
		snprintf(what, sizeof(what), "SYNC flags 0x%llx", (unsigned long long)flags[i]);
		SAID(what, ioctl(d, DMA_BUF_IOCTL_SYNC, sync));
	}
	SAID("SYNC from address 8", ioctl(d, DMA_BUF_IOCTL_SYNC, (void *)8));
	SAID("EXPORT_SYNC_FILE", ioctl(d, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, sync));
	SAID("an unknown ioctl", ioctl(d, _IO('b', 9), 0));
	printf("done\n");
	return 0;
}
