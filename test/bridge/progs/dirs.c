// SPDX-License-Identifier: GPL-2.0-only
/*
 * Listing the directories the device nodes are in: /dev/vfio through
 * opendir/readdir, scandir, and getdents64 on a descriptor (each entry's
 * name, type, whether its inode is the one stat() shows, the record
 * lengths and the offsets that seekdir/telldir go back to), and that /dev
 * lists iommu (a character device) and vfio (a directory). Each step prints
 * its result, so that the oracle suite compares the output on Linux 6.12 and
 * 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "progs.h"

struct ent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static unsigned long ino_of(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (unsigned long)st.st_ino;
}

/* what readdir gives for the directory: name, type, inode as stat() of dir/name has it */
static void list(const char *dir)
{
	errno = 0;
	DIR *d = opendir(dir);
	printf("opendir %s -> %d %d\n", dir, d != NULL, d ? 0 : errno);
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		printf("  %s type %d ino-as-stat %d off %ld\n", e->d_name, e->d_type, e->d_ino == ino_of(p), (long)e->d_off);
		n++;
	}
	printf("  %d entries, then readdir -> NULL errno %d\n", n, errno);
	closedir(d);
}

/* /dev holds iommu and vfio (its other nodes differ between machines: not printed) */
static void dev_has(void)
{
	DIR *d = opendir("/dev");
	int iommu = -1, vfio = -1;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, "iommu"))
			iommu = e->d_type;
		if (!strcmp(e->d_name, "vfio"))
			vfio = e->d_type;
	}
	if (d)
		closedir(d);
	printf("/dev lists iommu type %d, vfio type %d\n", iommu, vfio);
}

