// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device nodes opened by other names and other calls: a path that is not
 * written canonically ("//dev/iommu", "/dev/./iommu", "/dev/vfio/../iommu",
 * a trailing slash), a name relative to a descriptor of /dev or to the
 * working directory, openat2() with each check of its open_how
 * (build_open_flags(), copy_struct_from_user(), the RESOLVE_ scoping), the
 * open flags that are no open flags (build_open_how() drops them; F_GETFL
 * shows what the file keeps), and 7.2's O_EMPTYPATH reopening the file a
 * descriptor names. Each step prints its result, so that the oracle suite
 * compares the output on Linux 6.12 and 7.2 with the output under exec. Not a
 * check program.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>

#include "progs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct how { uint64_t flags, mode, resolve; };

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20
#define OPENAT2_REGULAR (1ULL << 32)
#define EMPTYPATH (1 << 26)

/* A descriptor as 1 (its number is no concern here), a failure as itself; the descriptor closed. */
static long one(long r)
{
	if (r >= 0)
		close((int)r);
	return r < 0 ? r : 1;
}

static long o2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct how h = { flags, mode, resolve };
	return syscall(SYS_openat2, dirfd, path, &h, sizeof(h));
}

/* The first IOAS a descriptor's context allocates (a new context's is 1), or the failure. */
static long first_ioas(long fd)
{
	if (fd < 0)
		return fd;
	struct ioas_alloc x = { .size = sizeof(x) };
	long r = ioctl((int)fd, IOMMU_IOAS_ALLOC, &x);
	close((int)fd);
	return r < 0 ? r : (long)x.out_ioas_id;
}

/* F_GETFL of the file `open` gave, or the failure */
static long getfl(long fd)
{
	if (fd < 0)
		return fd;
	long r = fcntl((int)fd, F_GETFL);
	close((int)fd);
	return r;
}

