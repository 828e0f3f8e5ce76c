// SPDX-License-Identifier: GPL-2.0-only
/*
 * splice(2), tee(2), vmsplice(2) and sendfile(2) between a pipe and the
 * model's files (/dev/iommu, a fault queue, an access, the VFIO container,
 * /dev/vfio, one opened read-only and an O_PATH descriptor): none of them has
 * splice_read or splice_write, so after the checks of the descriptors, the
 * offsets and the access modes the answer is EINVAL, where the /dev/null
 * placeholder exec keeps for them would splice. Each call prints its
 * result, so that the oracle suite compares the output on Linux 6.12 and
 * 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "progs.h"

static int p[2], mfd;

static void all(const char *name, int fd)
{
	char line[160], data[64] = "sixteen bytes!!";
	loff_t off = 0, neg = -4096;
#define ONE(what, call)                                               \
	do {                                                          \
		snprintf(line, sizeof(line), "%s: %s", name, what);   \
		SAID(line, call);                                     \
	} while (0)
	ONE("splice to a pipe", splice(fd, NULL, p[1], NULL, 16, 0));
	ONE("splice to a pipe, length 0", splice(fd, NULL, p[1], NULL, 0, 0));
	ONE("splice to a pipe, a bad flag", splice(fd, NULL, p[1], NULL, 16, 0x100));
	ONE("splice to a pipe, length 0 and a bad flag", splice(fd, NULL, p[1], NULL, 0, 0x100));
	ONE("splice to a pipe at an offset", splice(fd, &off, p[1], NULL, 16, 0));
	ONE("splice to a pipe at a negative offset", splice(fd, &neg, p[1], NULL, 16, 0));
	ONE("splice to a pipe, a bad offset pointer", splice(fd, (loff_t *)8, p[1], NULL, 16, 0));
	ONE("splice to a pipe with an offset for the pipe", splice(fd, NULL, p[1], &off, 16, 0));
	write(p[1], data, 16);
	ONE("splice from a pipe", splice(p[0], NULL, fd, NULL, 16, 0));
	ONE("splice from a pipe at an offset", splice(p[0], NULL, fd, &off, 16, 0));
	ONE("splice from a pipe, a bad offset pointer", splice(p[0], NULL, fd, (loff_t *)8, 16, 0));
	ONE("splice from a pipe with an offset for the pipe", splice(p[0], &off, fd, NULL, 16, 0));
	ONE("splice to itself", splice(fd, NULL, fd, NULL, 16, 0));
	ONE("splice to a closed descriptor", splice(fd, NULL, 999, NULL, 16, 0));
	ONE("splice from a closed descriptor", splice(999, NULL, fd, NULL, 16, 0));
	ONE("tee to a pipe", tee(fd, p[1], 16, 0));
	ONE("tee to a pipe, length 0", tee(fd, p[1], 0, 0));
	ONE("tee to a pipe, length 0 and a bad flag", tee(fd, p[1], 0, 0x100));
	ONE("tee from a pipe", tee(p[0], fd, 16, 0));
	struct iovec iov = { data, 16 };
	ONE("vmsplice", vmsplice(fd, &iov, 1, 0));
	ONE("sendfile to a pipe", sendfile(p[1], fd, NULL, 16));
	ONE("sendfile to a pipe at an offset", sendfile(p[1], fd, &off, 16));
	ONE("sendfile to a pipe at a negative offset", sendfile(p[1], fd, &neg, 16));
	ONE("sendfile to a pipe, a bad offset pointer", sendfile(p[1], fd, (off_t *)8, 16));
	ONE("sendfile to a pipe, count 0", sendfile(p[1], fd, NULL, 0));
	ONE("sendfile from a memfd", sendfile(fd, mfd, NULL, 16));
	ONE("sendfile from a memfd, count 0", sendfile(fd, mfd, NULL, 0));
	ONE("sendfile to a closed descriptor", sendfile(999, fd, NULL, 16));
	ONE("sendfile from a pipe at an offset", sendfile(fd, p[0], &off, 16));
	char drain[64];
	while (read(p[0], drain, sizeof(drain)) > 0)
		;
}

int main(void)
{
	if (pipe2(p, O_NONBLOCK) < 0)
		return 1;
	mfd = memfd_create("m", 0);
	write(mfd, "sixteen bytes!!", 16);
	lseek(mfd, 0, SEEK_SET);
	int fault, access;
	int fd = model_files(&fault, &access);
	all("iommufd", fd);
	all("fault queue", fault);
	all("access", access);
	all("container", open("/dev/vfio/vfio", O_RDWR));
	all("/dev/vfio", open("/dev/vfio", O_RDONLY | O_DIRECTORY));
	all("read-only iommufd", open("/dev/iommu", O_RDONLY));
	all("write-only iommufd", open("/dev/iommu", O_WRONLY));
	all("O_PATH", open("/dev/iommu", O_PATH));
	/* a full pipe: a non-blocking splice into it waits for no room (EAGAIN) before the file is asked */
	char big[4096];
	memset(big, 1, sizeof(big));
	while (write(p[1], big, sizeof(big)) > 0)
		;
	SAID("splice to a full non-blocking pipe", splice(fd, NULL, p[1], NULL, 16, 0));
	SAID("splice to a full pipe, SPLICE_F_NONBLOCK", splice(fd, NULL, p[1], NULL, 16, SPLICE_F_NONBLOCK));
	printf("done\n");
	return 0;
}