static int no_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(void)
{
	list("/dev/vfio");
	list("/dev/vfio/");
	list("/dev/vfio/../vfio");
	list("/dev/vfio/vfio");
	list("/dev/iommu/");
	dev_has();

	struct dirent **names;
	errno = 0;
	SAID("scandir of /dev/iommu", scandir("/dev/iommu", &names, no_dots, alphasort));
	int n = scandir("/dev/vfio", &names, no_dots, alphasort);
	printf("scandir /dev/vfio without dots -> %d %d\n", n, n < 0 ? errno : 0);
	for (int i = 0; i < n; i++) {
		printf("  %s type %d\n", names[i]->d_name, names[i]->d_type);
		free(names[i]);
	}
	if (n >= 0)
		free(names);

	/* telldir after each entry, then seekdir back to each */
	DIR *d = opendir("/dev/vfio");
	long pos[8];
	char seen[8][64];
	int k = 0;
	struct dirent *e;
	pos[0] = telldir(d);
	while (k < 7 && (e = readdir(d))) {
		snprintf(seen[k], sizeof(seen[k]), "%.63s", e->d_name);
		pos[++k] = telldir(d);
	}
	for (int i = k - 1; i >= 0; i--) {
		seekdir(d, pos[i]);
		e = readdir(d);
		printf("seekdir to %ld, before entry %d: %s, same %d\n", pos[i], i, e ? e->d_name : "(end)", e && !strcmp(e->d_name, seen[i]));
	}
	rewinddir(d);
	e = readdir(d);
	printf("rewinddir, then readdir: %s\n", e ? e->d_name : "(end)");
	printf("dirfd is a descriptor: %d\n", dirfd(d) >= 0);
	closedir(d);

	/* getdents64 on a descriptor: records, lengths, offsets, a buffer too small, and the end */
	int fd = open("/dev/vfio", O_RDONLY | O_DIRECTORY);
	SAID("open /dev/vfio O_DIRECTORY", fd >= 0 ? 0 : -1);
	char buf[4096];
	SAID("getdents64 with a 16-byte buffer", syscall(SYS_getdents64, fd, buf, 16));
	long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	said("getdents64", r);
	for (long o = 0; r > 0 && o < r;) {
		struct ent64 *x = (struct ent64 *)(buf + o);
		printf("  %s type %d reclen %d off %lld\n", x->name, x->type, x->reclen, (long long)x->off);
		o += x->reclen;
	}
	SAID("the position after it", lseek(fd, 0, SEEK_CUR));
	SAID("getdents64 at the end", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	SAID("lseek SEEK_END", lseek(fd, 0, SEEK_END));
	SAID("lseek SEEK_CUR -1 from 0", (lseek(fd, 0, SEEK_SET), lseek(fd, -1, SEEK_CUR)));
	SAID("getdents64 with room for one record", syscall(SYS_getdents64, fd, buf, 30));
	SAID("the position after it", lseek(fd, 0, SEEK_CUR));
	SAID("getdents64 with room for one more", syscall(SYS_getdents64, fd, buf, 30));
	SAID("the position after it", lseek(fd, 0, SEEK_CUR));
	SAID("getdents64 too small for the next", syscall(SYS_getdents64, fd, buf, 20));
	SAID("the position after it", lseek(fd, 0, SEEK_CUR));
	static const long at[] = { 1, 2, 3, 4, 100, 0x7ffffffe, 0x7fffffff, 0x80000000L, 0x100000000L };
	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		char what[96];
		lseek(fd, at[i], SEEK_SET);
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		snprintf(what, sizeof(what), "getdents64 from position %#lx", at[i]);
		said(what, n);
		for (long o = 0; n > 0 && o < n;) {
			struct ent64 *x = (struct ent64 *)(buf + o);
			printf("  %s off %lld\n", x->name, (long long)x->off);
			o += x->reclen;
		}
	}
	SAID("lseek to 0", lseek(fd, 0, SEEK_SET));
	SAID("getdents64 after lseek", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	SAID("getdents64 into a bad pointer", syscall(SYS_getdents64, fd, (void *)8, sizeof(buf)));
	SAID("lseek to 0", lseek(fd, 0, SEEK_SET));
	char *ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(ro + 4096, 4096, PROT_READ);
	SAID("getdents64 across into a read-only page", syscall(SYS_getdents64, fd, ro + 4096 - 40, 200));
	SAID("the position after it", lseek(fd, 0, SEEK_CUR));
	SAID("lseek to 0", lseek(fd, 0, SEEK_SET));
	SAID("getdents64 into a bad pointer from the start", syscall(SYS_getdents64, fd, (void *)8, sizeof(buf)));
	SAID("read of the directory", read(fd, buf, 16));
	close(fd);

	/* getdents64 of what is not a directory */
	fd = open("/dev/iommu", O_RDWR);
	SAID("getdents64 of /dev/iommu", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	close(fd);
	fd = open("/dev/vfio", O_PATH);
	SAID("getdents64 of an O_PATH /dev/vfio", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	close(fd);
	SAID("getdents64 of a closed descriptor", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	errno = 0;
	d = fdopendir(open("/dev/iommu", O_RDWR));
	printf("fdopendir of /dev/iommu -> %d %d\n", d != NULL, d ? 0 : errno);
	fd = open("/dev/vfio", O_RDONLY);
	d = fdopendir(fd);
	e = d ? readdir(d) : NULL;
	printf("fdopendir of /dev/vfio, then readdir -> %s\n", e ? e->d_name : "(none)");
	if (d)
		closedir(d);
	SAID("fcntl F_GETFD of the descriptor closedir closed", fcntl(fd, F_GETFD));

	/* glob(3) over the directories, which glibc opens and reads inside libc */
	static const char *const pats[] = { "/dev/vfio/*", "/dev/vfio/[0-9]*", "/dev/io*", "/dev/vfi?/vf*", "/dev/vfio/vfio", "/dev/vfio/*/x" };
	for (unsigned i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		glob_t g;
		int r = glob(pats[i], 0, NULL, &g);
		printf("glob %s -> %d:", pats[i], r);
		for (size_t k = 0; r == 0 && k < g.gl_pathc; k++)
			printf(" %s", g.gl_pathv[k]);
		printf("\n");
		if (r == 0)
			globfree(&g);
	}

	/* statfs(2) and statvfs(3) of the nodes' names: the filesystem of /dev */
	struct statfs devfs, sf;
	struct statvfs devvfs, sv;
	statfs("/dev", &devfs);
	statvfs("/dev", &devvfs);
	static const char *const snames[] = { "/dev/iommu", "/dev/./iommu", "/dev/vfio", "/dev/vfio/vfio", "/dev/iommu/", "/dev/vfio/none" };
	for (unsigned i = 0; i < sizeof(snames) / sizeof(snames[0]); i++) {
		char what[96];
		errno = 0;
		int r = statfs(snames[i], &sf);
		snprintf(what, sizeof(what), "statfs %s, /dev's type %d", snames[i], r == 0 && sf.f_type == devfs.f_type);
		said(what, r);
		errno = 0;
		r = statvfs(snames[i], &sv);
		snprintf(what, sizeof(what), "statvfs %s, /dev's fsid %d", snames[i], r == 0 && sv.f_fsid == devvfs.f_fsid);
		said(what, r);
	}
	printf("done\n");
	return 0;
}
