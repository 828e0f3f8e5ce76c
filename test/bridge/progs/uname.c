/*
 * The kernel a program asks about is the one it runs on: uname(2) (libc's
 * and the raw system call), /proc/sys/kernel/osrelease and /proc/version
 * agree on the release, 7.2.13 or 6.12.95 (under exec, the profile's: the
 * line "ok the release is ..." names it). osrelease is a read-only sysctl: even
 * root cannot open it for writing (EACCES); /proc/version opens for root and
 * refuses the write (EIO). The same on 6.12.95 and 7.2.13.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include "progs.h"

int main(void)
{
	struct utsname u, raw;
	check(uname(&u) == 0, "uname", errno);
	check(syscall(SYS_uname, &raw) == 0 && !strcmp(raw.release, u.release), "the raw uname says the same release", 0);
	check(!strcmp(u.release, "7.2.13") || !strcmp(u.release, "6.12.95"), "an oracle kernel's release", 0);
	char named[96];
	snprintf(named, sizeof(named), "the release is %s", u.release);
	check(1, named, 0);
	char b[128] = "";
	int f = open("/proc/sys/kernel/osrelease", O_RDONLY);
	check(f >= 0 && read(f, b, sizeof(b) - 1) > 0, "read /proc/sys/kernel/osrelease", errno);
	close(f);
	b[strcspn(b, "\n")] = 0;
	check(!strcmp(b, u.release), "osrelease is uname's release", 0);
	FILE *v = fopen("/proc/version", "r");
	char line[512] = "", want[160];
	check(v && fgets(line, sizeof(line), v), "read /proc/version", errno);
	if (v)
		fclose(v);
	snprintf(want, sizeof(want), "Linux version %s ", u.release);
	check(!strncmp(line, want, strlen(want)), "/proc/version names it", 0);
	V(-1, EACCES, "osrelease opened for writing: EACCES (a read-only sysctl, root too)", open("/proc/sys/kernel/osrelease", O_WRONLY));
	int w = open("/proc/version", O_WRONLY);
	check(w >= 0, "root opens /proc/version for writing", errno);
	V(-1, EIO, "and the write: EIO", write(w, "x", 1));
	return failed;
}
