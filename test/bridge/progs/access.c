// SPDX-License-Identifier: GPL-2.0-only
/*
 * access(2) and its kin on the files the model answers for: access,
 * faccessat (with AT_EACCESS, AT_SYMLINK_NOFOLLOW, a bad flag, a bad mode),
 * euidaccess, and the raw access, faccessat, faccessat2, stat and lstat
 * system calls, of /dev/iommu, /dev/vfio/vfio, /proc/self/status and a path
 * that does not exist, as root. Each prints its result, so that the oracle
 * suite compares the output on Linux 6.12 and 7.2 with the output under
 * exec. Not a check program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, const char *path, long r)
{
	printf("%s %s -> %ld %d\n", what, path, r, r < 0 ? errno : 0);
	fflush(stdout);
}

#define R(what, path, x)                   \
	do {                               \
		errno = 0;                 \
		show(what, path, (long)(x)); \
	} while (0)

int main(void)
{
	static const char *const paths[] = { "/dev/iommu", "/dev/vfio/vfio", "/proc/self/status", "/dev/iommu-none" };
	struct stat st;
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = paths[i];
		R("access F_OK", p, access(p, F_OK));
		R("access R_OK|W_OK", p, access(p, R_OK | W_OK));
		R("faccessat F_OK", p, faccessat(AT_FDCWD, p, F_OK, 0));
		R("faccessat W_OK AT_EACCESS", p, faccessat(AT_FDCWD, p, W_OK, AT_EACCESS));
		R("faccessat R_OK AT_SYMLINK_NOFOLLOW", p, faccessat(AT_FDCWD, p, R_OK, AT_SYMLINK_NOFOLLOW));
		R("faccessat bad flag", p, faccessat(AT_FDCWD, p, F_OK, 0x8000000));
		R("faccessat bad mode", p, faccessat(AT_FDCWD, p, 0x10, 0));
		R("euidaccess R_OK", p, euidaccess(p, R_OK));
		R("SYS_access", p, syscall(SYS_access, p, F_OK));
		R("SYS_faccessat", p, syscall(SYS_faccessat, AT_FDCWD, p, R_OK));
		R("SYS_faccessat2", p, syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, AT_EACCESS));
		errno = 0;
		long r = syscall(SYS_stat, p, &st);
		show("SYS_stat", p, r);
		if (r == 0)
			printf("  mode %o major %u\n", st.st_mode & S_IFMT, S_ISCHR(st.st_mode) ? major(st.st_rdev) : 0);
		R("SYS_lstat", p, syscall(SYS_lstat, p, &st));
	}
	printf("done\n");
	return 0;
}
