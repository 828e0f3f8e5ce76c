// SPDX-License-Identifier: GPL-2.0-only
/*
 * access(2) and its kin on the files the model answers for: access,
 * faccessat (with AT_EACCESS, AT_SYMLINK_NOFOLLOW, a bad flag, a bad mode),
 * euidaccess, and the raw access, faccessat, faccessat2, stat and lstat
 * system calls, of /dev/iommu, /dev/vfio/vfio, /proc/self/status and a path
 * that does not exist: as root (X_OK too, EACCES even for root where no x
 * bit is set, generic_permission()), then as uid and gid 1000, where the
 * others' bits decide. Each prints its result, so that the oracle suite
 * compares the output on Linux 6.12 and 7.2 with the output under exec.
 * Not a check program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

/* "what path" as the line's first part */
static const char *on(const char *what, const char *path)
{
	static char line[160];
	snprintf(line, sizeof(line), "%s %s", what, path);
	return line;
}

int main(void)
{
	static const char *const paths[] = { "/dev/iommu", "/dev/vfio/vfio", "/proc/self/status", "/dev/iommu-none" };
	struct stat st;
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = paths[i];
		SAID(on("access F_OK", p), access(p, F_OK));
		SAID(on("access R_OK|W_OK", p), access(p, R_OK | W_OK));
		SAID(on("access X_OK", p), access(p, X_OK));
		SAID(on("faccessat F_OK", p), faccessat(AT_FDCWD, p, F_OK, 0));
		SAID(on("faccessat W_OK AT_EACCESS", p), faccessat(AT_FDCWD, p, W_OK, AT_EACCESS));
		SAID(on("faccessat R_OK AT_SYMLINK_NOFOLLOW", p), faccessat(AT_FDCWD, p, R_OK, AT_SYMLINK_NOFOLLOW));
		SAID(on("faccessat bad flag", p), faccessat(AT_FDCWD, p, F_OK, 0x8000000));
		SAID(on("faccessat bad mode", p), faccessat(AT_FDCWD, p, 0x10, 0));
		SAID(on("euidaccess R_OK", p), euidaccess(p, R_OK));
		SAID(on("SYS_access", p), syscall(SYS_access, p, F_OK));
		SAID(on("SYS_faccessat", p), syscall(SYS_faccessat, AT_FDCWD, p, R_OK));
		SAID(on("SYS_faccessat2", p), syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, AT_EACCESS));
		errno = 0;
		long r = syscall(SYS_stat, p, &st);
		said(on("SYS_stat", p), r);
		if (r == 0)
			printf("  mode %o major %u\n", st.st_mode & S_IFMT, S_ISCHR(st.st_mode) ? major(st.st_rdev) : 0);
		SAID(on("SYS_lstat", p), syscall(SYS_lstat, p, &st));
	}
	/* as uid and gid 1000, without capabilities: the others' bits decide (root owns every node here) */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0)
			_exit(2);
		for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			SAID(on("uid 1000: access R_OK", paths[i]), access(paths[i], R_OK));
			SAID(on("uid 1000: access W_OK", paths[i]), access(paths[i], W_OK));
			SAID(on("uid 1000: faccessat R_OK|W_OK AT_EACCESS", paths[i]), faccessat(AT_FDCWD, paths[i], R_OK | W_OK, AT_EACCESS));
		}
		_exit(0);
	}
	int st2 = 0;
	waitpid(pid, &st2, 0);
	printf("child status %x\n", st2);
	printf("done\n");
	return 0;
}
