// SPDX-License-Identifier: GPL-2.0-only
/*
 * Waiting for iommufd events through the bridge: a fault queue with an IOPF
 * delivered to it (mock device behind a nested HWPT that names the queue),
 * seen through epoll (ADD/MOD/DEL, EPOLLONESHOT, the kernel's errors for a
 * file without poll, a non-epoll set, a bad op), poll, ppoll and select; and
 * /dev/iommu, which has no poll (epoll refuses it, select and poll see the
 * default mask). Every expected answer is what Linux 6.12.95 and 7.2.13 gave
 * (a static build of this file run in both oracle VMs).
 * One line per check; exit 0 when all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

#include "progs.h"

#define IOMMU_HWPT_ALLOC _IO(T, 0x89)
#define IOMMU_FAULT_QUEUE_ALLOC _IO(T, 0x8e)
#define HWPT_ALLOC_NEST_PARENT (1u << 0)
#define HWPT_FAULT_ID_VALID (1u << 2)
#define HWPT_DATA_SELFTEST 0xdead
#define TEST_IOTLB_DEFAULT 0xbadbeef
#define TEST_OP_MOCK_DOMAIN_REPLACE 10
#define TEST_OP_TRIGGER_IOPF 15

struct hwpt_alloc {
	uint32_t size, flags, dev_id, pt_id, out_hwpt_id, reserved, data_type, data_len;
	uint64_t data_uptr;
	uint32_t fault_id, reserved2;
};
struct fault_alloc { uint32_t size, flags, out_fault_id, out_fault_fd; };
struct destroy { uint32_t size, id; };
struct test_cmd { uint32_t size, op, id, reserved; uint32_t u[60]; };
struct pgfault { uint32_t flags, dev_id, pasid, grpid, perm, reserved; uint64_t addr; uint32_t length, cookie; };
struct page_response { uint32_t cookie, code; };

static int io;
static uint32_t idev;

static int trigger(uint32_t grpid)
{
	struct test_cmd c = { .size = sizeof(c), .op = TEST_OP_TRIGGER_IOPF };
	c.u[0] = idev; /* dev_id */
	c.u[1] = 1;    /* pasid */
	c.u[2] = grpid;
	c.u[3] = 3;    /* perm: read | write */
	c.u[4] = 0xdeadbeaf;
	return ioctl(io, IOMMU_TEST_CMD, &c);
}

/* read one fault and answer it */
static int take(int ff)
{
	struct pgfault f;
	if (read(ff, &f, sizeof(f)) != sizeof(f))
		return -1;
	struct page_response r = { .cookie = f.cookie, .code = 0 };
	return write(ff, &r, sizeof(r)) == sizeof(r) ? (int)f.grpid : -1;
}

