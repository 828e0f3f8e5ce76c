// SPDX-License-Identifier: GPL-2.0-only
/*
 * Vectored I/O, statx, fchmod and fchown of model descriptors: readv/writev and their
 * positional forms on /dev/iommu (no read or write: EINVAL even for zero
 * segments) and on a fault queue fd (the file's read per segment, so a
 * segment that is not a whole number of 40-byte records is ESPIPE; the
 * iovec checks of import_iovec), and statx of /dev/iommu, /dev/vfio/vfio and
 * a fault fd; fchmod/fchown of /dev/iommu (root may) and of a fault fd
 * (7.x refuses every attribute change of an anon inode: EOPNOTSUPP; 6.12
 * lets root: 0), which must never reach the placeholder's /dev/null. Every
 * expected answer is what Linux 6.12.95 and 7.2.13 gave (a static build of
 * this file run in both oracle VMs, as root). The kernel generation comes
 * from uname, or from argv[1] ("6" or "7") under exec, where uname is the
 * host's.
 * One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "progs.h"

#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
struct fault_alloc { uint32_t size, flags, out_fault_id, out_fault_fd; };
struct page_response { uint32_t cookie, code; };

int main(int argc, char **argv)
{
	struct utsname un;
	uname(&un);
	int seven = argc > 1 ? argv[1][0] == '7' : un.release[0] == '7';
	static char b[256];
	static struct iovec many[1025];
	/* through volatiles: the compiler's own checks of readv's arguments would refuse these */
	volatile int minus_one = -1;
	struct iovec *volatile unmapped = (struct iovec *)8;
	int io = open("/dev/iommu", O_RDWR);
	check(io >= 0, "open /dev/iommu", io);
	struct iovec iv[3] = { { b, 40 }, { b + 40, 40 }, { b + 80, 40 } };

	V(-1, EINVAL, "readv of /dev/iommu -> EINVAL (no read)", readv(io, iv, 2));
	V(-1, EINVAL, "readv of /dev/iommu, no segments -> EINVAL (checked before the iovecs)", readv(io, iv, 0));
	V(-1, EINVAL, "writev of /dev/iommu -> EINVAL", writev(io, iv, 1));
	V(-1, EINVAL, "preadv of /dev/iommu -> EINVAL (positional, no read)", preadv(io, iv, 1, 0));
	V(-1, EINVAL, "preadv at a negative position -> EINVAL", preadv(io, iv, 1, -5));
	V(-1, EINVAL, "pwritev of /dev/iommu -> EINVAL", pwritev(io, iv, 1, 0));
	V(-1, EBADF, "readv of a closed descriptor -> EBADF", readv(999, iv, 1));
	int ro = open("/dev/iommu", O_RDONLY);
	V(-1, EBADF, "writev of a read-only /dev/iommu -> EBADF", writev(ro, iv, 1));
	V(-1, EINVAL, "readv of a read-only /dev/iommu -> EINVAL", readv(ro, iv, 1));
	close(ro);

	struct fault_alloc fa = { .size = sizeof(fa) };
	V(0, 0, "FAULT_QUEUE_ALLOC", ioctl(io, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	int ff = (int)fa.out_fault_fd;
	V(0, 0, "readv of an empty fault queue: 0", readv(ff, iv, 2));
	V(0, 0, "readv of no segments: 0", readv(ff, iv, 0));
	struct iovec odd[2] = { { b, 10 }, { b + 10, 40 } };
	V(-1, ESPIPE, "readv, first segment not whole records -> ESPIPE", readv(ff, odd, 2));
	struct iovec z[3] = { { b, 0 }, { b, 0 }, { b, 10 } };
	V(-1, ESPIPE, "readv, empty segments then 10 bytes -> ESPIPE", readv(ff, z, 3));
	V(0, 0, "readv of only empty segments: 0", readv(ff, z, 2));
	V(-1, EINVAL, "readv of 1025 segments -> EINVAL (UIO_MAXIOV)", readv(ff, many, 1025));
	V(-1, EINVAL, "readv of -1 segments -> EINVAL", readv(ff, iv, minus_one));
	V(-1, EFAULT, "readv of an unmapped iovec array -> EFAULT", readv(ff, unmapped, 2));
	V(-1, EFAULT, "readv of one unmapped iovec -> EFAULT", readv(ff, unmapped, 1));
	struct iovec kb[2] = { { (void *)0xffff888000000000ul, 40 }, { b, 40 } };
	V(-1, EFAULT, "readv into a kernel address -> EFAULT", readv(ff, kb, 2));
	V(-1, EFAULT, "readv into a kernel address, one segment -> EFAULT", readv(ff, kb, 1));
	struct iovec neg[2] = { { b, (size_t)-1 }, { b, 40 } };
	V(-1, EINVAL, "readv of a negative length -> EINVAL", readv(ff, neg, 2));
	V(-1, EINVAL, "readv of one negative length -> EINVAL", readv(ff, neg, 1));
	V(-1, ESPIPE, "preadv of a fault fd -> ESPIPE (not positional)", preadv(ff, iv, 1, 0));
	V(-1, ESPIPE, "preadv2 at -1 is readv: the fault fd's read -> ESPIPE", preadv2(ff, odd, 1, -1, 0));
	V(0, 0, "preadv2 at -1 of whole records: 0", preadv2(ff, iv, 1, -1, 0));
	V(-1, EOPNOTSUPP, "preadv2 with RWF_NOWAIT -> EOPNOTSUPP (no read_iter)", preadv2(ff, iv, 1, -1, RWF_NOWAIT));
	V(0, 0, "preadv2 with RWF_HIPRI reads", preadv2(ff, iv, 1, -1, RWF_HIPRI));
	V(0, 0, "preadv2 with RWF_NOWAIT and no segments: 0", preadv2(ff, iv, 0, -1, RWF_NOWAIT));
	V(-1, EINVAL, "preadv2 at -2 -> EINVAL", preadv2(ff, iv, 1, -2, 0));
	struct page_response resp = { .cookie = 77, .code = 0 };
	struct iovec wv[2] = { { &resp, sizeof(resp) }, { &resp, sizeof(resp) } };
	V(-1, EINVAL, "writev of a response to no fault -> EINVAL", writev(ff, wv, 2));
	struct iovec wo[1] = { { &resp, 5 } };
	V(-1, ESPIPE, "writev of a partial response -> ESPIPE", writev(ff, wo, 1));
	V(0, 0, "writev of no segments: 0", writev(ff, wv, 0));
	V(-1, ESPIPE, "pwritev of a fault fd -> ESPIPE", pwritev(ff, wv, 1, 0));

	V(0, 0, "fchmod of /dev/iommu by root", fchmod(io, 0660));
	V(0, 0, "fchown of /dev/iommu to root:root", fchown(io, 0, 0));
	V(0, 0, "fchown of /dev/iommu changing nothing", fchown(io, -1, -1));
	V(0, 0, "fchownat of /dev/iommu through AT_EMPTY_PATH", fchownat(io, "", 0, 0, AT_EMPTY_PATH));
	V(seven ? -1 : 0, EOPNOTSUPP, "fchmod of a fault fd (7.x EOPNOTSUPP, 6.12 0)", fchmod(ff, 0600));
	V(seven ? -1 : 0, EOPNOTSUPP, "fchown of a fault fd (7.x EOPNOTSUPP, 6.12 0)", fchown(ff, 0, 0));
	struct stat nul;
	check(stat("/dev/null", &nul) == 0 && (nul.st_mode & 0777) == 0666, "/dev/null is still mode 0666", nul.st_mode);

	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	V(0, 0, "statx of the /dev/iommu descriptor", statx(io, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	check(sx.stx_mode == (S_IFCHR | 0660) && sx.stx_rdev_major == 10 && sx.stx_rdev_minor == 258 && sx.stx_size == 0 &&
		      sx.stx_nlink == 1 && sx.stx_blksize == 4096,
	      "statx: a misc character device 10:258, mode 0660", sx.stx_mode);
	memset(&sx, 0, sizeof(sx));
	V(0, 0, "statx of the path /dev/iommu", statx(AT_FDCWD, "/dev/iommu", 0, STATX_BASIC_STATS, &sx));
	check(sx.stx_mode == (S_IFCHR | 0660) && sx.stx_rdev_major == 10 && sx.stx_rdev_minor == 258, "statx of the path: the same device", sx.stx_mode);
	memset(&sx, 0, sizeof(sx));
	V(0, 0, "statx of a fault fd", statx(ff, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	check(sx.stx_mode == 0600 && sx.stx_rdev_major == 0 && sx.stx_rdev_minor == 0, "statx of a fault fd: the anon inode, mode 0600", sx.stx_mode);
	V(-1, EINVAL, "statx with both sync flags -> EINVAL", statx(io, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx));
	V(-1, EINVAL, "statx with a reserved mask bit -> EINVAL", statx(io, "", AT_EMPTY_PATH, 0x80000000u, &sx));
	V(-1, EFAULT, "statx into an unmapped buffer -> EFAULT", statx(io, "", AT_EMPTY_PATH, STATX_BASIC_STATS, (struct statx *)8));
	memset(&sx, 0, sizeof(sx));
	V(0, 0, "statx of /dev/vfio/vfio", statx(AT_FDCWD, "/dev/vfio/vfio", 0, STATX_BASIC_STATS, &sx));
	check(sx.stx_mode == (S_IFCHR | 0666) && sx.stx_rdev_major == 10 && sx.stx_rdev_minor == 196, "statx of /dev/vfio/vfio: 10:196, mode 0666", sx.stx_mode);
	return failed;
}
