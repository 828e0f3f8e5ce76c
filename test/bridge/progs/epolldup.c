// SPDX-License-Identifier: GPL-2.0-only
/*
 * An epoll registration belongs to an open file and the descriptor number
 * it was added by (fs/eventpoll.c): closing that number while a dup keeps
 * the file open leaves it reporting, with its data; the closed number no
 * longer reaches it (MOD: EBADF), a new file at that number is a new
 * registration, and the file's last close ends the old one
 * (eventpoll_release()). With fault queues, whose fd polls writable. Each
 * step prints its result, so that the oracle suite compares the output on
 * Linux 6.12 and 7.2 with the output under exec. Not a check program.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "progs.h"

#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)

static int fault_queue(int fd)
{
	struct { uint32_t size, flags, out_fault_id, out_fault_fd; } fa = { sizeof(fa), 0, 0, 0 };
	return ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa) ? -1 : (int)fa.out_fault_fd;
}

static void wait_all(const char *what, int ep)
{
	struct epoll_event out[4];
	memset(out, 0, sizeof(out));
	int n = epoll_wait(ep, out, 4, 0);
	unsigned long long sum = 0;
	for (int i = 0; i < n; i++)
		sum += out[i].data.u64;
	printf("%s: %d ready, data sum %llu, events 0x%x\n", what, n, sum, n > 0 ? out[0].events : 0);
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	int ep = epoll_create1(0);
	int q = fault_queue(fd);
	int d = dup(q);
	struct epoll_event e = { .events = EPOLLOUT, .data.u64 = 11 };
	SAID("ADD the fault queue", epoll_ctl(ep, EPOLL_CTL_ADD, q, &e));
	wait_all("before any close", ep);
	SAID("close the added descriptor (a dup stays)", close(q));
	wait_all("after it", ep);
	SAID("MOD by the closed number", epoll_ctl(ep, EPOLL_CTL_MOD, q, &e));
	SAID("MOD by the dup (never added)", epoll_ctl(ep, EPOLL_CTL_MOD, d, &e));
	int q2 = fault_queue(fd);
	printf("a second fault queue at the closed number: %d\n", q2 == q);
	struct epoll_event e2 = { .events = EPOLLOUT, .data.u64 = 22 };
	SAID("ADD it", epoll_ctl(ep, EPOLL_CTL_ADD, q2, &e2));
	wait_all("both", ep);
	SAID("close the dup (the first file's last)", close(d));
	wait_all("after the last close", ep);
	SAID("DEL the second", epoll_ctl(ep, EPOLL_CTL_DEL, q2, NULL));
	wait_all("none left", ep);
	printf("done\n");
	return 0;
}