int main(void)
{
	io = open("/dev/iommu", O_RDWR);
	struct ioas_alloc ia = { .size = sizeof(ia) };
	V(0, 0, "IOAS_ALLOC", ioctl(io, IOMMU_IOAS_ALLOC, &ia));
	struct test_cmd md = { .size = sizeof(md), .op = TEST_OP_MOCK_DOMAIN, .id = ia.out_ioas_id };
	V(0, 0, "MOCK_DOMAIN", ioctl(io, IOMMU_TEST_CMD, &md));
	uint32_t stdev = md.u[0];
	idev = md.u[2];
	struct hwpt_alloc parent = { .size = sizeof(parent), .flags = HWPT_ALLOC_NEST_PARENT, .dev_id = idev, .pt_id = ia.out_ioas_id };
	V(0, 0, "HWPT_ALLOC of a nesting parent", ioctl(io, IOMMU_HWPT_ALLOC, &parent));
	struct fault_alloc fa = { .size = sizeof(fa) };
	V(0, 0, "FAULT_QUEUE_ALLOC", ioctl(io, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	int ff = (int)fa.out_fault_fd;
	uint32_t iotlb = TEST_IOTLB_DEFAULT;
	struct hwpt_alloc nested = { .size = sizeof(nested), .flags = HWPT_FAULT_ID_VALID, .dev_id = idev, .pt_id = parent.out_hwpt_id,
				     .data_type = HWPT_DATA_SELFTEST, .data_len = sizeof(iotlb), .data_uptr = (uintptr_t)&iotlb, .fault_id = fa.out_fault_id };
	V(0, 0, "HWPT_ALLOC of a nested HWPT that reports to the queue", ioctl(io, IOMMU_HWPT_ALLOC, &nested));
	struct test_cmd rep = { .size = sizeof(rep), .op = TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	rep.u[0] = nested.out_hwpt_id;
	V(0, 0, "the mock device attached to it", ioctl(io, IOMMU_TEST_CMD, &rep));

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, out[4];
	V(-1, EPERM, "epoll_ctl ADD of /dev/iommu -> EPERM (no poll)", epoll_ctl(ep, EPOLL_CTL_ADD, io, &ev));
	V(-1, EINVAL, "epoll_ctl ADD into a descriptor that is no epoll -> EINVAL", epoll_ctl(io, EPOLL_CTL_ADD, ff, &ev));
	V(-1, EBADF, "epoll_ctl ADD into a closed descriptor -> EBADF", epoll_ctl(999, EPOLL_CTL_ADD, ff, &ev));
	V(-1, EFAULT, "epoll_ctl ADD with an unreadable event -> EFAULT", epoll_ctl(ep, EPOLL_CTL_ADD, ff, (struct epoll_event *)8));
	V(-1, ENOENT, "epoll_ctl MOD of a queue not in the set -> ENOENT", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	V(-1, ENOENT, "epoll_ctl DEL of a queue not in the set -> ENOENT", epoll_ctl(ep, EPOLL_CTL_DEL, ff, NULL));
	struct epoll_event ex = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT };
	V(-1, EINVAL, "epoll_ctl ADD of EPOLLEXCLUSIVE with EPOLLONESHOT -> EINVAL", epoll_ctl(ep, EPOLL_CTL_ADD, ff, &ex));
	V(-1, EINVAL, "epoll_ctl with op 9 -> EINVAL", epoll_ctl(ep, 9, ff, &ev));
	V(0, 0, "epoll_ctl ADD of the fault queue", epoll_ctl(ep, EPOLL_CTL_ADD, ff, &ev));
	V(-1, EEXIST, "epoll_ctl ADD again -> EEXIST", epoll_ctl(ep, EPOLL_CTL_ADD, ff, &ev));
	V(0, 0, "epoll_wait: nothing queued, nothing ready for EPOLLIN", epoll_wait(ep, out, 4, 0));
	V(-1, EINVAL, "epoll_wait of 0 events -> EINVAL", epoll_wait(ep, out, 0, 0));
	ev.events = EPOLLIN | EPOLLOUT;
	V(0, 0, "epoll_ctl MOD to EPOLLIN | EPOLLOUT", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	memset(out, 0, sizeof(out));
	V(1, 0, "epoll_wait: the queue is always writable", epoll_wait(ep, out, 4, 0));
	check(out[0].events == EPOLLOUT && out[0].data.u64 == 7, "epoll_wait: EPOLLOUT with the registered data", out[0].events);
	ev.events = EPOLLIN;
	V(0, 0, "epoll_ctl MOD back to EPOLLIN", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));

	V(0, 0, "TRIGGER_IOPF", trigger(2));
	memset(out, 0, sizeof(out));
	V(1, 0, "epoll_wait: the fault makes the queue readable", epoll_wait(ep, out, 4, 1000));
	check(out[0].events == EPOLLIN && out[0].data.u64 == 7, "epoll_wait: EPOLLIN with the registered data", out[0].events);
	memset(out, 0, sizeof(out));
	V(1, 0, "epoll_pwait: still readable (level-triggered)", epoll_pwait(ep, out, 4, 0, NULL));
	struct pollfd pf[2] = { { .fd = ff, .events = POLLIN | POLLOUT }, { .fd = io, .events = POLLIN | POLLOUT } };
	V(2, 0, "poll: both ready", poll(pf, 2, 0));
	check(pf[0].revents == (POLLIN | POLLOUT) && pf[1].revents == (POLLIN | POLLOUT), "poll: the queue readable and writable, /dev/iommu the default mask", pf[0].revents);
	pf[0].events = POLLIN;
	pf[0].revents = 0;
	struct timespec ts = { 0, 1000000 };
	V(1, 0, "ppoll: the queue readable", ppoll(pf, 1, &ts, NULL));
	check(pf[0].revents == POLLIN, "ppoll: POLLIN", pf[0].revents);
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(ff, &rs);
	FD_SET(io, &rs);
	FD_SET(io, &ws);
	struct timeval tv = { 0, 0 };
	int nfds = (ff > io ? ff : io) + 1;
	V(3, 0, "select: the queue readable, /dev/iommu readable and writable", select(nfds, &rs, &ws, NULL, &tv));
	check(FD_ISSET(ff, &rs) && FD_ISSET(io, &rs) && FD_ISSET(io, &ws), "select: all three bits stay set", 0);
	V(2, 0, "read the fault and answer it", take(ff));
	V(0, 0, "epoll_wait: nothing after the read", epoll_wait(ep, out, 4, 0));
	FD_ZERO(&rs);
	FD_SET(ff, &rs);
	V(0, 0, "select: the empty queue is not readable", select(ff + 1, &rs, NULL, NULL, &tv));
	check(!FD_ISSET(ff, &rs), "select: its bit cleared", 0);

	ev.events = EPOLLIN | EPOLLONESHOT;
	V(0, 0, "epoll_ctl MOD to EPOLLIN | EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	V(0, 0, "TRIGGER_IOPF again", trigger(5));
	V(1, 0, "epoll_wait: one report", epoll_wait(ep, out, 4, 1000));
	V(0, 0, "epoll_wait: EPOLLONESHOT disarmed it, though still readable", epoll_wait(ep, out, 4, 0));
	V(-1, EEXIST, "epoll_ctl ADD of the disarmed queue -> EEXIST", epoll_ctl(ep, EPOLL_CTL_ADD, ff, &ev));
	V(0, 0, "epoll_ctl MOD re-arms it", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	V(1, 0, "epoll_wait: reported again", epoll_wait(ep, out, 4, 0));
	V(5, 0, "read the second fault and answer it", take(ff));

	ev.events = EPOLLIN | EPOLLET;
	V(0, 0, "epoll_ctl MOD to EPOLLIN | EPOLLET", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	V(0, 0, "epoll_wait EPOLLET: nothing queued", epoll_wait(ep, out, 4, 0));
	V(0, 0, "TRIGGER_IOPF (a wake-up)", trigger(7));
	V(1, 0, "epoll_wait EPOLLET: the wake-up is reported", epoll_wait(ep, out, 4, 1000));
	V(0, 0, "epoll_wait EPOLLET: still readable, but no new wake-up", epoll_wait(ep, out, 4, 0));
	V(0, 0, "TRIGGER_IOPF while readable", trigger(9));
	V(1, 0, "epoll_wait EPOLLET: the second wake-up is reported", epoll_wait(ep, out, 4, 0));
	V(7, 0, "read the third fault and answer it", take(ff));
	V(9, 0, "read the fourth fault and answer it", take(ff));
	V(0, 0, "epoll_wait EPOLLET: reading and answering wake nothing", epoll_wait(ep, out, 4, 0));
	V(0, 0, "TRIGGER_IOPF once more", trigger(11));
	V(1, 0, "epoll_wait EPOLLET: reported", epoll_wait(ep, out, 4, 0));
	V(0, 0, "epoll_ctl MOD while readable", epoll_ctl(ep, EPOLL_CTL_MOD, ff, &ev));
	V(1, 0, "epoll_wait EPOLLET: MOD of a ready file reports it once", epoll_wait(ep, out, 4, 0));
	V(0, 0, "epoll_wait EPOLLET: and only once", epoll_wait(ep, out, 4, 0));
	V(11, 0, "read the fifth fault and answer it", take(ff));
	V(0, 0, "epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, ff, NULL));
	V(-1, ENOENT, "epoll_ctl DEL again -> ENOENT", epoll_ctl(ep, EPOLL_CTL_DEL, ff, NULL));
	ev.events = EPOLLOUT;
	V(0, 0, "epoll_ctl ADD for EPOLLOUT", epoll_ctl(ep, EPOLL_CTL_ADD, ff, &ev));
	rep.u[0] = ia.out_ioas_id;
	V(0, 0, "the mock device back on the IOAS", ioctl(io, IOMMU_TEST_CMD, &rep));
	struct destroy d = { .size = sizeof(d), .id = nested.out_hwpt_id };
	V(0, 0, "DESTROY the nested HWPT", ioctl(io, IOMMU_DESTROY, &d));
	/* an event buffer that cannot be written: EFAULT, the event stays to be reported and EPOLLONESHOT unspent (ep_send_events()) */
	int ep2 = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event once = { .events = EPOLLOUT | EPOLLONESHOT, .data.u64 = 9 };
	V(0, 0, "epoll_ctl ADD of the queue for EPOLLOUT | EPOLLONESHOT", epoll_ctl(ep2, EPOLL_CTL_ADD, ff, &once));
	V(-1, EFAULT, "epoll_wait into an unmapped buffer -> EFAULT", epoll_wait(ep2, (struct epoll_event *)8, 4, 0));
	memset(out, 0, sizeof(out));
	V(1, 0, "epoll_wait: the event is still there", epoll_wait(ep2, out, 4, 0));
	check(out[0].events == EPOLLOUT && out[0].data.u64 == 9, "epoll_wait: EPOLLOUT with its data", out[0].events);
	V(0, 0, "epoll_wait: EPOLLONESHOT spent now", epoll_wait(ep2, out, 4, 0));
	close(ep2);
	V(0, 0, "close the queue while in the set", close(ff));
	V(0, 0, "epoll_wait: a closed descriptor leaves the set", epoll_wait(ep, out, 4, 0));
	close(ep);
	return failed;
}
