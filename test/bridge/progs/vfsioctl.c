// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctls do_vfs_ioctl() answers for every file before its driver sees
 * them, on the model's files: /dev/iommu, a fault queue, an access (both
 * anonymous inodes), the VFIO container and an O_PATH descriptor of
 * /dev/iommu. FIFREEZE and FITHAW (the superblock's freeze, CAP_SYS_ADMIN
 * first), FS_IOC_FIEMAP, FICLONE, FICLONERANGE and FIDEDUPERANGE (the remap
 * checks), the file attribute ioctls, the filesystem's UUID and sysfs path.
 * Each call prints its result, so that the oracle suite compares the output
 * on Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <sys/stat.h>

#include "progs.h"

/* (6.8's struct fsuuid2 is 17 bytes, struct fs_sysfs_path 129) */
#define FS_IOC_GETFSUUID_ _IOC(_IOC_READ, 0x15, 0, 17)
#define FS_IOC_GETFSSYSFSPATH_ _IOC(_IOC_READ, 0x15, 1, 129)

/* the file, one on the same filesystem, one on another */
static void all(const char *name, int fd, int same, int other)
{
	char line[160];
	static uint8_t buf[4096];
#define ONE(what, call)                                               \
	do {                                                          \
		snprintf(line, sizeof(line), "%s: %s", name, what);   \
		SAID(line, call);                                     \
	} while (0)
	ONE("FIFREEZE", ioctl(fd, FIFREEZE, 0));
	ONE("FITHAW", ioctl(fd, FITHAW, 0));
	memset(buf, 0, sizeof(buf));
	struct fiemap *fm = (struct fiemap *)buf;
	fm->fm_length = ~0ULL;
	ONE("FS_IOC_FIEMAP", ioctl(fd, FS_IOC_FIEMAP, fm));
	ONE("FS_IOC_FIEMAP, bad pointer", ioctl(fd, FS_IOC_FIEMAP, (void *)8));
	ONE("FICLONE from itself", ioctl(fd, FICLONE, fd));
	ONE("FICLONE from a file on the same filesystem", ioctl(fd, FICLONE, same));
	ONE("FICLONE from a file on another", ioctl(fd, FICLONE, other));
	ONE("FICLONE from a closed descriptor", ioctl(fd, FICLONE, 999));
	struct file_clone_range cr = { .src_fd = fd, .src_length = 4096 };
	ONE("FICLONERANGE", ioctl(fd, FICLONERANGE, &cr));
	cr.src_fd = other;
	ONE("FICLONERANGE from another filesystem", ioctl(fd, FICLONERANGE, &cr));
	ONE("FICLONERANGE, bad pointer", ioctl(fd, FICLONERANGE, (void *)8));
	memset(buf, 0, sizeof(buf));
	struct file_dedupe_range *dr = (struct file_dedupe_range *)buf;
	dr->src_length = 4096;
	ONE("FIDEDUPERANGE, no destination", ioctl(fd, FIDEDUPERANGE, dr));
	ONE("FIDEDUPERANGE, bad pointer", ioctl(fd, FIDEDUPERANGE, (void *)8));
	dr->dest_count = 1000;
	ONE("FIDEDUPERANGE, 1000 destinations", ioctl(fd, FIDEDUPERANGE, dr));
	dr->dest_count = 2;
	dr->reserved2 = 1;
	ONE("FIDEDUPERANGE, reserved set", ioctl(fd, FIDEDUPERANGE, dr));
	memset(buf, 0, sizeof(buf));
	int flags = 0;
	ONE("FS_IOC_GETFLAGS", ioctl(fd, FS_IOC_GETFLAGS, &flags));
	ONE("FS_IOC_SETFLAGS", ioctl(fd, FS_IOC_SETFLAGS, &flags));
	ONE("FS_IOC_FSGETXATTR", ioctl(fd, FS_IOC_FSGETXATTR, buf));
	ONE("FS_IOC_FSSETXATTR", ioctl(fd, FS_IOC_FSSETXATTR, buf));
	ONE("FS_IOC_GETFSUUID", ioctl(fd, FS_IOC_GETFSUUID_, buf));
	memset(buf, 0, sizeof(buf));
	ONE("FS_IOC_GETFSSYSFSPATH", ioctl(fd, FS_IOC_GETFSSYSFSPATH_, buf));
	if (buf[0])
		printf("%s: its sysfs path %.*s\n", name, buf[0], (char *)buf + 1);
	long long q = -1;
	ONE("FIOQSIZE", ioctl(fd, FIOQSIZE, &q));
	printf("%s: FIOQSIZE's bytes %lld\n", name, q);
	ONE("FIGETBSZ", ioctl(fd, FIGETBSZ, buf));
}

int main(void)
{
	int fault, access;
	int fd = model_files(&fault, &access);
	int vfio = open("/dev/vfio/vfio", O_RDWR);
	int path = open("/dev/iommu", O_PATH);
	int dir = open("/dev/vfio", O_RDONLY | O_DIRECTORY);
	int mfd = memfd_create("m", 0);
	all("iommufd", fd, vfio, fault);
	all("fault queue", fault, access, fd);
	all("access", access, fault, mfd);
	all("container", vfio, dir, access);
	all("/dev/vfio", dir, fd, mfd);
	all("O_PATH", path, fd, vfio);
	printf("done\n");
	return 0;
}
