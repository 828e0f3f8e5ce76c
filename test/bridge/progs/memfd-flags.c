/*
 * A memfd's file status flags (fcntl F_GETFL / F_SETFL, setfl()): O_APPEND
 * set on one descriptor makes every write of that open file go to the end,
 * pwrite included (a Linux quirk: generic_write_checks() takes the end for
 * IOCB_APPEND), and a dup shares it; a reopen through /proc/self/fd has its
 * own. The same on 6.12.95 and 7.2.13.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include "progs.h"

int main(void)
{
	char b[16] = { 0 };
	int m = memfd_create("m", 0);
	V(3, 0, "write abc", write(m, "abc", 3));
	V(0, 0, "lseek to 0", lseek(m, 0, SEEK_SET));
	check(!(fcntl(m, F_GETFL) & O_APPEND), "F_GETFL: no O_APPEND", fcntl(m, F_GETFL));
	V(0, 0, "F_SETFL O_APPEND", fcntl(m, F_SETFL, O_APPEND));
	check((fcntl(m, F_GETFL) & (O_APPEND | O_ACCMODE)) == (O_APPEND | O_RDWR), "F_GETFL: O_APPEND | O_RDWR", fcntl(m, F_GETFL));
	V(1, 0, "write d", write(m, "d", 1));
	V(4, 0, "goes to the end: the position is 4", lseek(m, 0, SEEK_CUR));
	V(1, 0, "pwrite Z at 0", pwrite(m, "Z", 1, 0));
	V(5, 0, "pread", pread(m, b, sizeof(b), 0));
	check(!memcmp(b, "abcdZ", 5), "appended, pwrite too", b[0]);
	int d = dup(m);
	check(fcntl(d, F_GETFL) & O_APPEND, "a dup shares O_APPEND", fcntl(d, F_GETFL));
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	int o = open(path, O_RDWR);
	check(o >= 0 && !(fcntl(o, F_GETFL) & O_APPEND), "a reopen has its own flags", fcntl(o, F_GETFL));
	V(1, 0, "pwrite Q at 0 through it", pwrite(o, "Q", 1, 0));
	V(0, 0, "F_SETFL 0 on the first", fcntl(m, F_SETFL, 0));
	check(!(fcntl(d, F_GETFL) & O_APPEND), "the dup sees it cleared", fcntl(d, F_GETFL));
	V(0, 0, "lseek to 0", lseek(m, 0, SEEK_SET));
	V(1, 0, "write Y", write(m, "Y", 1));
	memset(b, 0, sizeof(b));
	V(5, 0, "pread", pread(m, b, sizeof(b), 0));
	check(!memcmp(b, "YbcdZ", 5), "written at the position", b[0]);
	return failed;
}
