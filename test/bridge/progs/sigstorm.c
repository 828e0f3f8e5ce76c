// SPDX-License-Identifier: GPL-2.0-only
/*
 * A signal handler that calls into a model file while the program is in
 * the middle of other calls the bridge forwards: SIGALRM every 500 us
 * reads an empty fault queue (read(2) is async-signal-safe; it waits for
 * nothing and reads 0 bytes) while main allocates and destroys IOASes. On a kernel
 * the handler runs when a system call returns; under exec the shim holds
 * signals while it talks to the model, or the handler's own call would
 * wait for the channel the interrupted one holds. Prints what it counted,
 * so that the oracle suite compares the output on Linux 6.12 and 7.2 with
 * the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/time.h>

#include "progs.h"

#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
struct fault_alloc { uint32_t size, flags, out_fault_id, out_fault_fd; };
struct destroy { uint32_t size, id; };

static int ffd;
static volatile int hits, empty;

static void on_alarm(int sig)
{
	char buf[40]; /* one struct iommu_hwpt_pgfault */
	int e = errno;
	if (read(ffd, buf, sizeof(buf)) == 0)
		empty++;
	hits++;
	errno = e;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct fault_alloc fa = { .size = sizeof(fa) };
	SAID("FAULT_QUEUE_ALLOC", ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	ffd = (int)fa.out_fault_fd;
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = { .it_interval = { 0, 500 }, .it_value = { 0, 500 } };
	setitimer(ITIMER_REAL, &t, NULL);
	int bad = 0, n = 0;
	while (n < 20000 && hits < 20) {
		struct ioas_alloc a = { .size = sizeof(a) };
		bad += ioctl(fd, IOMMU_IOAS_ALLOC, &a) != 0;
		struct destroy d = { .size = sizeof(d), .id = a.out_ioas_id };
		bad += ioctl(fd, IOMMU_DESTROY, &d) != 0;
		n++;
	}
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("failed calls %d, the handler ran 20 times: %d, each of its reads 0 bytes: %d\n", bad, hits >= 20, empty == hits);
	printf("done\n");
	return 0;
}