int main(void)
{
	static const char *names[] = { "//dev/iommu", "/dev//iommu", "/dev/./iommu", "/./dev/iommu", "/dev/vfio/../iommu",
				       "/dev/../dev/iommu", "/../dev/iommu", "/dev/iommu/", "/dev/iommu/.", "/dev/vfio//vfio",
				       "/dev/vfio/./vfio", "/dev/vfio/", "/dev/vfio/nope", "/dev/vfio/vfio/" };
	char line[128];
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "open %s", names[i]);
		SAID(line, one(open(names[i], O_RDWR)));
		struct stat st;
		snprintf(line, sizeof(line), "stat %s", names[i]);
		errno = 0;
		long r = stat(names[i], &st);
		printf("%s -> %ld %d mode %o\n", line, r, r < 0 ? errno : 0, r < 0 ? 0 : st.st_mode & S_IFMT);
		snprintf(line, sizeof(line), "access %s", names[i]);
		SAID(line, access(names[i], R_OK | W_OK));
	}

	/* the directory of the VFIO nodes: its attributes, and what an open of it may do */
	struct stat ds;
	errno = 0;
	long dr = stat("/dev/vfio", &ds);
	printf("stat /dev/vfio -> %ld %d mode %o nlink %ld size %ld uid %d\n", dr, dr < 0 ? errno : 0, dr < 0 ? 0 : ds.st_mode, dr < 0 ? 0 : (long)ds.st_nlink, dr < 0 ? 0 : (long)ds.st_size, dr < 0 ? -1 : (int)ds.st_uid);
	int vd = open("/dev/vfio", O_RDONLY | O_DIRECTORY);
	said("open /dev/vfio O_RDONLY | O_DIRECTORY", vd < 0 ? vd : 1);
	errno = 0;
	dr = vd < 0 ? -1 : fstat(vd, &ds);
	printf("fstat of it -> %ld %d mode %o\n", dr, dr < 0 ? errno : 0, dr < 0 ? 0 : ds.st_mode);
	char rb[8];
	SAID("read of it", read(vd, rb, sizeof(rb)));
	SAID("close it", close(vd));
	SAID("open /dev/vfio O_WRONLY", one(open("/dev/vfio", O_WRONLY)));
	SAID("open /dev/vfio O_RDONLY | O_TRUNC", one(open("/dev/vfio", O_RDONLY | O_TRUNC)));
	SAID("open /dev/vfio O_CREAT", one(open("/dev/vfio", O_RDONLY | O_CREAT, 0600)));
	SAID("open /dev/vfio O_CREAT | O_EXCL", one(open("/dev/vfio", O_RDONLY | O_CREAT | O_EXCL, 0600)));
	SAID("open /dev/vfio O_PATH", one(open("/dev/vfio", O_PATH)));
	SAID("access /dev/vfio X_OK", access("/dev/vfio", X_OK));
	/* O_CREAT with a trailing slash is EISDIR before the last name is looked up (open_last_lookups()) */
	static const char *slashed[] = { "/dev/iommu/", "/dev/vfio/", "/dev/vfio/nope/", "/dev/iommu/.", "/dev/vfio/vfio/" };
	for (unsigned i = 0; i < sizeof(slashed) / sizeof(slashed[0]); i++) {
		snprintf(line, sizeof(line), "open %s O_CREAT", slashed[i]);
		SAID(line, one(open(slashed[i], O_RDWR | O_CREAT, 0600)));
		snprintf(line, sizeof(line), "open %s O_CREAT | O_EXCL", slashed[i]);
		SAID(line, one(open(slashed[i], O_RDWR | O_CREAT | O_EXCL, 0600)));
		snprintf(line, sizeof(line), "openat2 %s O_CREAT", slashed[i]);
		SAID(line, one(o2(AT_FDCWD, slashed[i], O_RDWR | O_CREAT, 0600, 0)));
	}
	SAID("openat2 /dev/vfio OPENAT2_REGULAR", o2(AT_FDCWD, "/dev/vfio", O_RDONLY | OPENAT2_REGULAR, 0, 0));

	int dev = open("/dev", O_RDONLY | O_DIRECTORY);
	SAID("openat(/dev, iommu)", first_ioas(openat(dev, "iommu", O_RDWR)));
	SAID("openat(/dev, vfio/vfio)", one(openat(dev, "vfio/vfio", O_RDWR)));
	SAID("openat(/dev, ./iommu)", one(openat(dev, "./iommu", O_RDWR)));
	SAID("openat(/dev, ../dev/iommu)", one(openat(dev, "../dev/iommu", O_RDWR)));
	struct stat st;
	SAID("fstatat(/dev, iommu)", fstatat(dev, "iommu", &st, 0));
	SAID("faccessat(/dev, iommu)", faccessat(dev, "iommu", R_OK, 0));
	int root = open("/", O_RDONLY | O_DIRECTORY);
	SAID("openat(/, dev/iommu)", one(openat(root, "dev/iommu", O_RDWR)));
	SAID("chdir /dev", chdir("/dev"));
	SAID("open iommu from /dev", first_ioas(open("iommu", O_RDWR)));
	SAID("open vfio/vfio from /dev", one(open("vfio/vfio", O_RDWR)));
	SAID("stat iommu from /dev", stat("iommu", &st));
	SAID("chdir /", chdir("/"));
	SAID("open dev/iommu from /", one(open("dev/iommu", O_RDWR)));

	/* open flags that are none (build_open_how() keeps VALID_OPEN_FLAGS) and what F_GETFL shows */
	static const unsigned int bits[] = { 0, O_APPEND, O_NONBLOCK, O_DSYNC, O_SYNC, 04000000 /* __O_SYNC */, FASYNC, O_NOATIME, O_LARGEFILE,
					     EMPTYPATH, 1u << 27, 1u << 28, 1u << 29, 1u << 30, 1u << 31, O_NOFOLLOW, O_NOCTTY };
	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		snprintf(line, sizeof(line), "F_GETFL of open(/dev/iommu, O_RDWR | %#x)", bits[i]);
		SAID(line, getfl(open("/dev/iommu", O_RDWR | bits[i])));
	}

	/* openat2(): the size, the struct's tail, each flag check, then the walk */
	struct { struct how h; uint64_t tail[2]; } big = { { O_RDWR, 0, 0 }, { 0, 0 } };
	SAID("openat2 size 0", syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", &big, 0));
	SAID("openat2 size 16", syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", &big, 16));
	SAID("openat2 size 4097", syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", &big, 4097));
	SAID("openat2 size 40, zero tail", one(syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", &big, 40)));
	big.tail[1] = 1;
	SAID("openat2 size 40, nonzero tail", syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", &big, 40));
	SAID("openat2 bad how", syscall(SYS_openat2, AT_FDCWD, "/dev/iommu", (void *)8, 24));
	SAID("openat2 bad path", o2(AT_FDCWD, (const char *)8, O_RDWR, 0, 0));
	SAID("openat2 bad path, bad flags", o2(AT_FDCWD, (const char *)8, 1u << 30, 0, 0));
	SAID("openat2 empty path", o2(AT_FDCWD, "", O_RDWR, 0, 0));
	SAID("openat2 /dev/iommu", first_ioas(o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, 0)));
	SAID("openat2 /dev/vfio/vfio", one(o2(AT_FDCWD, "/dev/vfio/vfio", O_RDWR, 0, 0)));
	SAID("openat2 /dev/vfio/nope", o2(AT_FDCWD, "/dev/vfio/nope", O_RDWR, 0, 0));
	SAID("openat2 flags bit 30", o2(AT_FDCWD, "/dev/iommu", O_RDWR | (1u << 30), 0, 0));
	SAID("openat2 flags bit 40", o2(AT_FDCWD, "/dev/iommu", O_RDWR | (1ull << 40), 0, 0));
	SAID("openat2 O_EMPTYPATH bit", one(o2(AT_FDCWD, "/dev/iommu", O_RDWR | EMPTYPATH, 0, 0)));
	SAID("openat2 OPENAT2_REGULAR", o2(AT_FDCWD, "/dev/iommu", O_RDWR | OPENAT2_REGULAR, 0, 0));
	SAID("openat2 OPENAT2_REGULAR | O_DIRECTORY", o2(AT_FDCWD, "/dev/iommu", O_RDONLY | O_DIRECTORY | OPENAT2_REGULAR, 0, 0));
	SAID("openat2 mode without O_CREAT", o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0600, 0));
	SAID("openat2 O_CREAT mode 010000", o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_CREAT, 010000, 0));
	SAID("openat2 O_CREAT mode 0600", one(o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_CREAT, 0600, 0)));
	SAID("openat2 O_CREAT | O_EXCL", o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_CREAT | O_EXCL, 0600, 0));
	SAID("openat2 O_DIRECTORY | O_CREAT", o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_DIRECTORY | O_CREAT, 0, 0));
	SAID("openat2 O_DIRECTORY", o2(AT_FDCWD, "/dev/iommu", O_RDONLY | O_DIRECTORY, 0, 0));
	SAID("openat2 O_TMPFILE read-only", o2(AT_FDCWD, "/dev/iommu", O_RDONLY | O_TMPFILE, 0600, 0));
	SAID("openat2 O_PATH | O_RDWR", o2(AT_FDCWD, "/dev/iommu", O_PATH | O_RDWR, 0, 0));
	SAID("openat2 O_PATH", one(o2(AT_FDCWD, "/dev/iommu", O_PATH, 0, 0)));
	SAID("openat2 resolve 0x40", o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, 0x40));
	SAID("openat2 BENEATH | IN_ROOT", o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
	SAID("openat2 CACHED | O_TRUNC", o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED));
	SAID("openat2 CACHED", one(o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, RESOLVE_CACHED)));
	SAID("openat2 NO_SYMLINKS", one(o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, RESOLVE_NO_SYMLINKS)));
	SAID("openat2 NO_MAGICLINKS", one(o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, RESOLVE_NO_MAGICLINKS)));
	SAID("openat2 NO_XDEV from /", o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, RESOLVE_NO_XDEV));
	SAID("openat2 NO_XDEV from /dev", one(o2(dev, "iommu", O_RDWR, 0, RESOLVE_NO_XDEV)));
	SAID("openat2 BENEATH, absolute", o2(dev, "/dev/iommu", O_RDWR, 0, RESOLVE_BENEATH));
	SAID("openat2 BENEATH, relative", one(o2(dev, "iommu", O_RDWR, 0, RESOLVE_BENEATH)));
	SAID("openat2 BENEATH, ../dev/iommu", o2(dev, "../dev/iommu", O_RDWR, 0, RESOLVE_BENEATH));
	SAID("openat2 IN_ROOT /, /dev/iommu", one(o2(root, "/dev/iommu", O_RDWR, 0, RESOLVE_IN_ROOT)));
	SAID("openat2 IN_ROOT /dev, /iommu", one(o2(dev, "/iommu", O_RDWR, 0, RESOLVE_IN_ROOT)));
	SAID("openat2 IN_ROOT /dev, /dev/iommu", o2(dev, "/dev/iommu", O_RDWR, 0, RESOLVE_IN_ROOT));
	SAID("openat2 IN_ROOT /dev, ../iommu", one(o2(dev, "../iommu", O_RDWR, 0, RESOLVE_IN_ROOT)));
	SAID("F_GETFL of openat2 O_RDWR", getfl(o2(AT_FDCWD, "/dev/iommu", O_RDWR, 0, 0)));
	SAID("F_GETFL of openat2 O_RDWR | O_CLOEXEC", getfl(o2(AT_FDCWD, "/dev/iommu", O_RDWR | O_CLOEXEC, 0, 0)));

	/* O_EMPTYPATH (7.2): the descriptor's own file opened again; 6.12 drops the bit and finds no "" */
	int fd = open("/dev/iommu", O_RDWR);
	ioas_alloc(fd);
	SAID("openat(iommufd, \"\", O_EMPTYPATH): its first IOAS", first_ioas(openat(fd, "", O_RDWR | EMPTYPATH)));
	SAID("openat(AT_FDCWD, \"\", O_EMPTYPATH | O_DIRECTORY)", one(openat(AT_FDCWD, "", O_RDONLY | O_DIRECTORY | EMPTYPATH)));
	SAID("openat2(iommufd, \"\", O_EMPTYPATH): its first IOAS", first_ioas(o2(fd, "", O_RDWR | EMPTYPATH, 0, 0)));
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	SAID("FAULT_QUEUE_ALLOC", ioctl(fd, _IO(T, 0x8e), &fa));
	SAID("openat(fault queue, \"\", O_EMPTYPATH)", one(openat((int)fa.out_fault_fd, "", O_RDWR | EMPTYPATH)));
	SAID("openat(fault queue, \"\", O_EMPTYPATH | O_PATH)", one(openat((int)fa.out_fault_fd, "", O_PATH | EMPTYPATH)));
	int vfio = open("/dev/vfio/vfio", O_RDWR);
	SAID("openat(container, \"\", O_EMPTYPATH)", one(openat(vfio, "", O_RDWR | EMPTYPATH)));

	/* truncate(2) of the nodes and their directory by any name: a length below 0, the walk, then the file's type */
	static const char *const tnames[] = { "/dev/iommu", "/dev/./iommu", "//dev/vfio/../iommu", "/dev/vfio/vfio", "/dev/iommu/", "/dev/vfio", "/dev/vfio/", "/dev/vfio/none", "/dev/iommu/x" };
	for (unsigned i = 0; i < sizeof(tnames) / sizeof(tnames[0]); i++) {
		char what[96];
		snprintf(what, sizeof(what), "truncate %s", tnames[i]);
		SAID(what, truncate(tnames[i], 0));
		snprintf(what, sizeof(what), "truncate %s to -1", tnames[i]);
		SAID(what, truncate(tnames[i], -1));
	}

	/* realpath(3) of the nodes and their directory, glibc's walk with lstat and readlink */
	static const char *const rnames[] = { "/dev/iommu", "//dev/./iommu", "/dev/vfio/../iommu", "/dev/vfio/vfio", "/dev/vfio", "/dev/vfio/", "/dev/vfio/..", "/dev/iommu/", "/dev/vfio/none", "/dev/iommu/." };
	for (unsigned i = 0; i < sizeof(rnames) / sizeof(rnames[0]); i++) {
		char buf[4096];
		errno = 0;
		char *r = realpath(rnames[i], buf);
		printf("realpath %s -> %s %d\n", rnames[i], r ? r : "(null)", r ? 0 : errno);
	}

	/* readlink(2) and link(2) of them: no symbolic link (EINVAL), and devtmpfs is a mount of its own (EXDEV) */
	char lb[64];
	SAID("readlink /dev/iommu", readlink("/dev/iommu", lb, sizeof(lb)));
	SAID("readlink /dev/vfio", readlink("/dev/vfio", lb, sizeof(lb)));
	SAID("readlink /dev/./iommu", readlink("/dev/./iommu", lb, sizeof(lb)));
	SAID("readlink /dev/iommu/", readlink("/dev/iommu/", lb, sizeof(lb)));
	SAID("readlink /dev/vfio/none", readlink("/dev/vfio/none", lb, sizeof(lb)));
	SAID("readlink /dev/iommu, no room", readlink("/dev/iommu", lb, 0));
	SAID("link /dev/iommu /tmp/io-link", link("/dev/iommu", "/tmp/io-link"));
	SAID("link /dev/iommu /none/x", link("/dev/iommu", "/none/x"));
	SAID("link /dev/vfio/none /tmp/x", link("/dev/vfio/none", "/tmp/x"));
	SAID("link /tmp /dev/vfio/x", link("/tmp", "/dev/vfio/x"));
	SAID("link /tmp /dev/vfio/vfio", link("/tmp", "/dev/vfio/vfio"));
	SAID("link /dev/iommu /tmp", link("/dev/iommu", "/tmp"));
	SAID("link /dev/iommu /dev/iommu/x", link("/dev/iommu", "/dev/iommu/x"));
	SAID("linkat AT_SYMLINK_FOLLOW /dev/iommu /tmp/z", linkat(AT_FDCWD, "/dev/iommu", AT_FDCWD, "/tmp/z", AT_SYMLINK_FOLLOW));
	SAID("chdir /dev", chdir("/dev"));
	char *rr = realpath("vfio/../iommu", NULL);
	printf("realpath vfio/../iommu from /dev -> %s\n", rr ? rr : "(null)");
	free(rr);
	printf("done\n");
	return 0;
}
