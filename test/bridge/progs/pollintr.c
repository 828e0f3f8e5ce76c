// SPDX-License-Identifier: GPL-2.0-only
/*
 * A signal during a wait on a model file (an empty fault queue's): poll,
 * ppoll, select and epoll_wait end with EINTR when a handler runs, with
 * SA_RESTART too (do_sys_poll()'s ERESTARTNOHAND, ep_poll()); a signal
 * blocked does not end the wait, and ppoll's own mask lets a pending one in
 * at once. Each step prints its result, so that the oracle suite compares
 * the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

#define T ';'

static volatile int hits;

static void on_alarm(int s)
{
	(void)s;
	hits++;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	int rc = ioctl(fd, _IO(T, 0x8e), &fa);
	printf("FAULT_QUEUE_ALLOC %d\n", rc);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct pollfd p = { (int)fa.out_fault_fd, POLLIN, 0 };
	errno = 0;
	rc = poll(&p, 1, 2000);
	printf("poll of an empty fault queue, a signal after 100 ms -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec ts = { 2, 0 };
	errno = 0;
	rc = ppoll(&p, 1, &ts, NULL);
	printf("ppoll likewise -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	setitimer(ITIMER_REAL, &it, NULL);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET((int)fa.out_fault_fd, &rs);
	struct timeval tv = { 2, 0 };
	errno = 0;
	rc = select((int)fa.out_fault_fd + 1, &rs, NULL, NULL, &tv);
	printf("select likewise -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	/* with SA_RESTART: poll is still not restarted (ERESTARTNOHAND) */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	rc = poll(&p, 1, 2000);
	printf("poll with SA_RESTART -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 };
	printf("EPOLL_CTL_ADD %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, (int)fa.out_fault_fd, &ev));
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	rc = epoll_wait(ep, &ev, 1, 2000);
	printf("epoll_wait with SA_RESTART -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	/* a blocked signal does not end the wait: ppoll's own mask lets it in */
	sigset_t blk, none;
	sigemptyset(&blk);
	sigaddset(&blk, SIGALRM);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &blk, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec t3 = { 0, 300000000 };
	errno = 0;
	rc = ppoll(&p, 1, &t3, NULL);
	printf("ppoll with SIGALRM blocked -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	errno = 0;
	rc = ppoll(&p, 1, &t3, &none);
	printf("ppoll letting the pending SIGALRM in -> %d %s hits %d\n", rc, rc < 0 ? strerror(errno) : "", hits);
	printf("done\n");
	return 0;
}
