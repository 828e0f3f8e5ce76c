// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd-sim exec: the LD_PRELOAD shim. Calls that touch what the model
 * owns (/dev/iommu and the fds it creates, memory mappings whose identity the
 * model keeps, fork/exec/exit, the synthesized /proc, /sys and debugfs files)
 * are forwarded to the bridge server over a unix socket; everything else goes
 * to the real libc untouched. Raw syscalls are used inside so that nothing
 * here re-enters the wrappers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <asm/ioctls.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define MAXFD 4096
#define HUGE_SHIFT 26 /* MAP_HUGE_SHIFT, MFD_HUGE_SHIFT */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* include/uapi/linux/memfd.h (6.3); older libc headers lack it */
#endif
#define HUGE_MASK 0x3f
#define SOCK_FD_MIN 900
#define BRIDGE_LOST_STATUS 125

enum { K_NONE = 0, K_MODEL = 1, K_SPECIAL = 2, K_BOTH = 3 };

/* the liveness socket, the shared request FIFO (write end), this process's reply FIFO (read end) */
static int sock = -1, qfd = -1, rfd = -1;
/* the reply FIFO is still non-blocking: HELLO's reply not read yet */
static int rfd_fresh;
/* this process's channel page (replies) and the server's doorbell (shared by all processes) */
static struct bridge_chan *ch;
static uint32_t *bell;
/* the connection id HELLO returned: every request carries it */
static uint32_t conn_id;
/* HELLO said the simulated kernel aligns a MAP_HUGETLB hint down (x86 before 6.13), not up */
static int hugetlb_hint_down;
/* O_EMPTYPATH is an open flag of the model's kernel (7.x) */
static int open_emptypath;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char fdkind[MAXFD];
static char *special_path[MAXFD];
static long long special_off[MAXFD];
/* log2 of the huge page size of a hugetlb memfd (emulated with shmem), 0 otherwise */
static unsigned char memfd_huge[MAXFD];
/*
 * a tmpfs file of the model's whose real file is on another filesystem: its
 * real mappings read no ahead (MADV_RANDOM), so a read fault brings in the
 * one page shmem would, not a readahead window the model would then count
 */
static unsigned char foreign_tmpfs[MAXFD];
static long long fork_token;
/* this thread's id, cached (reset in a forked child, whose thread has a new one) */
static __thread int my_tid;

/* A raw system call without libc's syscall() (which this shim overrides): -1 and errno on failure. */
static long real_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* Every raw call of the shim itself goes here, never through the syscall() it overrides. */
#define RS(...) RS_(__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define RS_(n, a, b, c, d, e, f, ...) \
	real_syscall6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* this process's id, cached (a forked child and a new image set it again in bridge_connect) */
static int my_pid;

static int self_pid(void)
{
	if (!my_pid)
		my_pid = (int)RS(SYS_getpid);
	return my_pid;
}

static int self_tid(void)
{
	if (!my_tid)
		my_tid = (int)RS(SYS_gettid);
	return my_tid;
}

static long sys_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		long r = RS(SYS_write, fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= r;
	}
	return 0;
}

static long sys_read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		long r = RS(SYS_read, fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= r;
	}
	return 0;
}

static void __attribute__((noreturn)) lost(void)
{
	static const char m[] = "iommufd-sim: the bridge server is gone; stopping the program\n";
	RS(SYS_write, 2, m, sizeof(m) - 1);
	RS(SYS_exit_group, BRIDGE_LOST_STATUS);
	__builtin_unreachable();
}

/*
 * Write the header and the string with one write of at most PIPE_BUF bytes:
 * the shared FIFO keeps it whole and in order with every other process's.
 */
static long send_req(const struct bridge_req *q, const void *s, uint32_t slen)
{
	char msg[REQ_MAX];
	if (sizeof(*q) + slen > sizeof(msg))
		return -1;
	memcpy(msg, q, sizeof(*q));
	if (slen)
		memcpy(msg + sizeof(*q), s, slen);
	for (;;) {
		long r = RS(SYS_write, qfd, msg, sizeof(*q) + slen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (long)(sizeof(*q) + slen))
			return -1;
		/* after the write: a server that sees the bump finds the request in the FIFO */
		if (bell)
			__atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
}

/*
 * The model answers most calls in a few to tens of microseconds: when the
 * server says the machine has a CPU to spare (the reply's spin_us), wait for
 * the reply awake, watching the channel page, for up to that long; then say
 * OP_SLEEP and sleep in read() on the reply FIFO until the server's wake-up
 * byte (one per OP_SLEEP).
 */
static long spin_ns;
/* chan_wait read the mark of a reply that comes on the FIFO */
static int mark_seen;

static long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/*
 * The channel's seq once it moved past `old` (the reply is in place, or bit
 * 0: on the FIFO). `sleeper`: the request said REQ_SLEEPER, the server wakes
 * this shim with the reply without an OP_SLEEP.
 */
static uint32_t chan_wait(uint32_t old, int sleeper)
{
	uint32_t s;
	if (!sleeper) {
		long t0 = now_ns();
		for (int i = 0;; i++) {
			s = __atomic_load_n(&ch->seq, __ATOMIC_ACQUIRE);
			if (s != old)
				return s;
			if ((i & 63) == 63 && now_ns() - t0 > spin_ns)
				break;
		}
	}
	if (!sleeper) {
		struct bridge_req q = { .op = OP_SLEEP | REQ_NOREPLY, .a = { old }, .tid = (uint32_t)self_tid(), .conn = conn_id };
		if (send_req(&q, NULL, 0))
			lost();
	}
	for (;;) {
		/* one byte at a time: a reply too big for the page follows its mark on this FIFO */
		char c = 0;
		long r = RS(SYS_read, rfd, &c, 1);
		s = __atomic_load_n(&ch->seq, __ATOMIC_ACQUIRE);
		if (r == 1 && c == CHAN_MARK) {
			mark_seen = 1;
			return s;
		}
		if (s != old)
			return s;
		/* end of file with no reply: the server is gone (after EXIT's reply it closes the FIFO at once) */
		if (r == 0 || (r < 0 && errno != EINTR))
			lost();
	}
}

/* A reply too big for the channel page: on the FIFO after its mark (wake-up bytes before it are dropped). */
static void fifo_mark_wait(void)
{
	if (mark_seen) {
		mark_seen = 0;
		return;
	}
	for (;;) {
		char c;
		if (sys_read_all(rfd, &c, 1))
			lost();
		if (c == CHAN_MARK)
			return;
	}
}

/*
 * HELLO's reply: the reply FIFO was opened non-blocking (before the server
 * opened its write end, a read would be end-of-file), so poll for it, then
 * make it blocking. A server that never answers within a minute is gone.
 */
static void first_reply_wait(void)
{
	for (int i = 0; i < 600; i++) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		long r = RS(SYS_poll, &p, 1, 100);
		if (r > 0 && (p.revents & POLLIN)) {
			RS(SYS_fcntl, rfd, F_SETFL, 0);
			rfd_fresh = 0;
			return;
		}
		if (r < 0 && errno != EINTR)
			break;
	}
	lost();
}

/* The reply's string after its header: into out[0..outcap) (NUL-terminated), the rest dropped. */
static void reply_string(const struct bridge_rep *rep, const char *have, size_t nhave, char *out, size_t outcap)
{
	size_t cap = out && outcap ? outcap - 1 : 0;
	size_t take = rep->slen < cap ? rep->slen : cap;
	size_t from_have = nhave < take ? nhave : take;
	if (from_have)
		memcpy(out, have, from_have);
	if (take > from_have && sys_read_all(rfd, out + from_have, take - from_have))
		lost();
	/* the rest of the string beyond `out`: read and dropped */
	size_t left = rep->slen - (nhave > take ? nhave : take);
	char skip[256];
	while (left) {
		size_t k = left < sizeof(skip) ? left : sizeof(skip);
		if (sys_read_all(rfd, skip, k))
			lost();
		left -= k;
	}
	if (out && outcap)
		out[take] = 0;
}

/* A reply from the FIFO: the header and (the part that fits in `out` of) its string. */
static void fifo_reply(struct bridge_rep *rep, char *out, size_t outcap)
{
	/* the reply in one read when it is small (the server writes it at once) */
	char first[sizeof(*rep) + 1536];
	size_t got = 0;
	while (got < sizeof(*rep)) {
		long r = RS(SYS_read, rfd, first + got, sizeof(first) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			lost();
		got += r;
	}
	memcpy(rep, first, sizeof(*rep));
	if (got > sizeof(*rep) + rep->slen)
		lost(); /* more than one reply: the stream is out of step */
	reply_string(rep, first + sizeof(*rep), got - sizeof(*rep), out, outcap);
}

static void populate_pending(void);

/* One request/reply. The reply string (if any) goes to out[0..outcap), NUL-terminated. */
static int64_t call(uint32_t op, int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5,
		    const void *s, uint32_t slen, struct bridge_rep *rep_out, char *out, size_t outcap)
{
	struct bridge_req q = { .op = op, .slen = slen, .a = { a0, a1, a2, a3, a4, a5 }, .tid = (uint32_t)self_tid(), .conn = conn_id };
	struct bridge_rep rep;
	int saved = errno;
	/*
	 * No handler runs while this thread holds the channel: one that calls into a
	 * model file itself (read(2) of a fault fd from SIGALRM) would wait for `mu`
	 * forever. The call is short (a blocking wait is a loop of calls with the
	 * caller's mask between them, wait_tick()), so a signal is only held until its
	 * reply, as a kernel delivers it when the system call returns.
	 */
	sigset_t all, caller;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &caller);
	pthread_mutex_lock(&mu);
	uint32_t old = ch ? __atomic_load_n(&ch->seq, __ATOMIC_ACQUIRE) : 0;
	/* no waiting awake (a busy machine): the server wakes this shim with the reply itself */
	int sleeper = ch && !rfd_fresh && !spin_ns && !(op & REQ_NOREPLY);
	if (sleeper)
		q.op |= REQ_SLEEPER;
	if (send_req(&q, s, slen))
		lost();
	if (op & REQ_NOREPLY) {
		pthread_mutex_unlock(&mu);
		pthread_sigmask(SIG_SETMASK, &caller, NULL);
		errno = saved;
		return 0;
	}
	if (rfd_fresh || !ch) {
		/* HELLO's reply comes on the FIFO */
		if (rfd_fresh)
			first_reply_wait();
		fifo_reply(&rep, out, outcap);
	} else if (chan_wait(old, sleeper) & 1) {
		fifo_mark_wait();
		fifo_reply(&rep, out, outcap);
	} else {
		const char *r = (const char *)ch + CHAN_REPLY;
		memcpy(&rep, r, sizeof(rep));
		if (rep.slen > CHAN_SIZE - CHAN_REPLY - sizeof(rep))
			lost();
		reply_string(&rep, r + sizeof(rep), rep.slen, out, outcap);
	}
	spin_ns = (long)(rep.spin_us & ~REP_POPULATE) * 1000;
	pthread_mutex_unlock(&mu);
	pthread_sigmask(SIG_SETMASK, &caller, NULL);
	if (rep_out)
		*rep_out = rep;
	if ((rep.spin_us & REP_POPULATE) && op != OP_POPULATE)
		populate_pending();
	errno = saved;
	return rep.ret;
}

/*
 * The model's GUP took pages of this process's shared file mappings (a pin, say): the kernel's GUP would
 * have faulted them into the page tables (its smaps and RSS show them, dirty when taken for writing), so
 * the real page tables fault them the same way. MADV_POPULATE_* changes no byte.
 */
static void populate_pending(void)
{
	char buf[POPULATE_MAX * 24 + 1]; /* (+1: the reply string's NUL) */
	struct bridge_rep rep;
	do {
		int64_t n = call(OP_POPULATE, 0, 0, 0, 0, 0, 0, NULL, 0, &rep, buf, sizeof(buf));
		for (int64_t i = 0; i < n && i < POPULATE_MAX; i++) {
			int64_t t[3];
			memcpy(t, buf + 24 * i, sizeof(t));
			RS(SYS_madvise, t[0], t[1], t[2] ? 23 /* MADV_POPULATE_WRITE */ : 22 /* MADV_POPULATE_READ */);
		}
	} while (rep.spin_us & REP_POPULATE);
}

#define CALL(op, ...) call_n(op, (int64_t[6]){ __VA_ARGS__ })
static int64_t call_n(uint32_t op, const int64_t *a)
{
	return call(op, a[0], a[1], a[2], a[3], a[4], a[5], NULL, 0, NULL, NULL, 0);
}

static int connected(void)
{
	return rfd >= 0;
}

/*
 * The pages of a model file's device mapping (the vIOMMU's page of an
 * iommufd: io_remap_pfn_range() of the same frames in every VMA) are one
 * shared memfd per region here, by the frame the mapping starts at, so
 * that every mapping of them, and one made after the others went, is the
 * same memory: what one wrote, the others read.
 */
#define MAX_DEVMEM 16
static struct devmem {
	int64_t pfn;
	uint64_t pages;
	int fd;
} devmem[MAX_DEVMEM];
static int ndevmem;

/* The shim's own descriptors: the program's close and close_range leave them alone. */
static int bridge_fd(int fd)
{
	if (fd < 0)
		return 0;
	for (int i = 0; i < ndevmem; i++)
		if (devmem[i].fd == fd)
			return 1;
	return fd == sock || fd == qfd || fd == rfd;
}

/* Move a descriptor of the shim's up, out of the program's way (numbers >= SOCK_FD_MIN). */
static int move_high(int fd)
{
	int hi = RS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, SOCK_FD_MIN);
	if (hi < 0)
		return fd;
	RS(SYS_close, fd);
	return hi;
}

static int kind_of(int fd)
{
	return fd >= 0 && fd < MAXFD ? fdkind[fd] : K_NONE;
}

/* The program's lowest free descriptor: two system calls (F_DUPFD picks it) */
static int lowest_free_fd(void)
{
	int fd = RS(SYS_fcntl, rfd >= 0 ? rfd : 0, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno == EMFILE ? MAXFD : 0;
	RS(SYS_close, fd);
	return fd;
}

static void set_kinds(const char *list)
{
	/* "fd:kind,fd:kind" */
	while (list && *list) {
		char *end;
		long fd = strtol(list, &end, 10);
		long k = *end == ':' ? strtol(end + 1, &end, 10) : K_MODEL;
		if (fd >= 0 && fd < MAXFD)
			fdkind[fd] = (unsigned char)k;
		list = *end == ',' ? end + 1 : NULL;
	}
}

static int64_t cap_eff_bits(void)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522, 0 };
	struct {
		uint32_t eff, perm, inh;
	} d[2];
	if (RS(SYS_capget, &hdr, d) < 0)
		return 0;
	return (int64_t)d[0].eff | ((int64_t)d[1].eff << 32);
}

static int64_t memlock_cur(void)
{
	struct rlimit r;
	if (RS(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &r) < 0)
		return -1;
	return (int64_t)r.rlim_cur;
}

static void bridge_connect(void)
{
	const char *path = getenv("IOMMUFD_SIM_SOCK");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char fds[1024], rpath[sizeof(sa.sun_path) + 32], cpath[sizeof(sa.sun_path) + 32], hello[2 * sizeof(rpath)];
	struct bridge_rep rep;
	int s;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return;

	strcpy(sa.sun_path, path);
	/* the liveness socket: its closing tells the server this process is gone */
	s = RS(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		lost();
	if (RS(SYS_connect, s, &sa, sizeof(sa)) < 0)
		lost();
	sock = move_high(s);
	/* the shared request FIFO (a forked child keeps its parent's) */
	if (qfd < 0) {
		snprintf(rpath, sizeof(rpath), "%s.q", path);
		s = RS(SYS_openat, AT_FDCWD, rpath, O_WRONLY | O_CLOEXEC);
		if (s < 0)
			lost();
		qfd = move_high(s);
	}
	/* the doorbell (a forked child keeps its parent's mapping) */
	if (!bell) {
		snprintf(rpath, sizeof(rpath), "%s.b", path);
		s = RS(SYS_openat, AT_FDCWD, rpath, O_RDWR | O_CLOEXEC);
		if (s >= 0) {
			void *m = (void *)RS(SYS_mmap, 0, BELL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
			if (m != MAP_FAILED)
				bell = m;
			RS(SYS_close, s);
		}
	}
	/* this process's channel page: made and mapped here, the server opens it at HELLO and unlinks it */
	snprintf(cpath, sizeof(cpath), "%s.d/m%d", path, (int)RS(SYS_getpid));
	RS(SYS_unlinkat, AT_FDCWD, cpath, 0);
	s = RS(SYS_openat, AT_FDCWD, cpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s < 0 || RS(SYS_ftruncate, s, CHAN_SIZE) < 0)
		lost();
	{
		void *m = (void *)RS(SYS_mmap, 0, CHAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
		if (m == MAP_FAILED)
			lost();
		ch = m;
		RS(SYS_close, s);
	}
	/* this process's reply FIFO: read end here, the server opens the write end at HELLO and unlinks it */
	snprintf(rpath, sizeof(rpath), "%s.d/r%d", path, (int)RS(SYS_getpid));
	RS(SYS_unlinkat, AT_FDCWD, rpath, 0);
	if (RS(SYS_mknodat, AT_FDCWD, rpath, S_IFIFO | 0600, 0) < 0)
		lost();
	s = RS(SYS_openat, AT_FDCWD, rpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s < 0)
		lost();
	rfd = move_high(s);
	rfd_fresh = 1;
	conn_id = 0;
	/* HELLO names both: "reply FIFO NUL channel NUL" */
	size_t rl = strlen(rpath) + 1, cl = strlen(cpath) + 1;
	memcpy(hello, rpath, rl);
	memcpy(hello + rl, cpath, cl);
	call(OP_HELLO, getpid(), getppid(), fork_token, memlock_cur(), cap_eff_bits(), getuid(), hello, rl + cl, &rep,
	     fds, sizeof(fds));
	conn_id = (uint32_t)rep.b[1];
	hugetlb_hint_down = (rep.ret & HELLO_HUGETLB_HINT_DOWN) != 0;
	open_emptypath = (rep.ret & HELLO_OPEN_EMPTYPATH) != 0;
	if (sys_write_all(sock, &conn_id, sizeof(conn_id)))
		lost();
	fork_token = 0;
	set_kinds(fds);
	/* after an exec: model files whose real descriptor closed on exec go too */
	for (int fd = 0; fd < MAXFD; fd++) {
		if ((fdkind[fd] & K_MODEL) && RS(SYS_fcntl, fd, F_GETFD) < 0) {
			CALL(OP_CLOSE | REQ_NOREPLY, fd);
			fdkind[fd] = K_NONE;
		}
	}
}

/*
 * RLIMIT_NOFILE as the kernel gives init and so every process it starts
 * (INR_OPEN_CUR 1024, INR_OPEN_MAX 4096), not the host's, which a container
 * may raise: the model's descriptor table ends at 1024, and F_DUPFD at or
 * past the soft limit is EINVAL from the real call, as in the oracle VMs.
 * Only ever lowered (raising the hard limit needs CAP_SYS_RESOURCE).
 */
static void nofile_as_booted(void)
{
	struct rlimit r;
	if (RS(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &r) < 0)
		return;
	if (r.rlim_cur > 1024)
		r.rlim_cur = 1024;
	if (r.rlim_max > 4096)
		r.rlim_max = 4096;
	if (r.rlim_cur > r.rlim_max)
		r.rlim_cur = r.rlim_max;
	RS(SYS_prlimit64, 0, RLIMIT_NOFILE, &r, NULL);
}

static void malloc_init(void);

static void __attribute__((constructor)) shim_init(void)
{
	malloc_init();
	/* stdout line by line, as on a console (`oracle` compares C programs' output with a VM's) */
	if (getenv("IOMMUFD_SIM_LINEBUF"))
		setvbuf(stdout, NULL, _IOLBF, 0);
	nofile_as_booted();
	bridge_connect();
	/*
	 * THPs are the model's to make: a page the real process has present is one the program
	 * touched, which the server faults into the model (under the model's THP mode). A THP the
	 * host made (its own mode, a MADV_HUGEPAGE passed on) would make the whole 2 MiB look
	 * touched. Inherited by fork and kept across execve.
	 */
	if (connected())
		RS(SYS_prctl, PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

static void bridge_exit(int status)
{
	if (!connected())
		return;
	CALL(OP_EXIT, status);
	RS(SYS_close, sock);
	RS(SYS_close, rfd);
	RS(SYS_close, qfd);
	sock = rfd = qfd = -1;
}

static void __attribute__((destructor)) shim_fini(void)
{
	bridge_exit(0);
}

void _exit(int status)
{
	bridge_exit(status);
	RS(SYS_exit_group, status);
	__builtin_unreachable();
}

void _Exit(int status)
{
	_exit(status);
}

/* ------------------------------------------------------------------------ */
/* paths */

/*
 * Copy to (`out`) or from this process's own memory as copy_to_user()/copy_from_user() would: a bad
 * or (to) read-only pointer is EFAULT, not a crash in the shim.
 */
static int self_copy(void *to, const void *from, size_t len, int out)
{
	struct iovec l = { out ? (void *)from : to, len }, r = { out ? to : (void *)from, len };
	long n = RS(out ? SYS_process_vm_writev : SYS_process_vm_readv, self_pid(), &l, 1, &r, 1, 0);
	if (n != (long)len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

/*
 * `len` bytes at `p` are there to be read and written back (a poll array, an fd_set), as the kernel
 * finds them when it copies them in and the results out; the shim looks into them only then, and
 * otherwise the real call answers (EFAULT). What is read is written back unchanged.
 */
static int user_rw(void *p, size_t len)
{
	char buf[4096];
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		size_t k = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (self_copy(buf, (char *)p + off, k, 0) < 0 || self_copy((char *)p + off, buf, k, 1) < 0)
			return 0;
	}
	return 1;
}

/*
 * `p` is a path the kernel would read (strncpy_from_user(): readable up to its NUL, shorter than
 * PATH_MAX). Only then does a wrapper look into it; otherwise the real call answers (EFAULT,
 * ENAMETOOLONG) instead of a crash in the shim. Read as two pieces split at the first page end, so
 * that a string ending before an unmapped page reads.
 */
static int path_ok(const char *p)
{
	char buf[4096];
	if (!p)
		return 0;
	size_t first = 4096 - ((uintptr_t)p & 4095);
	struct iovec l = { buf, sizeof(buf) }, r[2] = { { (void *)p, first }, { (void *)(p + first), sizeof(buf) - first } };
	long n = RS(SYS_process_vm_readv, self_pid(), &l, 1, r, first < sizeof(buf) ? 2 : 1, 0);
	return n > 0 && memchr(buf, 0, (size_t)n) != NULL;
}

static int model_path(const char *p)
{
	return p && (!strcmp(p, "/dev/iommu") || !strncmp(p, "/dev/vfio/", 10));
}

/* The model's device nodes, and its directory of them (devtmpfs's /dev/vfio, which the host lacks). */
static int node_name(const char *p)
{
	return !strcmp(p, "/dev/iommu") || !strcmp(p, "/dev/vfio/vfio");
}

static int vfio_name(const char *p)
{
	return !strncmp(p, "/dev/vfio", 9) && (p[9] == 0 || p[9] == '/');
}

static int dev_mount(const char *p)
{
	return !strncmp(p, "/dev", 4) && (p[4] == 0 || p[4] == '/');
}

/* openat2()'s scoping, for model_name() */
#define WALK_BENEATH 1
#define WALK_IN_ROOT 2
#define WALK_NO_XDEV 4
/* model_name()'s *err for a name that ends in a slash: what it means depends on the call (walk_errno()) */
#define WALK_SLASH (-1)

/* `p`, a directory the walk passes that is no model's, is one on the host and no symbolic link */
static int host_dir(const char *p)
{
	struct stat st;
	return vfio_name(p) || (RS(SYS_newfstatat, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
}

/*
 * One lexical walk of `path` from `dirfd` (see model_name()) into out ("" is the root); with `verify`, every
 * directory it passes through outside /dev/vfio must be a directory of the host's and no symbolic link, else
 * NULL. *err: ENOTDIR for a walk that goes on past a device node (link_path_walk(): it cannot be looked up
 * in), EXDEV for one that leaves openat2()'s scope (a ".." above the start of RESOLVE_BENEATH, an absolute
 * path with it, a mount crossed with RESOLVE_NO_XDEV: in the VMs /dev is devtmpfs, the rest rootfs),
 * WALK_SLASH for a last name followed by slashes only.
 */
static const char *walk_names(int dirfd, const char *path, int scope, int verify, char *out, size_t n, int *err)
{
	size_t len = 0;
	int depth = 0;
	*err = 0;
	out[0] = 0;
	if (path[0] != '/' || (scope & WALK_IN_ROOT)) {
		long r;
		if (dirfd == AT_FDCWD) {
			r = RS(SYS_getcwd, out, n);
			if (r <= 0 || out[0] != '/')
				return NULL;
		} else {
			char link[40];
			/* a model file is no directory: its walk is the host's, on the placeholder */
			if (kind_of(dirfd) != K_NONE)
				return NULL;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			r = RS(SYS_readlink, link, out, n - 1);
			if (r <= 0 || out[0] != '/')
				return NULL;
			out[r] = 0;
		}
		len = strlen(out);
		if (len == 1)
			out[len = 0] = 0;
	} else if (scope & WALK_BENEATH)
		*err = EXDEV;
	int was_dev = dev_mount(len ? out : "/");
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t cl = (size_t)(e - s);
		if (cl == 0)
			break;
		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			if (depth == 0 && (scope & WALK_BENEATH) && !*err)
				*err = EXDEV;
			if (depth == 0 && (scope & (WALK_BENEATH | WALK_IN_ROOT))) {
				/* the start is the root of a scoped walk */
			} else if (len > 0) {
				if (verify && !host_dir(out))
					return NULL;
				while (len > 0 && out[len - 1] != '/')
					len--;
				out[len > 0 ? --len : 0] = 0;
				if (depth > 0)
					depth--;
			}
		} else if (!(cl == 1 && s[0] == '.')) {
			if (verify && len > 0 && !host_dir(out))
				return NULL;
			if (len + 1 + cl >= n)
				return NULL;
			out[len++] = '/';
			memcpy(out + len, s, cl);
			out[len += cl] = 0;
			depth++;
		}
		int is_dev = dev_mount(len ? out : "/");
		if ((scope & WALK_NO_XDEV) && is_dev != was_dev && !*err)
			*err = EXDEV;
		was_dev = is_dev;
		if (*e == '/' && node_name(out)) {
			const char *t = e;
			while (*t == '/')
				t++;
			if (!*err)
				*err = *t ? ENOTDIR : WALK_SLASH;
			break;
		}
		s = e;
	}
	size_t pl = strlen(path);
	if (!*err && path[pl - 1] == '/')
		*err = WALK_SLASH;
	return out;
}

/*
 * The model's name for `path` walked from `dirfd` (a device node, a name under /dev/vfio or /dev/vfio
 * itself), in out; NULL when the walk does not end among them (the host's walk answers then). The walk is
 * lexical, which is the kernel's where no directory on the way is a symbolic link (checked): "." and empty
 * components dropped, ".." one up (not above /), a relative path from the directory dirfd names or the
 * working directory. *err as walk_names() finds it; walk_errno() says what it is for a call, which the
 * model answers after its checks of the flags.
 */
static const char *model_name(int dirfd, const char *path, int scope, char *out, size_t n, int *err)
{
	*err = 0;
	if (!path || !*path)
		return NULL;
	/* the plain names */
	if (!scope && (!strcmp(path, "/dev/iommu") || !strcmp(path, "/dev/vfio/vfio"))) {
		snprintf(out, n, "%s", path);
		return out;
	}
	/*
	 * No walk for a name that cannot reach them (most names): an absolute one names /dev, a relative one
	 * (or RESOLVE_IN_ROOT's absolute one, from dirfd) names the nodes or climbs with "..".
	 */
	int from_root = path[0] == '/' && !(scope & WALK_IN_ROOT);
	if (!strstr(path, "dev") && (from_root || (!strstr(path, "vfio") && !strstr(path, "iommu") && !strstr(path, ".."))))
		return NULL;
	if (!walk_names(dirfd, path, scope, 0, out, n, err) || !(!strcmp(out, "/dev/iommu") || vfio_name(out)))
		return NULL;
	return walk_names(dirfd, path, scope, 1, out, n, err);
}

/*
 * The walk's failure for a call: a trailing slash (WALK_SLASH) is EISDIR for a creating open, before the
 * last name is looked up (open_last_lookups()), and ENOTDIR after a device node (LOOKUP_DIRECTORY, do_open()).
 */
static int walk_errno(int walk, const char *name, int creat)
{
	if (walk != WALK_SLASH)
		return walk;
	return creat ? EISDIR : node_name(name) ? ENOTDIR : 0;
}

/*
 * A name that walks through the model's directory and out of it ("/dev/vfio/.."): the host has no
 * /dev/vfio to walk through, so the host is given where the walk ends. NULL for any other name.
 */
static const char *out_of_model_dir(int dirfd, const char *path, char *out, size_t n)
{
	int walk;
	if (!strstr(path, "vfio/") || !strstr(path, ".."))
		return NULL;
	const char *m = walk_names(dirfd, path, 0, 1, out, n, &walk);
	if (!m || walk || vfio_name(m))
		return NULL;
	return *m ? m : "/";
}

static int all_digits(const char *s, const char *end)
{
	if (s == end)
		return 0;
	for (; s < end; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int own_fd_link(const char *p);
static int own_memfd_link(const char *p);

/* Files at a fixed path the model answers for, and their server-side names. */
static const struct { const char *path, *name; } special_paths[] = {
	{ "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "hpage_pmd_size" },
	{ "/sys/kernel/mm/transparent_hugepage/enabled", "thp_enabled" },
	/* the model's hugetlb pool (exec emulates hugetlb: the host's pool is not the program's) */
	{ "/proc/meminfo", "meminfo" },
	/* the release of the kernel the model is (its profile's), not the host's */
	{ "/proc/sys/kernel/osrelease", "osrelease" },
	{ "/proc/version", "proc_version" },
	{ "/proc/sys/vm/nr_hugepages", "hugepool:hugepages-2048kB:sysctl_nr_hugepages" },
	{ "/proc/sys/vm/nr_overcommit_hugepages", "hugepool:hugepages-2048kB:nr_overcommit_hugepages" },
};

/*
 * Per-process files the model answers for: /proc/PID/<suffix> is "<kind>:PID".
 * status: VmLck, VmPin, HugetlbPages and the resident counts are the model's;
 * smaps: the real text with the model's hugetlb and private anonymous VMAs
 * (exec emulates hugetlb with ordinary memory, and the host has its own THP
 * mode); smaps_rollup: the real sums moved by that rewrite; maps: the real
 * lines, a hugetlb VMA's with its hugetlbfs file;
 * pagemap: the model's page tables (present, shared, file-backed, PFNs).
 */
static const struct { const char *suffix, *kind; } special_proc[] = {
	{ "/status", "status" },
	{ "/smaps", "smaps" },
	{ "/smaps_rollup", "smaps_rollup" },
	{ "/maps", "maps" },
	{ "/pagemap", "pagemap" },
};

/* A synthesized file: its server-side name in out, or 0. */
static int special_name(const char *p, char *out, size_t cap)
{
	const char *s;
	if (!p)
		return 0;
	for (size_t i = 0; i < sizeof(special_paths) / sizeof(special_paths[0]); i++) {
		if (!strcmp(p, special_paths[i].path)) {
			snprintf(out, cap, "%s", special_paths[i].name);
			return 1;
		}
	}
	if (!strncmp(p, "/sys/kernel/mm/hugepages/hugepages-", 35)) {
		const char *d = p + 25, *sl = strchr(d, '/');
		if (sl && sl[1] && !strchr(sl + 1, '/')) {
			snprintf(out, cap, "hugepool:%.*s:%s", (int)(sl - d), d, sl + 1);
			return 1;
		}
	}
	if (!strcmp(p, "/proc/thread-self/fail-nth")) {
		snprintf(out, cap, "fail-nth:%d:%d", getpid(), self_tid());
		return 1;
	}
	if (!strncmp(p, "/proc/", 6)) {
		s = p + 6;
		const char *slash = strchr(s, '/');
		char pid[32];
		if (!slash || (size_t)(slash - s) >= sizeof(pid))
			return 0;
		if (!strncmp(s, "self/", 5))
			snprintf(pid, sizeof(pid), "%d", getpid());
		else if (all_digits(s, slash))
			snprintf(pid, sizeof(pid), "%.*s", (int)(slash - s), s);
		else
			return 0;
		for (size_t i = 0; i < sizeof(special_proc) / sizeof(special_proc[0]); i++) {
			if (!strcmp(slash, special_proc[i].suffix)) {
				snprintf(out, cap, "%s:%s", special_proc[i].kind, pid);
				return 1;
			}
		}
		/* this process's model descriptor, memfd or tmpfs file: pos and flags are the model's (it reads, writes and seeks them) */
		if (!strncmp(slash, "/fdinfo/", 8) && atoi(pid) == getpid()) {
			char *end;
			long n = strtol(slash + 8, &end, 10);
			if (slash[8] && !*end && n >= 0 && n < MAXFD && (kind_of((int)n) == K_MODEL || kind_of((int)n) == K_BOTH)) {
				snprintf(out, cap, "fdinfo:%s:%ld", pid, n);
				return 1;
			}
			return 0;
		}
		/* the thread group leader's (proc_fail_nth_* in tgid_base_stuff) */
		if (!strcmp(slash, "/fail-nth")) {
			snprintf(out, cap, "fail-nth:%s:%s", pid, pid);
			return 1;
		}
		if (!strncmp(slash, "/task/", 6)) {
			const char *t = slash + 6, *e = strchr(t, '/');
			if (e && all_digits(t, e) && !strcmp(e, "/fail-nth")) {
				snprintf(out, cap, "fail-nth:%s:%.*s", pid, (int)(e - t), t);
				return 1;
			}
		}
	}
	return 0;
}

/* debugfs lives in a real directory the server made. */
static const char *debugfs_rewrite(const char *p, char *buf, size_t cap)
{
	const char *d = getenv("IOMMUFD_SIM_DEBUGFS");
	if (!d || !p || strncmp(p, "/sys/kernel/debug", 17) || (p[17] && p[17] != '/'))
		return p;
	snprintf(buf, cap, "%s%s", d, p + 17);
	return buf;
}

/* Put a real placeholder at `want` (the number the model chose). */
static int placeholder(int want, int flags)
{
	int cloexec = flags & O_CLOEXEC;
	int t = RS(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | cloexec);
	if (t < 0 || t == want || want < 0)
		return t;
	if (RS(SYS_dup3, t, want, cloexec) < 0) {
		RS(SYS_close, t);
		return -1;
	}
	RS(SYS_close, t);
	return want;
}

static int open_named(const char *name, uint64_t flags, uint64_t mode, uint64_t resolve, int walk, int from);

/* open() of the model's node `path` (its name as the model has it) */
static int open_model(const char *path, int flags)
{
	return open_named(path, (unsigned)flags, 0, 0, OPENAT2_PLAIN, -1);
}

/*
 * A name whose walk follows the /proc/self or /proc/thread-self symbolic link (the last component too,
 * unless O_NOFOLLOW): the link's name is allocated with GFP_ATOMIC in the RCU walk, a fail-nth site.
 */
static int via_self_link(const char *p, int flags)
{
	size_t n = !strncmp(p, "/proc/self", 10) ? 10 : !strncmp(p, "/proc/thread-self", 17) ? 17 : 0;
	return n && (p[n] == '/' || (!p[n] && !(flags & O_NOFOLLOW)));
}

/* The program wrote a fail-nth file: walks through /proc/self opened by the host are told to the model. */
static int failnth_written;

static int open_special(const char *path, const char *name, int flags)
{
	/* the model's permission check (and whether the file exists), as the real open makes it */
	int64_t ok = call(OP_FILE_OPEN, flags, via_self_link(path, flags), 0, 0, 0, 0, name, strlen(name) + 1, NULL, NULL, 0);
	if (ok < 0) {
		errno = (int)-ok;
		return -1;
	}
	int fd = placeholder(-1, flags);
	if (fd < 0)
		return -1;
	if (fd >= MAXFD) {
		RS(SYS_close, fd);
		errno = EMFILE;
		return -1;
	}
	special_path[fd] = strdup(name);
	special_off[fd] = 0;
	fdkind[fd] = K_SPECIAL;
	return fd;
}

/*
 * The real file `r` (or -1 with errno) for the model memfd `fd` the model just
 * made: moved onto the model's number, which becomes K_BOTH; on failure the
 * model's descriptor is closed again and errno is the real call's.
 */
static int adopt_real(int fd, int r, int cloexec)
{
	if (r >= 0 && r != fd) {
		if (RS(SYS_dup3, r, fd, cloexec) < 0) {
			RS(SYS_close, r);
			r = -1;
		} else {
			RS(SYS_close, r);
			r = fd;
		}
	}
	if (r < 0) {
		int e = errno;
		CALL(OP_CLOSE, fd);
		errno = e;
		return -1;
	}
	fdkind[fd] = K_BOTH;
	return fd;
}

/*
 * /proc/self/fd/N of a model memfd (not O_PATH): the model opens its inode
 * anew (a file of its own: access mode, position, O_TRUNC under the seals),
 * then the real file is opened the same way onto the number the model chose.
 */
static int reopen_memfd(const char *path, int src, int flags, mode_t mode)
{
	int low = lowest_free_fd();
	int64_t fd = call(OP_OPEN, flags, low, 0, 0, 0, 0, path, strlen(path) + 1, NULL, NULL, 0);
	if (fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	if (adopt_real((int)fd, RS(SYS_openat, AT_FDCWD, path, flags, mode), flags & O_CLOEXEC) < 0)
		return -1;
	memfd_huge[fd] = memfd_huge[src];
	foreign_tmpfs[fd] = foreign_tmpfs[src];
	return (int)fd;
}

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/*
 * A regular file the real open `r` just opened on the tmpfs the oracle VMs
 * mount on /tmp (here /tmp may be another filesystem), or on a tmpfs of this
 * host: its inode is the model's too (a shmem page cache, as a memfd's, which
 * IOAS_MAP_FILE pins), named by the real device and inode numbers, on the
 * same descriptor, K_BOTH; the real file keeps the contents. The real open
 * did the path walk, O_CREAT, O_EXCL, O_TRUNC and the permission checks.
 * Anything else is left as it is. -1 with errno (the real file closed) when
 * the model refuses it.
 */
static int tmpfs_adopt(int r, int flags)
{
	struct stat st;
	char link[64], path[4096], s[4200];
	if (r < 0 || r >= MAXFD || (flags & O_PATH) || RS(SYS_fstat, r, &st) < 0 || !S_ISREG(st.st_mode))
		return r;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", r);
	long n = RS(SYS_readlink, link, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return r;
	path[n] = 0;
	/* an unlinked inode (O_TMPFILE, or unlinked since the walk) has no name the model keeps */
	static const char del[] = " (deleted)";
	int linked = !(n > (long)sizeof(del) - 1 && !strcmp(path + n - (sizeof(del) - 1), del));
	if (!linked)
		path[n - (sizeof(del) - 1)] = 0;
	struct statfs sf;
	int real_tmpfs = RS(SYS_fstatfs, r, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
	if (!real_tmpfs && strncmp(path, "/tmp/", 5) != 0)
		return r;
	/* the emulated debugfs (a real tree on a tmpfs of this host, which the server reads) is no tmpfs of the model's */
	const char *dbg = getenv("IOMMUFD_SIM_DEBUGFS");
	if (dbg && *dbg && !strncmp(path, dbg, strlen(dbg)))
		return r;
	int len = linked ? snprintf(s, sizeof(s), "%llu:%llu %s", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, path)
			 : snprintf(s, sizeof(s), "- %s", path);
	int64_t fd = call(OP_TMPFS_OPEN, flags, r, st.st_size, st.st_mode & 07777, st.st_uid, real_tmpfs, s, (uint32_t)len + 1, NULL, NULL, 0);
	if (fd < 0) {
		RS(SYS_close, r);
		errno = (int)-fd;
		return -1;
	}
	if (adopt_real((int)fd, r, flags & O_CLOEXEC) < 0)
		return -1;
	memfd_huge[fd] = 0;
	foreign_tmpfs[fd] = !real_tmpfs;
	return (int)fd;
}

/* The real O_TRUNC open about to empty a regular file: pages of it the model pins keep their bytes first. */
static void tmpfs_before_trunc(int dirfd, const char *path)
{
	struct stat st;
	char s[48];
	if (RS(SYS_newfstatat, dirfd, path, &st, 0) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	int len = snprintf(s, sizeof(s), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	call(OP_TMPFS_TRUNCATE, 0, 0, 0, 0, 0, 0, s, (uint32_t)len + 1, NULL, NULL, 0);
}

static ssize_t model_link(int fd, char *buf, size_t size);

/*
 * /proc/self/fd/N of a model file, opened (proc_fd_link(), then the open of what the link names): a device
 * node (/dev/iommu, /dev/vfio/vfio) is opened anew, a new iommufd context or container; an anonymous inode
 * has no open to call again (no_open(): ENXIO).
 */
static int reopen_model(int src, int flags)
{
	char name[256];
	ssize_t n = model_link(src, name, sizeof(name) - 1);
	if (n < 0)
		return -1;
	name[n] = 0;
	if (model_path(name))
		return open_model(name, flags);
	errno = ENXIO;
	return -1;
}

#ifndef EFTYPE
#define EFTYPE 134 /* 7.x: openat2()'s OPENAT2_REGULAR of a file that is no regular one */
#endif

/* 7.x's O_EMPTYPATH (1 << 26; the headers here may not name it) */
#define EMPTYPATH_FLAG (1 << 26)
#define OPENAT2_REGULAR_FLAG (1ULL << 32)

/*
 * open(), openat() (OPENAT2_PLAIN in `walk`) or openat2() of the model's node `name` (or of the file of
 * descriptor `from` for an empty name), with the walk's own failure: the model checks the flags first.
 */
static int open_named(const char *name, uint64_t flags, uint64_t mode, uint64_t resolve, int walk, int from)
{
	int low = lowest_free_fd();
	int64_t fd = call(OP_OPENAT2, (int64_t)flags, low, (int64_t)mode, (int64_t)resolve, walk, from, name, strlen(name) + 1, NULL, NULL, 0);
	if (fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	if (placeholder((int)fd, (int)(flags & O_CLOEXEC)) != fd) {
		CALL(OP_CLOSE, fd);
		errno = EMFILE;
		return -1;
	}
	fdkind[fd] = K_MODEL;
	return (int)fd;
}

/*
 * An empty path with 7.x's O_EMPTYPATH: the file dirfd names, opened again. A model file's is the model's
 * (a device node opens anew, an anonymous inode has no open); the host knows no O_EMPTYPATH, so any other
 * file is opened again through /proc/self/fd (the working directory through ".").
 */
static int open_empty(int dirfd, uint64_t flags, uint64_t mode, uint64_t resolve, int plain)
{
	if (kind_of(dirfd) & K_MODEL) {
		if (kind_of(dirfd) == K_BOTH) {
			char p[40];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
			return reopen_memfd(p, dirfd, (int)flags & ~EMPTYPATH_FLAG, (mode_t)mode);
		}
		return open_named("", flags, mode, resolve, plain ? OPENAT2_PLAIN : 0, dirfd);
	}
	char p[40];
	if (dirfd == AT_FDCWD)
		snprintf(p, sizeof(p), ".");
	else
		snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
	return RS(SYS_openat, AT_FDCWD, p, (int)flags & ~EMPTYPATH_FLAG, (mode_t)mode);
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	char name[256], buf[4096];
	if (connected() && path_ok(path)) {
		int walk;
		const char *m = model_name(dirfd, path, 0, buf, sizeof(buf), &walk);
		if (m)
			return open_named(m, (unsigned)flags, mode, 0, walk_errno(walk, m, flags & O_CREAT) | OPENAT2_PLAIN, -1);
		if (!*path && (flags & EMPTYPATH_FLAG) && open_emptypath)
			return open_empty(dirfd, (unsigned)flags, mode, 0, 1);
	}
	if (connected() && path_ok(path) && path[0] == '/') {
		/* (O_PATH, O_DIRECTORY and O_CREAT stay the real call's: a descriptor of the node, ENOTDIR, EEXIST) */
		int lfd = (flags & (O_PATH | O_DIRECTORY | O_CREAT)) ? -1 : own_fd_link(path);
		if (lfd >= 0 && kind_of(lfd) == K_MODEL)
			return reopen_model(lfd, flags);
		int src = (flags & O_PATH) ? -1 : own_memfd_link(path);
		if (src >= 0)
			return reopen_memfd(path, src, flags, mode);
		if (special_name(path, name, sizeof(name)))
			return open_special(path, name, flags);
		if (failnth_written && via_self_link(path, flags))
			call(OP_PROC_SELF_WALK | REQ_NOREPLY, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, NULL, 0);
		path = debugfs_rewrite(path, buf, sizeof(buf));
	}
	if (connected() && (flags & O_TRUNC) && !(flags & O_PATH))
		tmpfs_before_trunc(dirfd, path);
	int r = RS(SYS_openat, dirfd, path, flags, mode);
	return connected() ? tmpfs_adopt(r, flags) : r;
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/*
 * openat2(2). The open_how as copy_struct_from_user() takes it: a size below the first version's is EINVAL,
 * above a page E2BIG, bytes past the 24 this kernel knows must be zero (E2BIG; read first), an unreadable
 * one EFAULT. Then the model checks the flags (build_open_flags(): every open_how field, its profile's
 * flags), before the name is read. A model name is the model's, with the walk's failures (RESOLVE_BENEATH,
 * RESOLVE_IN_ROOT and RESOLVE_NO_XDEV follow the VMs' tree, walk_names()); an empty one with 7.x's
 * O_EMPTYPATH open_empty()'s; any other path without resolve flags open()'s, and with them the host's
 * openat2 (without 7.x's bits, which the host does not know; OPENAT2_REGULAR is checked on what opened).
 */
static long sys_openat2(int dirfd, const char *path, const void *uhow, size_t usize)
{
	struct { uint64_t flags, mode, resolve; } how;
	char tail[4096];
	if (!connected())
		return RS(SYS_openat2, dirfd, path, uhow, usize);
	if (usize < sizeof(how)) {
		errno = EINVAL;
		return -1;
	}
	if (usize > 4096) {
		errno = E2BIG;
		return -1;
	}
	if (usize > sizeof(how)) {
		size_t rest = usize - sizeof(how);
		if (self_copy(tail, (const char *)uhow + sizeof(how), rest, 0) < 0)
			return -1;
		for (size_t i = 0; i < rest; i++)
			if (tail[i]) {
				errno = E2BIG;
				return -1;
			}
	}
	if (self_copy(&how, uhow, sizeof(how), 0) < 0)
		return -1;
	int64_t ok = call(OP_OPENAT2, (int64_t)how.flags, 0, (int64_t)how.mode, (int64_t)how.resolve, 0, OPENAT2_CHECK, "", 1, NULL, NULL, 0);
	if (ok < 0) {
		errno = (int)-ok;
		return -1;
	}
	/* getname(): EFAULT, or ENAMETOOLONG for a name with no NUL inside PATH_MAX, as the real call reads it */
	if (!path_ok(path))
		return RS(SYS_openat, dirfd, path, O_RDONLY | O_CLOEXEC);
	int scope = ((how.resolve & 0x08) ? WALK_BENEATH : 0) | ((how.resolve & 0x10) ? WALK_IN_ROOT : 0) | ((how.resolve & 0x01) ? WALK_NO_XDEV : 0);
	int walk;
	char name[4096];
	const char *m = model_name(dirfd, path, scope, name, sizeof(name), &walk);
	if (m)
		return open_named(m, how.flags, how.mode, how.resolve, walk_errno(walk, m, how.flags & O_CREAT), -1);
	if (!*path && open_emptypath && (how.flags & EMPTYPATH_FLAG))
		return open_empty(dirfd, how.flags, how.mode, how.resolve, 0);
	uint64_t known = how.flags & ~(uint64_t)EMPTYPATH_FLAG & ~OPENAT2_REGULAR_FLAG;
	long r;
	if (how.resolve == 0) {
		r = do_openat(dirfd, path, (int)known, (mode_t)how.mode);
	} else {
		struct { uint64_t flags, mode, resolve; } h = { known, how.mode, how.resolve };
		r = RS(SYS_openat2, dirfd, path, &h, sizeof(h));
		if (r >= 0)
			r = tmpfs_adopt((int)r, (int)known);
	}
	struct stat st;
	if (r >= 0 && (how.flags & OPENAT2_REGULAR_FLAG) && fstat((int)r, &st) == 0 && !S_ISREG(st.st_mode)) {
		close((int)r);
		errno = EFTYPE;
		return -1;
	}
	return r;
}

int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

/*
 * unlink of a tmpfs file's last name: the model's inode loses it too (its
 * pages go with the last file and mapping). The inode is looked at first;
 * the model ignores one it never took.
 */
static int do_unlinkat(int dirfd, const char *path, int flags)
{
	struct stat st;
	int known = connected() && !(flags & AT_REMOVEDIR) && RS(SYS_newfstatat, dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
	int r = RS(SYS_unlinkat, dirfd, path, flags);
	if (r == 0 && known) {
		char s[48];
		int len = snprintf(s, sizeof(s), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		call(OP_TMPFS_UNLINK | REQ_NOREPLY, 0, 0, 0, 0, 0, 0, s, (uint32_t)len + 1, NULL, NULL, 0);
	}
	return r;
}

int unlink(const char *path)
{
	return do_unlinkat(AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	return do_unlinkat(dirfd, path, flags);
}

/* truncate(2) of a tmpfs file: through a descriptor, so that the model's page cache follows */
int truncate(const char *path, off_t len)
{
	struct stat st;
	if (!path_ok(path))
		return RS(SYS_truncate, path, len);
	/*
	 * a name of the model's (by any spelling the walk takes): do_sys_truncate() refuses a negative
	 * length first, then the walk's failure, then vfs_truncate() a directory (EISDIR) and what is no
	 * regular file (EINVAL)
	 */
	char name[4096];
	int walk;
	const char *m = connected() ? model_name(AT_FDCWD, path, 0, name, sizeof(name), &walk) : NULL;
	if (m) {
		walk = walk_errno(walk, m, 0);
		errno = len < 0 ? EINVAL : walk ? walk : node_name(m) ? EINVAL : !strcmp(m, "/dev/vfio") ? EISDIR : ENOENT;
		return -1;
	}
	if (connected() && RS(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 && S_ISREG(st.st_mode)) {
		int fd = do_openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
		if (fd >= 0 && kind_of(fd) == K_BOTH) {
			int r = ftruncate(fd, len);
			int e = errno;
			close(fd);
			errno = e;
			return r;
		}
		if (fd >= 0)
			close(fd);
	}
	return RS(SYS_truncate, path, len);
}

int truncate64(const char *path, off_t len) __attribute__((alias("truncate")));

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, m);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags | O_LARGEFILE, m);
}

int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

/* A model answer as libc returns it: -1 with errno for a negative errno. */
static long model_ret(int64_t r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (long)r;
}

/*
 * glibc declares the path of fstatat and statx nonnull, and the limits of
 * getrlimit and setrlimit, so the compiler would drop a NULL test; the kernel
 * takes NULL (with AT_EMPTY_PATH; prlimit64 of no limits is 0): keep the test.
 */
static const void *may_be_null(const void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* The model's attributes of a model descriptor (fd >= 0) or device path: mode, rdev, size, blksize, blocks (-1: the real file's). */
struct model_attr {
	unsigned int mode, maj, min;
	long long size;
	long blksize;
	long long blocks;
	unsigned long long ino;
	int own_inode; /* a pseudo file with an inode of its own (a dma-buf), not the shared anon inode */
};

static int model_attr(int fd, const char *path, struct model_attr *at)
{
	char out[128] = "";
	if (model_ret(call(OP_STAT, fd, 0, 0, 0, 0, 0, path, path ? strlen(path) + 1 : 0, NULL, out, sizeof(out))) < 0)
		return -1;
	if (sscanf(out, "%u %u %u %lld %ld %lld %llu %d", &at->mode, &at->maj, &at->min, &at->size, &at->blksize, &at->blocks, &at->ino,
		   &at->own_inode) != 8) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* The host's /dev: the model's nodes and directories are in it for the program (st_dev, and the ".." of /dev/vfio). */
static const struct stat *host_dev(void)
{
	static struct stat st;
	static int done;
	if (!done) {
		int e = errno;
		if (RS(SYS_newfstatat, AT_FDCWD, "/dev", &st, 0) < 0)
			memset(&st, 0, sizeof(st));
		errno = e;
		done = 1;
	}
	return &st;
}

/*
 * getdents64 of a model descriptor: the model writes the records; the ".." of
 * its directory (/dev/vfio) is the host's /dev, which stat shows the program.
 */
static long model_getdents(int fd, void *buf, size_t n)
{
	long r = model_ret(CALL(OP_GETDENTS, fd, (int64_t)(uintptr_t)buf, (int64_t)n));
	for (long o = 0; r > 0 && o < r;) {
		struct dirent64 *e = (struct dirent64 *)((char *)buf + o);
		if (!strcmp(e->d_name, ".."))
			e->d_ino = host_dev()->st_ino;
		if (e->d_reclen == 0)
			break;
		o += e->d_reclen;
	}
	return r;
}

/*
 * Directories. glibc's DIR reads the kernel from inside libc (getdents64,
 * fstat), past this shim, so a directory only the model has (/dev/vfio) is
 * listed through a DIR of the shim's own, known by its address; /dev is the
 * host's listing with the model's nodes it lacks (iommu, vfio) at its end.
 * Every other DIR is glibc's.
 */
#define MDIR_MAGIC 0x4d646972u
struct mdir {
	uint32_t magic;
	int fd;		    /* the model's descriptor of the directory (-1: /dev, `host` lists it) */
	DIR *host;	    /* /dev: the host's listing, before the model's nodes */
	int extra;	    /* /dev: the model's nodes given so far */
	long loc;	    /* telldir(): the position after the entry last given (its d_off) */
	int len, off;	    /* bytes of records in buf, and the next record's place */
	struct mdir *next;  /* every shim DIR */
	struct dirent64 ent;
	char buf[4096];
};
static struct mdir *mdirs;
static pthread_mutex_t mdir_mu = PTHREAD_MUTEX_INITIALIZER;

static struct mdir *mdir_of(void *d)
{
	struct mdir *m;
	pthread_mutex_lock(&mdir_mu);
	for (m = mdirs; m && (void *)m != d; m = m->next)
		;
	pthread_mutex_unlock(&mdir_mu);
	return m;
}

static struct mdir *mdir_new(int fd, DIR *host)
{
	struct mdir *m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	m->magic = MDIR_MAGIC;
	m->fd = fd;
	m->host = host;
	pthread_mutex_lock(&mdir_mu);
	m->next = mdirs;
	mdirs = m;
	pthread_mutex_unlock(&mdir_mu);
	return m;
}

static void mdir_free(struct mdir *m)
{
	pthread_mutex_lock(&mdir_mu);
	for (struct mdir **p = &mdirs; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	pthread_mutex_unlock(&mdir_mu);
	free(m);
}

/* The model's nodes /dev lists (in the order devtmpfs made them) that the host's /dev lacks. */
static const struct { const char *name; unsigned char type; } dev_extra[] = { { "iommu", DT_CHR }, { "vfio", DT_DIR } };

static DIR *(*real_opendir_fn)(const char *);

static DIR *real_opendir(const char *path)
{
	if (!real_opendir_fn)
		real_opendir_fn = dlsym(RTLD_NEXT, "opendir");
	return real_opendir_fn(path);
}

/* A model descriptor that is a directory: a shim DIR of it (the descriptor is the DIR's); else NULL, errno set. */
static DIR *mdir_of_fd(int fd)
{
	struct model_attr at;
	if (model_attr(fd, NULL, &at) < 0)
		return NULL;
	if (!S_ISDIR(at.mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	return (DIR *)mdir_new(fd, NULL);
}

DIR *opendir(const char *path)
{
	char buf[4096];
	int walk;
	if (!connected() || !path_ok(path))
		return real_opendir(path);
	const char *m = model_name(AT_FDCWD, path, 0, buf, sizeof(buf), &walk);
	if (m) {
		/* as glibc's opendir opens it (a device node: ENOTDIR) */
		int fd = openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		DIR *d = mdir_of_fd(fd);
		if (!d) {
			int e = errno;
			close(fd);
			errno = e;
		}
		return d;
	}
	const char *out = out_of_model_dir(AT_FDCWD, path, buf, sizeof(buf));
	if (out)
		path = out;
	if (!strcmp(path, "/dev") || !strcmp(path, "/dev/")) {
		DIR *h = real_opendir(path);
		if (!h)
			return NULL;
		DIR *d = (DIR *)mdir_new(-1, h);
		if (!d) {
			closedir(h);
			return NULL;
		}
		return d;
	}
	return real_opendir(debugfs_rewrite(path, buf, sizeof(buf)));
}

DIR *fdopendir(int fd)
{
	static DIR *(*real)(int);
	if (!real)
		real = dlsym(RTLD_NEXT, "fdopendir");
	if (kind_of(fd) == K_MODEL && connected())
		return mdir_of_fd(fd);
	return real(fd);
}

/* The next entry of a shim DIR, or NULL at the end (errno as it was) or on an error (errno set). */
static struct dirent64 *mdir_read(struct mdir *m)
{
	if (m->host) {
		static struct dirent64 *(*real)(DIR *);
		if (!real)
			real = dlsym(RTLD_NEXT, "readdir64");
		struct dirent64 *e = real(m->host);
		if (e)
			return e;
		struct stat st;
		char p[64];
		while (m->extra < (int)(sizeof(dev_extra) / sizeof(dev_extra[0]))) {
			int k = m->extra++;
			snprintf(p, sizeof(p), "/dev/%s", dev_extra[k].name);
			int e0 = errno;
			if (RS(SYS_newfstatat, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				errno = e0;
				continue;
			}
			errno = e0;
			memset(&m->ent, 0, sizeof(m->ent));
			struct model_attr at;
			m->ent.d_ino = model_attr(-1, p, &at) == 0 ? at.ino : 0;
			errno = e0;
			m->ent.d_off = m->extra;
			m->ent.d_reclen = sizeof(m->ent);
			m->ent.d_type = dev_extra[k].type;
			snprintf(m->ent.d_name, sizeof(m->ent.d_name), "%s", dev_extra[k].name);
			return &m->ent;
		}
		return NULL;
	}
	if (m->off >= m->len) {
		int e = errno;
		long n = model_getdents(m->fd, m->buf, sizeof(m->buf));
		if (n <= 0) {
			/* the end leaves errno as it was (glibc's readdir) */
			if (n == 0)
				errno = e;
			return NULL;
		}
		m->len = (int)n;
		m->off = 0;
	}
	struct dirent64 *r = (struct dirent64 *)(m->buf + m->off);
	memset(&m->ent, 0, sizeof(m->ent));
	memcpy(&m->ent, r, r->d_reclen < sizeof(m->ent) ? r->d_reclen : sizeof(m->ent));
	m->off += r->d_reclen;
	m->loc = m->ent.d_off;
	return &m->ent;
}

struct dirent64 *readdir64(DIR *d)
{
	static struct dirent64 *(*real)(DIR *);
	struct mdir *m = mdir_of(d);
	if (m)
		return mdir_read(m);
	if (!real)
		real = dlsym(RTLD_NEXT, "readdir64");
	return real(d);
}

/* (struct dirent is struct dirent64 on x86-64: glibc makes them one function) */
struct dirent *readdir(DIR *d) __attribute__((alias("readdir64")));

int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	static int (*real)(DIR *, struct dirent64 *, struct dirent64 **);
	struct mdir *m = mdir_of(d);
	if (!m) {
		if (!real)
			real = dlsym(RTLD_NEXT, "readdir64_r");
		return real(d, entry, result);
	}
	int e = errno;
	errno = 0;
	struct dirent64 *x = mdir_read(m);
	int err = x ? 0 : errno;
	errno = e;
	if (x)
		memcpy(entry, x, sizeof(*entry));
	*result = x ? entry : NULL;
	return err;
}

int readdir_r(DIR *d, struct dirent *entry, struct dirent **result) __attribute__((alias("readdir64_r")));

int closedir(DIR *d)
{
	static int (*real)(DIR *);
	struct mdir *m = mdir_of(d);
	if (!real)
		real = dlsym(RTLD_NEXT, "closedir");
	if (!m)
		return real(d);
	int r = m->host ? real(m->host) : close(m->fd);
	mdir_free(m);
	return r;
}

int dirfd(DIR *d)
{
	static int (*real)(DIR *);
	struct mdir *m = mdir_of(d);
	if (!real)
		real = dlsym(RTLD_NEXT, "dirfd");
	if (!m)
		return real(d);
	return m->host ? real(m->host) : m->fd;
}

long telldir(DIR *d)
{
	static long (*real)(DIR *);
	struct mdir *m = mdir_of(d);
	if (!real)
		real = dlsym(RTLD_NEXT, "telldir");
	if (!m || m->host)
		return real(m ? m->host : d);
	return m->loc;
}

void seekdir(DIR *d, long pos)
{
	static void (*real)(DIR *, long);
	struct mdir *m = mdir_of(d);
	if (!real)
		real = dlsym(RTLD_NEXT, "seekdir");
	if (!m || m->host) {
		if (m)
			m->extra = 0;
		real(m ? m->host : d, pos);
		return;
	}
	int e = errno;
	lseek(m->fd, pos, SEEK_SET);
	errno = e;
	m->len = m->off = 0;
	m->loc = pos;
}

void rewinddir(DIR *d)
{
	static void (*real)(DIR *);
	struct mdir *m = mdir_of(d);
	if (!real)
		real = dlsym(RTLD_NEXT, "rewinddir");
	if (!m || m->host) {
		if (m)
			m->extra = 0;
		real(m ? m->host : d);
		return;
	}
	seekdir(d, 0);
}

/* scandir() of a shim DIR: glibc's opens the directory inside libc. */
static int mdir_scan(DIR *d, struct dirent64 ***list, int (*sel)(const struct dirent64 *), int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	struct dirent64 **v = NULL, *e;
	size_t n = 0, cap = 0;
	int e0 = errno;
	errno = 0;
	while ((e = readdir64(d))) {
		if (sel && !sel(e))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct dirent64 **w = realloc(v, cap * sizeof(*v));
			if (!w)
				goto fail;
			v = w;
		}
		size_t sz = offsetof(struct dirent64, d_name) + strlen(e->d_name) + 1;
		if (!(v[n] = malloc(sz)))
			goto fail;
		memcpy(v[n++], e, sz);
	}
	if (errno)
		goto fail;
	closedir(d);
	if (cmp && n > 1)
		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))cmp);
	*list = v;
	errno = e0;
	return (int)n;
fail:
	e0 = errno;
	while (n)
		free(v[--n]);
	free(v);
	closedir(d);
	errno = e0;
	return -1;
}

int scandir64(const char *path, struct dirent64 ***list, int (*sel)(const struct dirent64 *), int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	static int (*real)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *), int (*)(const struct dirent64 **, const struct dirent64 **));
	if (!real)
		real = dlsym(RTLD_NEXT, "scandir64");
	char buf[4096];
	int walk;
	if (!connected() || !path_ok(path))
		return real(path, list, sel, cmp);
	const char *m = model_name(AT_FDCWD, path, 0, buf, sizeof(buf), &walk);
	if (!m && strcmp(path, "/dev") && strcmp(path, "/dev/"))
		return real(debugfs_rewrite(path, buf, sizeof(buf)), list, sel, cmp);
	DIR *d = opendir(path);
	return d ? mdir_scan(d, list, sel, cmp) : -1;
}

int scandir(const char *path, struct dirent ***list, int (*sel)(const struct dirent *), int (*cmp)(const struct dirent **, const struct dirent **)) __attribute__((alias("scandir64")));

/* getdents64(2): the model lists a model directory (glibc 2.30's wrapper, and syscall()). */
ssize_t getdents64(int fd, void *buf, size_t n)
{
	if (kind_of(fd) == K_MODEL && connected())
		return model_getdents(fd, buf, n);
	return RS(SYS_getdents64, fd, buf, n);
}

enum { LOOKUP_NONE, LOOKUP_MODEL, LOOKUP_HOST };

/*
 * What a name reaches among the model's for a call that only looks it up (realpath, statfs, readlink,
 * link): LOOKUP_MODEL with the model's name in *name and *err the walk's failure, ENOENT for a name the
 * model has no node at, or 0; LOOKUP_HOST with the host's file where a walk out of /dev/vfio ends
 * ("/dev/vfio/..": the host has no /dev/vfio to walk through); LOOKUP_NONE for any other name (the host's).
 */
static int model_lookup(int dirfd, const char *path, char *out, size_t n, const char **name, int *err)
{
	int walk;
	*err = 0;
	if (!connected() || !path || !path_ok(path))
		return LOOKUP_NONE;
	const char *m = model_name(dirfd, path, 0, out, n, &walk);
	if (!m) {
		*name = out_of_model_dir(dirfd, path, out, n);
		return *name ? LOOKUP_HOST : LOOKUP_NONE;
	}
	struct model_attr at;
	*name = m;
	*err = walk_errno(walk, m, 0);
	if (!*err && model_attr(-1, m, &at) < 0)
		*err = errno;
	return LOOKUP_MODEL;
}

/*
 * realpath() and canonicalize_file_name() walk the name with lstat and
 * readlink inside libc, where the host has no /dev/iommu or /dev/vfio: a
 * name of the model's is resolved by the shim's walk (no symbolic link on
 * the way, checked on the host), a node followed by a slash is ENOTDIR, a
 * name the model has no node at ENOENT; a name that walks out of /dev/vfio
 * is the host's where the walk ends.
 */
static char *model_realpath(const char *path, char *resolved, int *handled)
{
	char name[4096];
	const char *m;
	int err;
	int r = model_lookup(AT_FDCWD, path, name, sizeof(name), &m, &err);
	*handled = r != LOOKUP_NONE;
	if (r == LOOKUP_HOST) {
		static char *(*real)(const char *, char *);
		if (!real)
			real = dlsym(RTLD_NEXT, "realpath");
		return real(m, resolved);
	}
	if (r == LOOKUP_NONE)
		return NULL;
	if (err) {
		errno = err;
		return NULL;
	}
	if (strlen(m) + 1 > PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *out = resolved ? resolved : malloc(PATH_MAX);
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(out, PATH_MAX, "%s", m);
	return out;
}

char *realpath(const char *path, char *resolved)
{
	static char *(*real)(const char *, char *);
	int handled;
	char *r = model_realpath(path, resolved, &handled);
	if (handled)
		return r;
	if (!real)
		real = dlsym(RTLD_NEXT, "realpath");
	return real(path, resolved);
}

/* _FORTIFY_SOURCE's realpath */
char *__realpath_chk(const char *path, char *resolved, size_t len)
{
	if (len < PATH_MAX)
		abort();
	return realpath(path, resolved);
}

char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* faccessat2 as the host answers it (a host older than 5.8 has none; without flags faccessat is the same call) */
static int real_faccessat(int dirfd, const char *path, int mode, int flags)
{
	long r = RS(SYS_faccessat2, dirfd, path, mode, flags);
	if (r < 0 && errno == ENOSYS && flags == 0)
		r = RS(SYS_faccessat, dirfd, path, mode);
	return (int)r;
}

/* The caller is in group 0 (a supplementary group counts, in_group_p()). */
static int in_root_group(gid_t gid)
{
	gid_t groups[256];
	if (gid == 0)
		return 1;
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return 1;
	return 0;
}

#define CAP_BIT_DAC_OVERRIDE 1
#define CAP_BIT_DAC_READ_SEARCH 2

/*
 * do_faccessat() of a model device node (root's, its mode the model's): access_override_creds() takes
 * the real IDs, and the permitted capabilities for root, none for another user (AT_EACCESS: the
 * effective IDs and capabilities); generic_permission() then takes the owner's, the group's or the
 * others' bits, CAP_DAC_OVERRIDE for all but an exec of a file with no x bit, CAP_DAC_READ_SEARCH for
 * a read alone.
 */
static int node_access(const char *path, int mode, int flags)
{
	struct model_attr at;
	if (model_attr(-1, path, &at) < 0)
		return -1;
	int eff = flags & AT_EACCESS;
	uid_t uid = eff ? geteuid() : getuid();
	int64_t caps = eff ? CALL(OP_CAPGET, 0) : uid == 0 ? CALL(OP_CAPGET, 1) : 0;
	unsigned bits = uid == 0 ? at.mode >> 6 : in_root_group(eff ? getegid() : getgid()) ? at.mode >> 3 : at.mode;
	if (!(mode & ~bits & 7))
		return 0;
	if (caps > 0 && (caps & (1 << CAP_BIT_DAC_OVERRIDE)) && (!(mode & X_OK) || (at.mode & 0111)))
		return 0;
	if (caps > 0 && (caps & (1 << CAP_BIT_DAC_READ_SEARCH)) && mode == R_OK)
		return 0;
	errno = EACCES;
	return -1;
}

/*
 * faccessat2 of a file the model answers for. The mode and the flags are checked first, as
 * do_faccessat() checks them (EINVAL). A model device node: node_access(). A synthesized file: the
 * host's own file where it has one (the real process's IDs follow the model's); where it has none, it
 * is there and readable and writable as root finds it, and executable by nobody (none has an x bit).
 * Any other path is the real call's, debugfs's redirected.
 */
int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char buf[4096], name[256];
	int walk;
	if (!connected() || !path_ok(path))
		return real_faccessat(dirfd, path, mode, flags);
	const char *m = model_name(dirfd, path, 0, buf, sizeof(buf), &walk);
	walk = m ? walk_errno(walk, m, 0) : 0;
	if (!m && path[0] != '/')
		return real_faccessat(dirfd, path, mode, flags);
	if ((mode & ~S_IRWXO) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))) {
		errno = EINVAL;
		return -1;
	}
	if (m && walk) {
		errno = walk;
		return -1;
	}
	if (m)
		return node_access(m, mode, flags);
	if (special_name(path, name, sizeof(name))) {
		int r = real_faccessat(dirfd, path, mode, flags);
		if (r == 0 || errno != ENOENT)
			return r;
		if (mode & X_OK) {
			errno = EACCES;
			return -1;
		}
		return 0;
	}
	path = debugfs_rewrite(path, buf, sizeof(buf));
	return real_faccessat(dirfd, path, mode, flags);
}

int access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, 0);
}

/* (glibc's own call faccessat inside libc) */
int euidaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

int eaccess(const char *path, int mode) __attribute__((alias("euidaccess")));

/*
 * The host's shared anon inode (anon_inode_getfile()'s, an eventfd's): the device, inode number and
 * times every anonymous-inode file shows, the model's among them.
 */
static const struct stat *host_anon_inode(void)
{
	static struct stat st;
	static int done;
	if (!done) {
		int e = errno;
		int anon = RS(SYS_eventfd2, 0, O_CLOEXEC);
		if (anon < 0 || RS(SYS_fstat, anon, &st) < 0)
			memset(&st, 0, sizeof(st));
		if (anon >= 0)
			RS(SYS_close, anon);
		errno = e;
		done = 1;
	}
	return &st;
}

/*
 * stat of a file only the model has (a device node by path, or a model
 * descriptor): the model's attributes (mode, rdev, size, blksize); root owns
 * them (devtmpfs nodes, the shared anon inode). A node or directory is on the
 * /dev the program sees, with its times; an anonymous-inode file is the
 * host's anon inode (its device, number and times, an eventfd's too).
 */
static int model_stat(int fd, const char *path, struct stat *st)
{
	struct model_attr at;
	struct stat v;
	if (model_attr(fd, path, &at) < 0)
		return -1;
	memset(&v, 0, sizeof(v));
	v.st_mode = at.mode;
	v.st_rdev = makedev(at.maj, at.min);
	v.st_size = at.size;
	v.st_blksize = at.blksize;
	v.st_nlink = S_ISDIR(at.mode) ? 2 : 1;
	if (at.blocks >= 0)
		v.st_blocks = at.blocks;
	/* (a dma-buf's own inode: a pseudo filesystem's, with the times of one; its device and number stay 0) */
	const struct stat *on = at.ino ? host_dev() : !(at.mode & S_IFMT) ? host_anon_inode() : NULL;
	if (on) {
		v.st_ino = at.ino ? at.ino : at.own_inode ? 0 : on->st_ino;
		v.st_dev = at.own_inode ? 0 : on->st_dev;
		v.st_atim = on->st_atim;
		v.st_mtim = on->st_mtim;
		v.st_ctim = on->st_ctim;
	}
	return self_copy(st, &v, sizeof(v), 1);
}

/*
 * stat of what `path` (from dirfd) names among the model's nodes (model_name()), or of the host's file a
 * walk out of the model's directory reaches ("/dev/vfio/.."): the host has no /dev/vfio to walk through.
 * 1 when it names neither.
 */
static int model_path_stat(int dirfd, const char *path, struct stat *st, int flags)
{
	char name[4096];
	int walk;
	const char *m = model_name(dirfd, path, 0, name, sizeof(name), &walk);
	if (!m) {
		m = out_of_model_dir(dirfd, path, name, sizeof(name));
		return m ? RS(SYS_newfstatat, AT_FDCWD, m, st, flags & AT_SYMLINK_NOFOLLOW) : 1;
	}
	walk = walk_errno(walk, m, 0);
	if (walk) {
		errno = walk;
		return -1;
	}
	return model_stat(-1, m, st);
}

/* A memfd's attributes: the real file's, with the model's size (it may differ) and block size (hugetlbfs' huge page). */
static void memfd_sync(int fd);

static int memfd_stat(int fd, struct stat *st)
{
	struct model_attr at;
	if (RS(SYS_fstat, fd, st) < 0)
		return -1;
	memfd_sync(fd); /* (the pages the real file has that the model lacks count in its blocks) */
	if (model_attr(fd, NULL, &at) < 0)
		return -1;
	st->st_size = at.size;
	st->st_blksize = at.blksize;
	if (at.blocks >= 0)
		st->st_blocks = at.blocks;
	return 0;
}

int fstat(int fd, struct stat *st)
{
	if (kind_of(fd) == K_MODEL && connected())
		return model_stat(fd, NULL, st);
	if (kind_of(fd) == K_BOTH && connected())
		return memfd_stat(fd, st);
	return RS(SYS_fstat, fd, st);
}

int fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

/*
 * fstatfs of a model file: a device node's is its /dev's (the /dev/null placeholder's, devtmpfs as in the
 * VMs); an anonymous inode's (an access, a fault queue, an event queue) is the anon inode filesystem's,
 * which the kernel answers for every anon_inode file: asked of a real one made for the call (an eventfd).
 */
int fstatfs(int fd, struct statfs *sf)
{
	struct model_attr at;
	if (kind_of(fd) == K_MODEL && connected() && model_attr(fd, NULL, &at) == 0 && !S_ISCHR(at.mode)) {
		int anon = RS(SYS_eventfd2, 0, O_CLOEXEC);
		if (anon >= 0) {
			long r = RS(SYS_fstatfs, anon, sf);
			int e = errno;
			RS(SYS_close, anon);
			errno = e;
			return (int)r;
		}
	}
	return RS(SYS_fstatfs, fd, sf);
}

int fstatfs64(int fd, struct statfs64 *sf)
{
	return fstatfs(fd, (struct statfs *)sf);
}

/*
 * The splice family (splice, tee, sendfile) with a model file on either side. No model file has
 * splice_read or splice_write, so what the kernel answers is its checks in their order, then EINVAL:
 * the length and flags, the descriptors (fdget(): none, or O_PATH, is EBADF), an offset given for a pipe
 * (ESPIPE), the offsets read (EFAULT), the access modes (EBADF), sendfile's offset on a file without
 * FMODE_PREAD (ESPIPE), and a full pipe to splice into (wait_for_space(): EAGAIN when non-blocking).
 * The model says a model file's modes (OP_FMODE); the host another descriptor's, and whether it is a pipe.
 */
static int splice_modes(int fd, int *pipe)
{
	*pipe = 0;
	if (kind_of(fd) == K_MODEL) {
		int64_t m = CALL(OP_FMODE, fd);
		if (m < 0) {
			errno = (int)-m;
			return -1;
		}
		return m & 8 ? -1 : (int)m;
	}
	int fl = RS(SYS_fcntl, fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH)) {
		errno = EBADF;
		return -1;
	}
	struct stat st;
	int stream = 0;
	if (RS(SYS_fstat, fd, &st) == 0) {
		*pipe = S_ISFIFO(st.st_mode);
		/* a pipe or a socket has no FMODE_PREAD (stream_open(), sock_alloc_file()) */
		stream = *pipe || S_ISSOCK(st.st_mode);
	}
	int acc = fl & O_ACCMODE;
	return (acc == O_RDONLY || acc == O_RDWR ? 1 : 0) | (acc == O_WRONLY || acc == O_RDWR ? 2 : 0) | (stream ? 0 : 4);
}

static long splice_fail(int e)
{
	errno = e;
	return -1;
}

/* wait_for_space() of the pipe `fd` about to be spliced into: EAGAIN when full and non-blocking */
static long pipe_room(int fd, int nonblock)
{
	struct pollfd pf = { fd, POLLOUT, 0 };
	int fl = RS(SYS_fcntl, fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		nonblock = 1;
	long r = RS(SYS_poll, &pf, 1, nonblock ? 0 : -1);
	return r > 0 ? 0 : r == 0 ? splice_fail(EAGAIN) : -1;
}

static long model_splice(int in, const loff_t *off_in, int out, const loff_t *off_out, size_t len, unsigned int flags)
{
	int ipipe, opipe;
	loff_t t;
	if (!len)
		return 0;
	if (flags & ~0xfu)
		return splice_fail(EINVAL);
	int mi = splice_modes(in, &ipipe);
	if (mi < 0)
		return splice_fail(EBADF);
	int mo = splice_modes(out, &opipe);
	if (mo < 0)
		return splice_fail(EBADF);
	if ((ipipe && off_in) || (opipe && off_out))
		return splice_fail(ESPIPE);
	if ((off_out && self_copy(&t, off_out, sizeof(t), 0) < 0) || (off_in && self_copy(&t, off_in, sizeof(t), 0) < 0))
		return -1;
	if (!(mi & 1) || !(mo & 2))
		return splice_fail(EBADF);
	if (opipe && !ipipe && pipe_room(out, flags & SPLICE_F_NONBLOCK) < 0)
		return -1;
	return splice_fail(EINVAL);
}

ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned int flags)
{
	if (connected() && (kind_of(in) == K_MODEL || kind_of(out) == K_MODEL))
		return model_splice(in, off_in, out, off_out, len, flags);
	return RS(SYS_splice, in, off_in, out, off_out, len, flags);
}

ssize_t tee(int in, int out, size_t len, unsigned int flags)
{
	int ip, op;
	if (!connected() || (kind_of(in) != K_MODEL && kind_of(out) != K_MODEL))
		return RS(SYS_tee, in, out, len, flags);
	if (flags & ~0xfu)
		return splice_fail(EINVAL);
	if (!len)
		return 0;
	int mi = splice_modes(in, &ip), mo = mi < 0 ? -1 : splice_modes(out, &op);
	if (mi < 0 || mo < 0 || !(mi & 1) || !(mo & 2))
		return splice_fail(EBADF);
	return splice_fail(EINVAL);
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	int ip, op;
	loff_t pos = 0;
	if (!connected() || (kind_of(in) != K_MODEL && kind_of(out) != K_MODEL))
		return RS(SYS_sendfile, out, in, off, count);
	/* sendfile64(): the offset read first; do_sendfile(): the source, its offset, then the destination */
	if (off && self_copy(&pos, off, sizeof(pos), 0) < 0)
		return -1;
	int mi = splice_modes(in, &ip);
	if (mi < 0 || !(mi & 1))
		return splice_fail(EBADF);
	if (off && !(mi & 4))
		return splice_fail(ESPIPE);
	if (pos < 0)
		return splice_fail(EINVAL);
	int mo = splice_modes(out, &op);
	if (mo < 0 || !(mo & 2))
		return splice_fail(EBADF);
	if (!count)
		return 0;
	if (op && pipe_room(out, 0) < 0)
		return -1;
	return splice_fail(EINVAL);
}

ssize_t sendfile64(int out, int in, off_t *off, size_t count) __attribute__((alias("sendfile")));

/* /proc/self/fd/N of a model descriptor, followed (stat, not lstat): the model's file; -1 otherwise */
static int followed_model_fd(const char *path)
{
	int fd = connected() && path_ok(path) ? own_fd_link(path) : -1;
	return fd >= 0 && kind_of(fd) == K_MODEL ? fd : -1;
}

int stat(const char *path, struct stat *st)
{
	int lfd = followed_model_fd(path);
	if (lfd >= 0)
		return model_stat(lfd, NULL, st);
	int r;
	if (connected() && path_ok(path) && (r = model_path_stat(AT_FDCWD, path, st, 0)) != 1)
		return r;
	return RS(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

int lstat(const char *path, struct stat *st)
{
	int r;
	if (connected() && path_ok(path) && (r = model_path_stat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW)) != 1)
		return r;
	return RS(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	path = may_be_null(path);
	if (path && !path_ok(path))
		return RS(SYS_newfstatat, dirfd, path, st, flags);
	if ((flags & AT_EMPTY_PATH) && path && !*path && kind_of(dirfd) == K_MODEL && connected())
		return model_stat(dirfd, NULL, st);
	if ((flags & AT_EMPTY_PATH) && path && !*path && kind_of(dirfd) == K_BOTH && connected())
		return memfd_stat(dirfd, st);
	int lfd = !(flags & AT_SYMLINK_NOFOLLOW) && path && path[0] == '/' ? followed_model_fd(path) : -1;
	if (lfd >= 0)
		return model_stat(lfd, NULL, st);
	int r;
	if (connected() && path && (r = model_path_stat(dirfd, path, st, flags)) != 1)
		return r;
	return RS(SYS_newfstatat, dirfd, path, st, flags);
}

int stat64(const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

int lstat64(const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

/*
 * statfs and statvfs of a model name: the filesystem of the /dev the program sees (devtmpfs in the
 * VMs), after the walk's failure or ENOENT for a name the model has no node at; a name that walks out of
 * /dev/vfio is the host's file where the walk ends. (glibc's statvfs calls statfs inside libc.)
 */
static const char *statfs_name(const char *path, char *name, size_t n, int *err)
{
	const char *m;
	int r = model_lookup(AT_FDCWD, path, name, n, &m, err);
	return r == LOOKUP_MODEL ? "/dev" : r == LOOKUP_HOST ? m : NULL;
}

int statfs(const char *path, struct statfs *sf)
{
	char name[4096];
	int err;
	const char *m = statfs_name(path, name, sizeof(name), &err);
	if (err) {
		errno = err;
		return -1;
	}
	return RS(SYS_statfs, m ? m : path, sf);
}

int statfs64(const char *path, struct statfs64 *sf) __attribute__((alias("statfs")));

int statvfs(const char *path, struct statvfs *sv)
{
	static int (*real)(const char *, struct statvfs *);
	char name[4096];
	int err;
	if (!real)
		real = dlsym(RTLD_NEXT, "statvfs");
	const char *m = statfs_name(path, name, sizeof(name), &err);
	if (err) {
		errno = err;
		return -1;
	}
	return real(m ? m : path, sv);
}

int statvfs64(const char *path, struct statvfs64 *sv) __attribute__((alias("statvfs")));

/*
 * glob() opens and reads directories and stats names inside libc; unless the caller brings its own
 * (GLOB_ALTDIRFUNC), it is given this shim's, so a pattern in /dev/vfio or one for /dev/io... matches
 * the model's nodes.
 */
static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static struct dirent *glob_readdir(void *d)
{
	return readdir(d);
}

static void glob_closedir(void *d)
{
	closedir(d);
}

int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob)
{
	static int (*real)(const char *, int, int (*)(const char *, int), glob_t *);
	if (!real)
		real = dlsym(RTLD_NEXT, "glob");
	if (!connected() || (flags & GLOB_ALTDIRFUNC) || !pglob)
		return real(pattern, flags, errfunc, pglob);
	pglob->gl_opendir = glob_opendir;
	pglob->gl_readdir = glob_readdir;
	pglob->gl_closedir = glob_closedir;
	pglob->gl_stat = stat;
	pglob->gl_lstat = lstat;
	int r = real(pattern, flags | GLOB_ALTDIRFUNC, errfunc, pglob);
	/* (gl_flags as the caller's flags make them) */
	pglob->gl_flags &= ~GLOB_ALTDIRFUNC;
	return r;
}

int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int), glob64_t *pglob) __attribute__((alias("glob")));

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

/*
 * statx of a model descriptor (AT_EMPTY_PATH with an empty or NULL path) or
 * device path: the real statx of the placeholder (/dev/null) first, so the
 * flags, the mask and the buffer meet the kernel's own checks (EINVAL,
 * EFAULT), then the model's attributes over the placeholder's.
 */
int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
	path = may_be_null(path);
	if (path && !path_ok(path))
		return RS(SYS_statx, dirfd, path, flags, mask, sx);
	if ((flags & AT_EMPTY_PATH) && (!path || !*path) && kind_of(dirfd) == K_BOTH && connected()) {
		struct model_attr at;
		if (RS(SYS_statx, dirfd, path, flags, mask, sx))
			return -1;
		memfd_sync(dirfd);
		if (model_attr(dirfd, NULL, &at) < 0)
			return -1;
		sx->stx_size = (uint64_t)at.size;
		sx->stx_blksize = (uint32_t)at.blksize;
		if (at.blocks >= 0)
			sx->stx_blocks = (uint64_t)at.blocks;
		return 0;
	}
	/* /proc/self/fd/N of a model descriptor, followed: statx of that descriptor */
	int lfd = !(flags & AT_SYMLINK_NOFOLLOW) && path && path[0] == '/' ? followed_model_fd(path) : -1;
	if (lfd >= 0) {
		dirfd = lfd;
		path = "";
		flags |= AT_EMPTY_PATH;
	}
	int by_fd = (flags & AT_EMPTY_PATH) && (!path || !*path) && kind_of(dirfd) == K_MODEL;
	char name[4096];
	int walk = 0;
	const char *m = by_fd || !connected() ? NULL : model_name(dirfd, path, 0, name, sizeof(name), &walk);
	walk = m ? walk_errno(walk, m, 0) : 0;
	if (!connected() || (!by_fd && !m))
		return RS(SYS_statx, dirfd, path, flags, mask, sx);
	if (by_fd ? RS(SYS_statx, dirfd, path, flags, mask, sx) : RS(SYS_statx, AT_FDCWD, "/dev/null", flags, mask, sx))
		return -1;
	if (walk) {
		errno = walk;
		return -1;
	}
	struct model_attr at;
	if (model_attr(by_fd ? dirfd : -1, by_fd ? NULL : m, &at) < 0)
		return -1;
	sx->stx_mode = (uint16_t)at.mode;
	sx->stx_rdev_major = at.maj;
	sx->stx_rdev_minor = at.min;
	sx->stx_size = (uint64_t)at.size;
	sx->stx_blksize = (uint32_t)at.blksize;
	sx->stx_blocks = 0;
	sx->stx_nlink = S_ISDIR(at.mode) ? 2 : 1;
	if (at.ino) {
		sx->stx_ino = at.ino;
		sx->stx_dev_major = major(host_dev()->st_dev);
		sx->stx_dev_minor = minor(host_dev()->st_dev);
	}
	sx->stx_uid = 0;
	sx->stx_gid = 0;
	return 0;
}

/*
 * fchmod/fchown of a model descriptor: the model answers (the placeholder is
 * the host's /dev/null, which they must never change). fchmod of a memfd:
 * the model answers, the real file follows it.
 */
int fchmod(int fd, mode_t mode)
{
	if (kind_of(fd) == K_MODEL && connected())
		return (int)model_ret(CALL(OP_SETATTR, fd, (int64_t)mode, 0, 0));
	/* a memfd's mode is the model's (its owner, F_SEAL_EXEC), the real file then takes the same */
	if (kind_of(fd) == K_BOTH && connected()) {
		if (model_ret(CALL(OP_SETATTR, fd, (int64_t)mode, 0, 0)) < 0)
			return -1;
		int e = errno;
		RS(SYS_fchmod, fd, mode);
		errno = e;
		return 0;
	}
	return RS(SYS_fchmod, fd, mode);
}

int fchown(int fd, uid_t uid, gid_t gid)
{
	if (kind_of(fd) == K_MODEL && connected())
		return (int)model_ret(CALL(OP_SETATTR, fd, (int64_t)(int32_t)uid, (int64_t)(int32_t)gid, 1));
	return RS(SYS_fchown, fd, uid, gid);
}

int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	path = may_be_null(path);
	if (path && !path_ok(path))
		return RS(SYS_fchownat, dirfd, path, uid, gid, flags);
	if ((flags & AT_EMPTY_PATH) && path && !*path && kind_of(dirfd) == K_MODEL && connected()) {
		if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) {
			errno = EINVAL;
			return -1;
		}
		return fchown(dirfd, uid, gid);
	}
	return RS(SYS_fchownat, dirfd, path, uid, gid, flags);
}

/*
 * Before the model answers for a memfd: tell it where the real file has
 * pages (the program's own loads and stores through its mappings fault them
 * into the real page cache only), so that its page cache holds them too.
 * The real file's position is put back: the model keeps the descriptor's.
 */
static void memfd_sync(int fd)
{
	char buf[1024];
	size_t n = 0;
	long cur = RS(SYS_lseek, fd, 0, SEEK_CUR);
	long pos = 0;
	while (n + 48 < sizeof(buf)) {
		long d = RS(SYS_lseek, fd, pos, SEEK_DATA);
		if (d < 0)
			break;
		long h = RS(SYS_lseek, fd, d, SEEK_HOLE);
		if (h <= d)
			break;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%ld %ld ", d, h);
		pos = h;
	}
	if (cur >= 0)
		RS(SYS_lseek, fd, cur, SEEK_SET);
	if (n > 0)
		call(OP_MEMFD_SYNC | REQ_NOREPLY, fd, 0, 0, 0, 0, 0, buf, (uint32_t)n + 1, NULL, NULL, 0);
}

/* read/write/lseek of a model descriptor or memfd: the model answers (a memfd's pages synced first) */
static int model_io(int fd)
{
	if (!(kind_of(fd) & K_MODEL) || !connected())
		return 0;
	if (kind_of(fd) == K_BOTH)
		memfd_sync(fd);
	return 1;
}

/*
 * readv/writev and the positional forms of a model descriptor: the model
 * reads the iovec array and moves each segment (do_loop_readv_writev).
 * preadv2/pwritev2 at position -1 use the file position, as readv/writev.
 */
static ssize_t model_rwv(uint32_t op, int fd, const struct iovec *iov, int cnt, off_t off, int flags, int positional)
{
	return model_ret(CALL(op, fd, (int64_t)(uintptr_t)iov, (int64_t)cnt, (int64_t)off, (int64_t)flags, positional));
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (model_io(fd))
		return model_rwv(OP_READV, fd, iov, cnt, 0, 0, 0);
	return RS(SYS_readv, fd, iov, cnt);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (model_io(fd))
		return model_rwv(OP_WRITEV, fd, iov, cnt, 0, 0, 0);
	return RS(SYS_writev, fd, iov, cnt);
}

ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (model_io(fd))
		return model_rwv(OP_READV, fd, iov, cnt, off, flags, off != -1);
	return RS(SYS_preadv2, fd, iov, cnt, off, 0, flags);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (model_io(fd))
		return model_rwv(OP_WRITEV, fd, iov, cnt, off, flags, off != -1);
	return RS(SYS_pwritev2, fd, iov, cnt, off, 0, flags);
}

ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (model_io(fd))
		return model_rwv(OP_READV, fd, iov, cnt, off, 0, 1);
	return RS(SYS_preadv, fd, iov, cnt, off, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (model_io(fd))
		return model_rwv(OP_WRITEV, fd, iov, cnt, off, 0, 1);
	return RS(SYS_pwritev, fd, iov, cnt, off, 0);
}

ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("preadv")));
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));
ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) __attribute__((alias("preadv2")));
ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) __attribute__((alias("pwritev2")));

/* ------------------------------------------------------------------------ */
/* synthesized files */

/* pagemap: whole u64 entries of the model's page tables, a chunk per request */
static long pagemap_read(int fd, void *dst, size_t n, long long off)
{
	char buf[32768 + 1];
	size_t done = 0;
	if (n == 0 || (off & 7)) {
		errno = (off & 7) ? EINVAL : errno;
		return (off & 7) ? -1 : 0;
	}
	while (done < n) {
		size_t want = n - done < 32768 ? n - done : 32768;
		int64_t r = call(OP_PAGEMAP, off + (long long)done, (int64_t)want, 0, 0, 0, 0, special_path[fd],
				 strlen(special_path[fd]) + 1, NULL, buf, want + 1);
		if (r < 0) {
			if (done)
				break;
			errno = (int)-r;
			return -1;
		}
		/* (into memory it cannot write: EFAULT, or what was read before) */
		if (self_copy((char *)dst + done, buf, (size_t)r, 1) < 0) {
			if (done)
				break;
			return -1;
		}
		done += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	return (long)done;
}

static long special_read(int fd, void *dst, size_t n, long long off)
{
	if (!strncmp(special_path[fd], "pagemap:", 8))
		return pagemap_read(fd, dst, n, off);
	if (!strncmp(special_path[fd], "smaps:", 6) || !strncmp(special_path[fd], "smaps_rollup:", 13) ||
	    !strncmp(special_path[fd], "maps:", 5)) {
		/* longer than one reply: the server sends the slice asked for */
		size_t want = n < 65536 ? n : 65536;
		char *part = malloc(want + 1);
		if (!part) {
			errno = ENOMEM;
			return -1;
		}
		int64_t got = call(OP_FILE_READ, off, (int64_t)want, 1, 0, 0, 0, special_path[fd], strlen(special_path[fd]) + 1,
				   NULL, part, want + 1);
		if (got > 0 && self_copy(dst, part, (size_t)got, 1) < 0)
			got = -EFAULT;
		free(part);
		if (got < 0) {
			errno = (int)-got;
			return -1;
		}
		return (long)got;
	}
	char content[8192];
	int64_t len = call(OP_FILE_READ, 0, 0, 0, 0, 0, 0, special_path[fd], strlen(special_path[fd]) + 1, NULL,
			   content, sizeof(content));
	if (len < 0) {
		errno = (int)-len;
		return -1;
	}
	len = strlen(content);
	if (off >= len)
		return 0;
	if ((long long)n > len - off)
		n = len - off;
	return self_copy(dst, content + off, n, 1) < 0 ? -1 : (long)n;
}

static int is_failnth(int fd)
{
	return !strncmp(special_path[fd], "fail-nth:", 9);
}

static long special_write(int fd, const void *src, size_t n)
{
	size_t pl = strlen(special_path[fd]) + 1, count = n;
	char buf[512];
	if (pl + n > sizeof(buf))
		n = sizeof(buf) - pl;
	/* kstrtouint_from_user() reads no more than 34 bytes (a fault past them is not seen), and returns the count */
	if (is_failnth(fd)) {
		failnth_written = 1;
		if (n > 34)
			n = 34;
	}
	memcpy(buf, special_path[fd], pl);
	if (self_copy(buf + pl, src, n, 0) < 0)
		return -1;
	int64_t r = call(OP_FILE_WRITE, count != n ? (int64_t)count : 0, 0, 0, 0, 0, 0, buf, pl + n, NULL, NULL, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (long)r;
}

/* read/write (off unused) and pread/pwrite of a model descriptor */
static long model_rw(uint32_t op, int fd, const void *buf, size_t n, off_t off)
{
	return model_ret(CALL(op, fd, (int64_t)(uintptr_t)buf, (int64_t)n, (int64_t)off));
}

ssize_t read(int fd, void *buf, size_t n)
{
	if (model_io(fd))
		return model_rw(OP_READ, fd, buf, n, 0);
	if (kind_of(fd) == K_SPECIAL) {
		long r = special_read(fd, buf, n, special_off[fd]);
		if (r > 0)
			special_off[fd] += r;
		return r;
	}
	return RS(SYS_read, fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (model_io(fd))
		return model_rw(OP_PREAD, fd, buf, n, off);
	if (kind_of(fd) == K_SPECIAL)
		return special_read(fd, buf, n, off);
	return RS(SYS_pread64, fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t write(int fd, const void *buf, size_t n)
{
	if (model_io(fd))
		return model_rw(OP_WRITE, fd, buf, n, 0);
	if (kind_of(fd) == K_SPECIAL)
		return special_write(fd, buf, n);
	return RS(SYS_write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (model_io(fd))
		return model_rw(OP_PWRITE, fd, buf, n, off);
	if (kind_of(fd) == K_SPECIAL)
		return special_write(fd, buf, n);
	return RS(SYS_pwrite64, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

off_t lseek(int fd, off_t off, int whence)
{
	if (model_io(fd))
		return (off_t)model_ret(CALL(OP_LSEEK, fd, (int64_t)off, whence));
	if (kind_of(fd) == K_SPECIAL) {
		/* proc_fail_nth_operations has no llseek: do_dentry_open() drops FMODE_LSEEK, vfs_llseek() says ESPIPE */
		if (is_failnth(fd)) {
			errno = ESPIPE;
			return -1;
		}
		if (whence == SEEK_SET)
			special_off[fd] = off;
		else if (whence == SEEK_CUR)
			special_off[fd] += off;
		else {
			errno = EINVAL;
			return -1;
		}
		return special_off[fd];
	}
	return RS(SYS_lseek, fd, off, whence);
}

off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

/*
 * The waits of poll, select and epoll_wait over model files: the questions to the model run with every
 * signal blocked, and the millisecond between them is a real ppoll under the caller's mask (ppoll's,
 * pselect's or epoll_pwait's own, when given: swapped in atomically, as the kernel does), so a signal
 * that came meanwhile ends the wait there, EINTR, as do_sys_poll() and ep_poll() end it (never restarted,
 * whatever SA_RESTART says). wait_begin() blocks them, wait_tick() sleeps (-1: a handler ran), wait_end()
 * puts the caller's mask back.
 */
static void wait_begin(sigset_t *caller)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, caller);
}

static int wait_tick(const sigset_t *caller)
{
	struct timespec ts = { 0, 1000000 };
	return RS(SYS_ppoll, NULL, 0, &ts, caller, _NSIG / 8) < 0 && errno == EINTR ? -1 : 0;
}

static void wait_end(const sigset_t *caller)
{
	int e = errno;
	pthread_sigmask(SIG_SETMASK, caller, NULL);
	errno = e;
}

static int poll_wait(struct pollfd *fds, nfds_t n, int timeout, const sigset_t *caller)
{
	for (int waited = 0;; waited++) {
		int ready = 0;
		for (nfds_t i = 0; i < n; i++) {
			if (kind_of(fds[i].fd) != K_MODEL)
				continue;
			int64_t r = CALL(OP_POLL, fds[i].fd, fds[i].events);
			fds[i].revents = r < 0 ? POLLNVAL : (short)r;
			ready += fds[i].revents != 0;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (kind_of(fds[i].fd) == K_MODEL)
				continue;
			struct pollfd one = fds[i];
			if (RS(SYS_poll, &one, 1, 0) > 0)
				ready++;
			fds[i].revents = one.revents;
		}
		if (ready || timeout == 0 || (timeout > 0 && waited >= timeout))
			return ready;
		if (wait_tick(caller) < 0)
			return -1;
	}
}

/*
 * poll: model files answer at once; real ones are polled without waiting,
 * every millisecond until one is ready or the timeout (ms, < 0: none) ends.
 */
static int poll_loop(struct pollfd *fds, nfds_t n, int timeout, const sigset_t *mask)
{
	sigset_t caller;
	wait_begin(&caller);
	int r = poll_wait(fds, n, timeout, mask ? mask : &caller);
	wait_end(&caller);
	return r;
}

static int has_model_fd(struct pollfd *fds, nfds_t n)
{
	/* (more than any RLIMIT_NOFILE allows, or an array the kernel cannot copy: its own answer) */
	if (n > (1u << 20) || !user_rw(fds, n * sizeof(*fds)))
		return 0;
	for (nfds_t i = 0; i < n; i++)
		if (kind_of(fds[i].fd) == K_MODEL)
			return 1;
	return 0;
}

/* A timespec timeout in whole milliseconds (rounded up), -1 for none. */
static int ts_ms(const struct timespec *ts)
{
	if (!ts)
		return -1;
	long long ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* A timeout the kernel refuses (EINVAL): a negative or unnormalized timespec. */
static int ts_invalid(const struct timespec *t)
{
	if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L)) {
		errno = EINVAL;
		return 1;
	}
	return 0;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!connected() || !has_model_fd(fds, n))
		return RS(SYS_poll, fds, n, timeout);
	return poll_loop(fds, n, timeout, NULL);
}

/*
 * ppoll: as poll, under the given signal mask. Its own checks come from the
 * real call first (a zero timeout: bad timespec EINVAL, bad fds array EFAULT).
 */
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
	if (!connected() || !has_model_fd(fds, n))
		return RS(SYS_ppoll, fds, n, tmo, mask, _NSIG / 8);
	if (ts_invalid(tmo))
		return -1;
	return poll_loop(fds, n, ts_ms(tmo), mask);
}

/* select's three sets as poll wants them (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET) */
#define SEL_IN (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define SEL_EX (POLLPRI)

static int select_model(int nfds, fd_set *r, fd_set *w, fd_set *e, int timeout, const sigset_t *mask)
{
	static __thread struct pollfd pf[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		short ev = (r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) | (e && FD_ISSET(fd, e) ? POLLPRI : 0);
		if (ev)
			pf[n++] = (struct pollfd){ .fd = fd, .events = (short)(ev | (ev & POLLIN ? SEL_IN : 0) | (ev & POLLOUT ? SEL_OUT : 0)) };
	}
	int got = poll_loop(pf, n, timeout, mask);
	if (got < 0)
		return got;
	for (nfds_t i = 0; i < n; i++)
		if (pf[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	int ready = 0;
	for (nfds_t i = 0; i < n; i++) {
		int fd = pf[i].fd;
		short rv = pf[i].revents;
		if (r && FD_ISSET(fd, r)) {
			if (rv & SEL_IN)
				ready++;
			else
				FD_CLR(fd, r);
		}
		if (w && FD_ISSET(fd, w)) {
			if (rv & SEL_OUT)
				ready++;
			else
				FD_CLR(fd, w);
		}
		if (e && FD_ISSET(fd, e)) {
			if (rv & SEL_EX)
				ready++;
			else
				FD_CLR(fd, e);
		}
	}
	return ready;
}

static int sets_have_model(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	/* sets the kernel cannot copy in and out (core_sys_select(): as many bytes as nfds takes, in longs): its own answer */
	size_t bytes = ((size_t)(nfds < FD_SETSIZE ? nfds : FD_SETSIZE) + 63) / 64 * 8;
	if ((r && !user_rw(r, bytes)) || (w && !user_rw(w, bytes)) || (e && !user_rw(e, bytes)))
		return 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE && fd < MAXFD; fd++)
		if (kind_of(fd) == K_MODEL && ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))))
			return 1;
	return 0;
}

/*
 * select/pselect with a model descriptor in a set: the real call with a zero
 * timeout on copies of the sets checks what the kernel checks (EINVAL for a
 * negative nfds or timeout, EFAULT); then all of them are polled as poll does.
 */
int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!connected() || nfds <= 0 || !sets_have_model(nfds, r, w, e))
		return RS(SYS_select, nfds, r, w, e, tv);
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	long long ms = tv ? (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000 : -1;
	return select_model(nfds, r, w, e, ms > 0x7fffffff ? 0x7fffffff : (int)ms, NULL);
}

int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo, const sigset_t *mask)
{
	if (!connected() || nfds <= 0 || !sets_have_model(nfds, r, w, e)) {
		struct { const sigset_t *ss; size_t len; } sig = { mask, _NSIG / 8 };
		return RS(SYS_pselect6, nfds, r, w, e, tmo, &sig);
	}
	if (ts_invalid(tmo))
		return -1;
	return select_model(nfds, r, w, e, ts_ms(tmo), mask);
}

/*
 * epoll with model descriptors: the real epoll set cannot hold them (the
 * placeholder, /dev/null, has no poll: EPERM), so the shim keeps their
 * registrations per epoll descriptor and answers for them (fs/eventpoll.c:
 * level-triggered by default; EPOLLONESHOT disarms after one report until
 * EPOLL_CTL_MOD; EPOLLET reports once per wake-up of the file's wait queue,
 * which the model counts, or per ADD/MOD, as ep_poll_callback() and
 * ep_insert()/ep_modify() put an item on the ready list). The real
 * descriptors of the set are waited for without blocking, every millisecond.
 */
struct ep_reg {
	/*
	 * fd: the descriptor number it was added by (-1 once that one closed: no number reaches it for MOD or
	 * DEL); pfd: a descriptor of its file in this process, which the model is asked about
	 */
	int epfd, fd, pfd;
	uint32_t events;
	int armed, pending;
	int64_t seen; /* the file's wake-ups when last looked at (EPOLLET) */
	epoll_data_t data;
};
#define EP_REGS 256
static struct ep_reg ep_regs[EP_REGS];
static int ep_nregs;
static pthread_mutex_t ep_mu = PTHREAD_MUTEX_INITIALIZER;

static struct ep_reg *ep_find(int epfd, int fd)
{
	for (int i = 0; i < ep_nregs; i++)
		if (ep_regs[i].epfd == epfd && ep_regs[i].fd == fd)
			return &ep_regs[i];
	return NULL;
}

/*
 * A descriptor about to be closed, before the model hears of it. An epoll set's registrations go with it;
 * a target's stay while another descriptor of its file is open in this process (fs/eventpoll.c drops an
 * item only at the file's last close, eventpoll_release(), and keeps reporting it with its data), asked
 * about through that one from now on.
 */
static void ep_forget(int fd)
{
	int twin = -2;
	pthread_mutex_lock(&ep_mu);
	for (int i = 0; i < ep_nregs;) {
		struct ep_reg *r = &ep_regs[i];
		if (r->epfd != fd && r->pfd == fd) {
			if (twin == -2)
				twin = connected() ? (int)CALL(OP_FD_TWIN, fd) : -1;
			if (twin >= 0) {
				r->pfd = twin;
				if (r->fd == fd)
					r->fd = -1;
				i++;
				continue;
			}
		}
		if (r->epfd == fd || r->pfd == fd || r->fd == fd)
			ep_regs[i] = ep_regs[--ep_nregs];
		else
			i++;
	}
	pthread_mutex_unlock(&ep_mu);
}

static int is_epoll_fd(int fd)
{
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	long n = RS(SYS_readlink, path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	return !strcmp(link, "anon_inode:[eventpoll]");
}

#define EP_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!connected() || kind_of(fd) != K_MODEL)
		return RS(SYS_epoll_ctl, epfd, op, fd, ev);
	/* the event's copy and both descriptors are checked by the real call on the placeholder, which has no poll */
	if (RS(SYS_epoll_ctl, epfd, op, fd, ev) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	int can = (int)model_ret(CALL(OP_POLL, fd, 0, 1));
	if (can <= 0) {
		errno = can < 0 ? errno : EPERM;
		return -1;
	}
	if (!is_epoll_fd(epfd) || epfd == fd) {
		errno = EINVAL;
		return -1;
	}
	int has_event = op != EPOLL_CTL_DEL;
	uint32_t events = has_event ? ev->events : 0;
	if (has_event && (events & EPOLLEXCLUSIVE) && (op == EPOLL_CTL_MOD || (op == EPOLL_CTL_ADD && (events & ~EP_EXCLUSIVE_OK)))) {
		errno = EINVAL;
		return -1;
	}
	int err = 0;
	pthread_mutex_lock(&ep_mu);
	struct ep_reg *r = ep_find(epfd, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (r)
			err = EEXIST;
		else if (ep_nregs == EP_REGS)
			err = ENOSPC;
		else
			ep_regs[ep_nregs++] = (struct ep_reg){ .epfd = epfd, .fd = fd, .pfd = fd, .events = events | EPOLLERR | EPOLLHUP, .armed = 1, .pending = 1,
							.seen = CALL(OP_POLL, fd, 0, 2), .data = ev->data };
		break;
	case EPOLL_CTL_DEL:
		if (r)
			*r = ep_regs[--ep_nregs];
		else
			err = ENOENT;
		break;
	case EPOLL_CTL_MOD:
		if (!r)
			err = ENOENT;
		else if (r->events & EPOLLEXCLUSIVE)
			err = EINVAL;
		else {
			r->events = events | EPOLLERR | EPOLLHUP;
			r->data = ev->data;
			r->armed = 1;
			r->pending = 1;
			r->seen = CALL(OP_POLL, fd, 0, 2);
		}
		break;
	default:
		err = EINVAL;
	}
	pthread_mutex_unlock(&ep_mu);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* The model registrations of `epfd` that are ready now, written from evs[n] on; the new count. */
static int ep_collect(int epfd, struct epoll_event *evs, int n, int max)
{
	pthread_mutex_lock(&ep_mu);
	for (int i = 0; i < ep_nregs && n < max; i++) {
		struct ep_reg *r = &ep_regs[i];
		if (r->epfd != epfd || !r->armed)
			continue;
		if (r->events & EPOLLET) {
			/* on the ready list only after a wake-up (or ADD/MOD), and off it once looked at */
			int64_t w = CALL(OP_POLL, r->pfd, 0, 2);
			if (w != r->seen) {
				r->seen = w;
				r->pending = 1;
			}
			if (!r->pending)
				continue;
			r->pending = 0;
		}
		int64_t got = CALL(OP_POLL, r->pfd, r->events & 0xffff);
		uint32_t rv = got < 0 ? 0 : (uint32_t)got & r->events;
		if (!rv)
			continue;
		struct epoll_event ev = { .events = rv, .data = r->data };
		/* a buffer it cannot write: the event stays to be reported, EPOLLONESHOT not spent, and EFAULT when it is the first (ep_send_events()) */
		if (self_copy(&evs[n], &ev, sizeof(ev), 1) < 0) {
			if (r->events & EPOLLET)
				r->pending = 1;
			if (n == 0)
				n = -1;
			break;
		}
		n++;
		if (r->events & EPOLLONESHOT)
			r->armed = 0;
	}
	pthread_mutex_unlock(&ep_mu);
	return n;
}

static int ep_has_model(int epfd)
{
	pthread_mutex_lock(&ep_mu);
	int any = 0;
	for (int i = 0; i < ep_nregs && !any; i++)
		any = ep_regs[i].epfd == epfd;
	pthread_mutex_unlock(&ep_mu);
	return any;
}

static int ep_wait_model(int epfd, struct epoll_event *evs, int max, int timeout, const sigset_t *mask)
{
	sigset_t caller;
	long n;
	wait_begin(&caller);
	const sigset_t *during = mask ? mask : &caller;
	for (int waited = 0;; waited++) {
		/* the real set first, without blocking: it also checks max, the buffer and epfd */
		n = RS(SYS_epoll_wait, epfd, evs, max, 0);
		if (n < 0)
			break;
		n = ep_collect(epfd, evs, (int)n, max);
		if (n != 0 || timeout == 0 || (timeout > 0 && waited >= timeout))
			break;
		if (wait_tick(during) < 0) {
			n = -1;
			break;
		}
	}
	wait_end(&caller);
	return (int)n;
}

int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	if (!connected() || !ep_has_model(epfd))
		return RS(SYS_epoll_wait, epfd, evs, max, timeout);
	return ep_wait_model(epfd, evs, max, timeout, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout, const sigset_t *mask)
{
	if (!connected() || !ep_has_model(epfd))
		return RS(SYS_epoll_pwait, epfd, evs, max, timeout, mask, _NSIG / 8);
	return ep_wait_model(epfd, evs, max, timeout, mask);
}

int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *tmo, const sigset_t *mask)
{
	if (!connected() || !ep_has_model(epfd))
		return RS(SYS_epoll_pwait2, epfd, evs, max, tmo, mask, _NSIG / 8);
	if (ts_invalid(tmo))
		return -1;
	return ep_wait_model(epfd, evs, max, ts_ms(tmo), mask);
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	return write((int)(intptr_t)c, buf, n);
}

static int cookie_close(void *c)
{
	return close((int)(intptr_t)c);
}

static FILE *do_fopen(const char *path, const char *mode, FILE *(*real)(const char *, const char *))
{
	char name[256], buf[4096];
	if (!path_ok(path))
		return real(path, mode);
	if (connected() && special_name(path, name, sizeof(name))) {
		int acc = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
		int fd = open_special(path, name, acc | (strchr(mode, 'e') ? O_CLOEXEC : 0));
		if (fd < 0)
			return NULL;
		cookie_io_functions_t io = { .read = cookie_read, .write = cookie_write, .close = cookie_close };
		return fopencookie((void *)(intptr_t)fd, mode, io);
	}
	/* a file on the model's tmpfs: opened as open() opens it, so that the model takes it (tmpfs_adopt()) */
	int tmp = connected() && !strchr(mode, ',') && (!strncmp(path, "/tmp/", 5) || !strncmp(path, "/dev/shm/", 9));
	int walk;
	if (connected() && (tmp || model_name(AT_FDCWD, path, 0, buf, sizeof(buf), &walk))) {
		/* a stream over the model's file (fileno() is its descriptor): fopen's flags, as glibc reads the mode */
		int flags = mode[0] == 'r' ? O_RDONLY : mode[0] == 'w' ? O_WRONLY | O_CREAT | O_TRUNC : mode[0] == 'a' ? O_WRONLY | O_CREAT | O_APPEND : -1;
		if (flags < 0) {
			errno = EINVAL;
			return NULL;
		}
		for (const char *m = mode + 1; *m && *m != ','; m++) {
			if (*m == '+')
				flags = (flags & ~O_ACCMODE) | O_RDWR;
			else if (*m == 'x')
				flags |= O_EXCL;
			else if (*m == 'e')
				flags |= O_CLOEXEC;
		}
		int fd = do_openat(AT_FDCWD, path, flags, 0666);
		if (fd < 0)
			return NULL;
		FILE *f = fdopen(fd, mode);
		if (!f) {
			int e = errno;
			close(fd);
			errno = e;
		}
		return f;
	}
	if (connected() && failnth_written && via_self_link(path, 0))
		call(OP_PROC_SELF_WALK | REQ_NOREPLY, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, NULL, 0);
	if (connected())
		path = debugfs_rewrite(path, buf, sizeof(buf));
	return real(path, mode);
}

/* fclose(3) closes its descriptor inside libc, past close(): the model's file is closed here */
int fclose(FILE *f)
{
	static int (*real)(FILE *);
	if (!real)
		real = dlsym(RTLD_NEXT, "fclose");
	/* (fileno() of a cookie stream, a synthesized file's, is -1 with EBADF: the program's errno stays) */
	int e = errno;
	int fd = f ? fileno(f) : -1;
	errno = e;
	if (fd >= 0 && fd < MAXFD && (fdkind[fd] & K_MODEL)) {
		if (ep_nregs)
			ep_forget(fd);
		if (connected())
			CALL(OP_CLOSE | REQ_NOREPLY, fd);
		fdkind[fd] = K_NONE;
	}
	return real(f);
}

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "fopen");
	return do_fopen(path, mode, real);
}

FILE *fopen64(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "fopen64");
	return do_fopen(path, mode, real);
}

/* ------------------------------------------------------------------------ */
/* descriptors */

int close(int fd)
{
	if (bridge_fd(fd))
		return 0; /* a program closing every descriptor keeps its bridge */
	int k = kind_of(fd);
	/* (first: a registration asks the model for another descriptor of the file) */
	if (ep_nregs)
		ep_forget(fd);
	if (k == K_SPECIAL) {
		free(special_path[fd]);
		special_path[fd] = NULL;
	} else if ((k & K_MODEL) && connected()) {
		/* no answer needed: the real close gives the result, the FIFO keeps the order */
		CALL(OP_CLOSE | REQ_NOREPLY, fd);
	}
	if (k)
		fdkind[fd] = K_NONE;
	return RS(SYS_close, fd);
}

/*
 * iommufd and VFIO structs start with their size (argsz): send the struct
 * with the request so that the server need not read it from /proc/PID/mem.
 * Read through process_vm_readv so that a bad pointer gives 0 bytes, not a crash.
 */
#define INLINE_MAX 1024
static uint32_t inline_arg(unsigned long cmd, void *arg, char *out)
{
	/* one read of up to INLINE_MAX bytes: it stops short where the mapping ends */
	struct iovec l = { out, INLINE_MAX }, r = { arg, INLINE_MAX };
	uint32_t size;
	if (((cmd >> 8) & 0xff) != ';')
		return 0;
	long got = RS(SYS_process_vm_readv, self_pid(), &l, 1, &r, 1, 0);
	if (got < (long)sizeof(size))
		return 0;
	memcpy(&size, out, sizeof(size));
	if (size < sizeof(size) || size > INLINE_MAX || got < (long)size)
		return 0;
	return size;
}

/*
 * A new descriptor `to` for what `from` is (the real call made it already):
 * a model file gets the model's own dup (one open file, two descriptors),
 * a synthesized file reads and writes the same file.
 */
static int dup_follow(int from, int to)
{
	if (to < 0 || to == from)
		return to;
	if (to >= MAXFD) {
		if (kind_of(from) & K_MODEL) {
			RS(SYS_close, to);
			errno = EMFILE;
			return -1;
		}
		return to;
	}
	if (fdkind[to] == K_SPECIAL) {
		free(special_path[to]);
		special_path[to] = NULL;
	}
	int k = kind_of(from);
	if ((k & K_MODEL) && connected()) {
		/* the model closes what it had at `to` itself (dup3) */
		int64_t r = CALL(OP_DUP, from, to);
		if (r < 0) {
			fdkind[to] = K_NONE;
			RS(SYS_close, to);
			errno = (int)-r;
			return -1;
		}
		fdkind[to] = (unsigned char)k;
		memfd_huge[to] = memfd_huge[from];
		foreign_tmpfs[to] = foreign_tmpfs[from];
	} else if ((fdkind[to] & K_MODEL) && connected()) {
		/* a real file replaced a model one at `to` */
		CALL(OP_CLOSE, to);
		fdkind[to] = K_NONE;
	} else if (k == K_SPECIAL) {
		special_path[to] = strdup(special_path[from]);
		special_off[to] = special_off[from];
		fdkind[to] = K_SPECIAL;
	} else {
		fdkind[to] = K_NONE;
	}
	return to;
}

/* N of /proc/self/fd/N, /proc/thread-self/fd/N or /proc/<own pid>/fd/N; -1 for any other path */
static int fd_link_num(const char *p)
{
	char pre[64];
	const char *n = NULL;
	if (!strncmp(p, "/proc/self/fd/", 14))
		n = p + 14;
	else if (!strncmp(p, "/proc/thread-self/fd/", 21))
		n = p + 21;
	else {
		int len = snprintf(pre, sizeof(pre), "/proc/%d/fd/", getpid());
		if (!strncmp(p, pre, (size_t)len))
			n = p + len;
	}
	if (!n || !*n)
		return -1;
	char *end;
	long fd = strtol(n, &end, 10);
	return *end || fd < 0 || fd >= MAXFD ? -1 : (int)fd;
}

/*
 * readlink of /proc/self/fd/N (also /proc/PID/fd/N of this process and
 * /proc/thread-self/fd/N) for a model descriptor: the model's file, not the
 * /dev/null placeholder.
 */
static int own_fd_link(const char *p)
{
	int fd = fd_link_num(p);
	return fd >= 0 && (kind_of(fd) == K_MODEL || kind_of(fd) == K_SPECIAL) ? fd : -1;
}

/* the link of a model memfd: N, or -1 */
static int own_memfd_link(const char *p)
{
	int fd = fd_link_num(p);
	return fd >= 0 && kind_of(fd) == K_BOTH ? fd : -1;
}

static ssize_t model_link(int fd, char *buf, size_t size)
{
	char path[4096];
	/* a synthesized file: the server names the path its name stands for */
	int special = kind_of(fd) == K_SPECIAL;
	int64_t r = call(OP_FDPATH, special ? -1 : fd, 0, 0, 0, 0, 0, special ? special_path[fd] : NULL,
			 special ? (uint32_t)strlen(special_path[fd]) + 1 : 0, NULL, path, sizeof(path));
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	size_t n = strlen(path) < size ? strlen(path) : size;
	return self_copy(buf, path, n, 1) < 0 ? -1 : (ssize_t)n;
}

/*
 * What the kernel says of a name of the model's where only a symbolic link or a file elsewhere would do
 * (readlink, link): the walk's failure, ENOENT for a name the model has no node at, else `err`. 0: the
 * name is none of the model's. (The host has no /dev/iommu or /dev/vfio to say it.)
 */
static int model_name_errno(int dirfd, const char *p, int err)
{
	char name[4096];
	const char *m;
	int e;
	return model_lookup(dirfd, p, name, sizeof(name), &m, &e) == LOOKUP_MODEL ? (e ? e : err) : 0;
}

/* do_readlinkat(): a size of no bytes first, then the walk; a node or /dev/vfio is no symbolic link (EINVAL) */
static ssize_t model_readlink(int dirfd, const char *p, size_t size, int *handled)
{
	int e = model_name_errno(dirfd, p, EINVAL);
	*handled = e != 0;
	errno = (int)size <= 0 ? EINVAL : e;
	return -1;
}

ssize_t readlink(const char *p, char *buf, size_t size)
{
	int handled;
	int fd = connected() && path_ok(p) ? own_fd_link(p) : -1;
	if (fd >= 0)
		return model_link(fd, buf, size);
	ssize_t r = model_readlink(AT_FDCWD, p, size, &handled);
	return handled ? r : RS(SYS_readlinkat, AT_FDCWD, p, buf, size);
}

ssize_t readlinkat(int dirfd, const char *p, char *buf, size_t size)
{
	int handled;
	int fd = connected() && path_ok(p) && p[0] == '/' ? own_fd_link(p) : -1;
	if (fd >= 0)
		return model_link(fd, buf, size);
	ssize_t r = model_readlink(dirfd, p, size, &handled);
	return handled ? r : RS(SYS_readlinkat, dirfd, p, buf, size);
}

/*
 * link(2) between a name of the model's and one outside /dev: do_linkat() looks the old name up, then
 * the new one's parent, then refuses to cross from devtmpfs to another mount (EXDEV).
 */
int linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
	int eo = model_name_errno(olddir, old, EXDEV), en = model_name_errno(newdir, new, EXDEV);
	if (!eo && !en)
		return RS(SYS_linkat, olddir, old, newdir, new, flags);
	struct stat st;
	/* the old name's lookup: the model's answer, or the host's file must exist */
	int e = eo && eo != EXDEV ? eo : 0;
	if (!e && !eo && RS(SYS_newfstatat, olddir, old, &st, (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		e = errno;
	/* then the new name (filename_create()): one that exists is EEXIST; else its parent must */
	if (!e && en == EXDEV)
		e = EEXIST;
	else if (!e && en && en != ENOENT)
		e = en;
	if (!e && !en && RS(SYS_newfstatat, newdir, new, &st, AT_SYMLINK_NOFOLLOW) == 0)
		e = EEXIST;
	if (!e && !en) {
		char parent[4096];
		snprintf(parent, sizeof(parent), "%s", new);
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = 0;
		else if (slash)
			*slash = 0;
		if (RS(SYS_newfstatat, newdir, slash ? parent : ".", &st, 0) < 0)
			e = errno;
	}
	errno = e ? e : EXDEV;
	return -1;
}

int link(const char *old, const char *new)
{
	return linkat(AT_FDCWD, old, AT_FDCWD, new, 0);
}

/* ------------------------------------------------------------------------ */
/*
 * SCM_RIGHTS: a model file travels as a real file the receiving shim can
 * name to the server by device and inode: a memfd the model shares goes
 * itself, a file only the model has goes as a courier memfd made for the
 * message (the sender's placeholder is /dev/null, like every other). The
 * server holds the model's reference while the message is in flight.
 */
#define SCM_MAX_FDS 253 /* SCM_MAX_FD */

static int real_ino(int fd, int64_t *dev, int64_t *ino)
{
	struct stat st;
	if (RS(SYS_fstat, fd, &st) < 0)
		return -1;
	*dev = (int64_t)st.st_dev;
	*ino = (int64_t)st.st_ino;
	return 0;
}

static int rights_n(const struct cmsghdr *c)
{
	if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
		return 0;
	return (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
}

static int has_model_rights(const struct msghdr *msg)
{
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		int n = rights_n(c);
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (kind_of(fd) & K_MODEL)
				return 1;
		}
	}
	return 0;
}

ssize_t sendmsg(int s, const struct msghdr *msg, int flags)
{
	if (!connected() || !msg || !has_model_rights(msg))
		return RS(SYS_sendmsg, s, msg, flags);
	char *ctl = malloc(msg->msg_controllen);
	if (!ctl) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(ctl, msg->msg_control, msg->msg_controllen);
	struct msghdr m = *msg;
	m.msg_control = ctl;
	int64_t tokens[SCM_MAX_FDS];
	int couriers[SCM_MAX_FDS];
	int nt = 0, nc = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int n = rights_n(c);
		for (int i = 0; i < n && nt < SCM_MAX_FDS; i++) {
			unsigned char *slot = CMSG_DATA(c) + i * sizeof(int);
			int fd, carrier;
			memcpy(&fd, slot, sizeof(fd));
			int k = kind_of(fd);
			if (!(k & K_MODEL))
				continue;
			carrier = fd;
			if (k == K_MODEL) {
				carrier = RS(SYS_memfd_create, "iommufd-sim-scm", MFD_CLOEXEC);
				if (carrier < 0)
					continue;
				couriers[nc++] = carrier;
				memcpy(slot, &carrier, sizeof(carrier));
			}
			int64_t dev, ino;
			if (real_ino(carrier, &dev, &ino) < 0)
				continue;
			int64_t t = CALL(OP_SCM_OFFER, fd, dev, ino);
			if (t > 0)
				tokens[nt++] = t;
		}
	}
	ssize_t r = RS(SYS_sendmsg, s, &m, flags);
	int e = errno;
	for (int i = 0; i < nc; i++)
		RS(SYS_close, couriers[i]);
	if (r < 0)
		for (int i = 0; i < nt; i++)
			CALL(OP_SCM_CANCEL, tokens[i]);
	free(ctl);
	errno = e;
	return r;
}

/* What a received message's rights are in the model: a courier becomes the model file's placeholder. */
static void scm_take(struct msghdr *msg, int flags)
{
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int n = rights_n(c);
		for (int i = 0; i < n; i++) {
			int fd;
			int64_t dev, ino;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (fd < 0 || fd >= MAXFD || real_ino(fd, &dev, &ino) < 0)
				continue;
			int64_t k = CALL(OP_SCM_TAKE, fd, dev, ino);
			if (k == K_MODEL) {
				placeholder(fd, flags & MSG_CMSG_CLOEXEC ? O_CLOEXEC : 0);
				fdkind[fd] = K_MODEL;
			} else if (k == K_BOTH) {
				fdkind[fd] = K_BOTH;
				memfd_huge[fd] = 0;
				foreign_tmpfs[fd] = 0;
			}
		}
	}
}

ssize_t recvmsg(int s, struct msghdr *msg, int flags)
{
	ssize_t r = RS(SYS_recvmsg, s, msg, flags);
	if (r >= 0 && connected() && msg && !(flags & MSG_PEEK))
		scm_take(msg, flags);
	return r;
}

/* The pid a pidfd refers to (its fdinfo's Pid: line), or -1. */
static long pidfd_pid(int pidfd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	int f = RS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	long n = RS(SYS_read, f, buf, sizeof(buf) - 1);
	RS(SYS_close, f);
	buf[n > 0 ? n : 0] = 0;
	char *p = strstr(buf, "\nPid:");
	return p ? strtol(p + 5, NULL, 10) : -1;
}

/*
 * pidfd_getfd(2): the real call checks and takes the target's file (its
 * placeholder, or the real memfd); a model file there is then the caller's
 * too, on the same number.
 */
int pidfd_getfd(int pidfd, int fd, unsigned int flags)
{
	int r = RS(SYS_pidfd_getfd, pidfd, fd, flags);
	if (r < 0 || r >= MAXFD || !connected())
		return r;
	long pid = pidfd_pid(pidfd);
	int64_t k = pid > 0 ? CALL(OP_PIDFD_GETFD, pid, fd, r) : 0;
	if (k == K_MODEL || k == K_BOTH) {
		fdkind[r] = (unsigned char)k;
		memfd_huge[r] = 0;
		foreign_tmpfs[r] = 0;
	}
	return r;
}

/* uname(2): the host's, with the release of the kernel the model is (the synthesized osrelease) */
int uname(struct utsname *u)
{
	int r = RS(SYS_uname, u);
	if (r < 0 || !connected())
		return r;
	char rel[sizeof(u->release)];
	int64_t n = call(OP_FILE_READ, 0, 0, 0, 0, 0, 0, "osrelease", sizeof("osrelease"), NULL, rel, sizeof(rel));
	if (n > 0 && n <= (int64_t)sizeof(rel)) {
		/* the text ends with a newline */
		rel[n - 1] = 0;
		snprintf(u->release, sizeof(u->release), "%s", rel);
	}
	return r;
}

int dup(int fd)
{
	int r = RS(SYS_dup, fd);
	return r < 0 ? r : dup_follow(fd, r);
}

int dup2(int fd, int to)
{
	int r = RS(SYS_dup2, fd, to);
	return r < 0 ? r : dup_follow(fd, r);
}

int dup3(int fd, int to, int flags)
{
	int r = RS(SYS_dup3, fd, to, flags);
	return r < 0 ? r : dup_follow(fd, r);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	/* a model file's status flags are the model's (the placeholder is /dev/null, O_RDWR) */
	if ((cmd == F_GETFL || cmd == F_SETFL) && kind_of(fd) == K_MODEL && connected())
		return (int)model_ret(CALL(OP_FCNTL, fd, cmd, arg));
	/* a memfd's too (its writes are the model's: O_APPEND), the real file then takes the same */
	if ((cmd == F_GETFL || cmd == F_SETFL) && kind_of(fd) == K_BOTH && connected()) {
		int64_t m = model_ret(CALL(OP_FCNTL, fd, cmd, arg));
		if (m < 0 || cmd == F_GETFL)
			return (int)m;
		int e = errno;
		RS(SYS_fcntl, fd, cmd, arg);
		errno = e;
		return 0;
	}
	/*
	 * A memfd's seals are the model's alone (its pins decide F_SEAL_WRITE, and it refuses what they
	 * forbid before the real file is asked); the real file takes none, since the bytes a device writes
	 * into a pinned page of a write-sealed file still reach it. A model file's (a dma-buf, an access
	 * fd) are the model's answer too, not the /dev/null placeholder's.
	 */
	if ((cmd == F_ADD_SEALS || cmd == F_GET_SEALS) && (kind_of(fd) == K_BOTH || kind_of(fd) == K_MODEL) && connected())
		return (int)model_ret(CALL(OP_FCNTL, fd, cmd, arg));
	long r = RS(SYS_fcntl, fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		return dup_follow(fd, (int)r);
	return (int)r;
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

int close_range(unsigned int first, unsigned int last, int flags)
{
	int r = 0;
	/* sys_close_range(): unknown flags, then a range that ends before it starts (the shim may not call it) */
	if ((flags & ~(2 /* CLOSE_RANGE_UNSHARE */ | 4 /* CLOSE_RANGE_CLOEXEC */)) || first > last) {
		errno = EINVAL;
		return -1;
	}
	/* the shim's descriptors stay: close the ranges around them, lowest first */
	int keep[3 + MAX_DEVMEM], nkeep = 0;
	keep[nkeep++] = sock;
	keep[nkeep++] = qfd;
	keep[nkeep++] = rfd;
	for (int i = 0; i < ndevmem; i++)
		keep[nkeep++] = devmem[i].fd;
	for (int i = 0; i < nkeep; i++)
		for (int j = i + 1; j < nkeep; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned long lo = first;
	for (int i = 0; i < nkeep && r == 0; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < lo || (unsigned int)keep[i] > last)
			continue;
		if ((unsigned int)keep[i] > lo)
			r = RS(SYS_close_range, lo, keep[i] - 1, flags);
		lo = (unsigned long)keep[i] + 1;
	}
	if (r == 0 && lo <= last)
		r = RS(SYS_close_range, lo, last, flags);
	if (r == 0 && !(flags & 4 /* CLOSE_RANGE_CLOEXEC */)) {
		for (unsigned int fd = first; fd < MAXFD && fd <= last; fd++) {
			if ((fdkind[fd] & K_MODEL) && connected())
				CALL(OP_CLOSE | REQ_NOREPLY, fd);
			if (fdkind[fd] == K_SPECIAL) {
				free(special_path[fd]);
				special_path[fd] = NULL;
			}
			fdkind[fd] = K_NONE;
		}
	}
	return r;
}

/* closefrom(3): glibc's calls its own close_range, past the wrapper; this one goes through it */
void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	if (close_range((unsigned int)lowfd, ~0U, 0) == 0)
		return;
	/* no close_range (a kernel before 5.9): one close per descriptor the shim can know of */
	for (int fd = lowfd; fd < MAXFD; fd++)
		close(fd);
}

/*
 * IOMMU_TEST_CMD's ACCESS_RW moves bytes between the IOAS and the user buffer
 * at uptr: that buffer goes with the request too (and what the model wrote
 * there comes back with the reply), sparing the server two /proc/PID/mem
 * calls per access (the selftests make some 200,000 of them).
 */
#define IOMMU_TEST_CMD_NR 0x3ba0 /* _IO(';', 0xa0) */
#define TEST_OP_ACCESS_RW 8
#define EXTRA_MAX 2048
static uint32_t extra_arg(unsigned long cmd, const char *st, uint32_t n, char *out, int64_t *va)
{
	uint32_t op;
	uint64_t len, uptr;
	if (cmd != IOMMU_TEST_CMD_NR || n < 48)
		return 0;
	memcpy(&op, st + 4, sizeof(op));
	memcpy(&len, st + 24, sizeof(len));
	memcpy(&uptr, st + 32, sizeof(uptr));
	if (op != TEST_OP_ACCESS_RW || len == 0 || len > EXTRA_MAX)
		return 0;
	/*
	 * Only a buffer whose pages are all present: reading one that is not would fault it in (the
	 * zero page), which the server then takes for the program's touch, where the kernel touches
	 * the buffer only once the command gets that far (copy_from_user() for a write, copy_to_user()
	 * after a read that succeeded). Such a buffer is moved by the server when the model does.
	 */
	uintptr_t lo = (uintptr_t)uptr & ~(uintptr_t)4095, hi = ((uintptr_t)uptr + len + 4095) & ~(uintptr_t)4095;
	unsigned char vec[(EXTRA_MAX + 4095) / 4096 + 1];
	if (RS(SYS_mincore, lo, hi - lo, vec) != 0)
		return 0;
	for (uintptr_t k = 0; k < (hi - lo) / 4096; k++)
		if (!(vec[k] & 1))
			return 0;
	struct iovec l = { out, len }, r = { (void *)(uintptr_t)uptr, len };
	if (RS(SYS_process_vm_readv, self_pid(), &l, 1, &r, 1, 0) != (long)len)
		return 0; /* a bad pointer: the server's own walk finds the fault */
	*va = (int64_t)uptr;
	return (uint32_t)len;
}

/*
 * iommufd commands that never install a file (-1 is sent instead of the
 * lowest free descriptor, which costs two system calls): the object and
 * mapping commands, and the test ops that touch no file (ADD_RESERVED,
 * MD_CHECK_MAP/REFS, DESTROY_ACCESS_PAGES, ACCESS_PAGES, ACCESS_RW,
 * SET_TEMP_MEMORY_LIMIT, DIRTY, MD_CHECK_IOTLB): the selftests' hot loop.
 */
static int installs_no_fd(unsigned long cmd, const char *inl, uint32_t n)
{
	uint32_t op;
	switch (cmd & 0xffffffffUL) {
	case 0x3b80: /* IOMMU_DESTROY */
	case 0x3b81: /* IOMMU_IOAS_ALLOC */
	case 0x3b82: /* IOMMU_IOAS_ALLOW_IOVAS */
	case 0x3b83: /* IOMMU_IOAS_COPY */
	case 0x3b84: /* IOMMU_IOAS_IOVA_RANGES */
	case 0x3b85: /* IOMMU_IOAS_MAP */
	case 0x3b86: /* IOMMU_IOAS_UNMAP */
	case 0x3b87: /* IOMMU_OPTION */
	case 0x3b8b: /* IOMMU_HWPT_SET_DIRTY_TRACKING */
	case 0x3b8c: /* IOMMU_HWPT_GET_DIRTY_BITMAP */
		return 1;
	case 0x3ba0: /* IOMMU_TEST_CMD */
		if (n < 8)
			return 0;
		memcpy(&op, inl + 4, sizeof(op));
		return op == 1 || op == 3 || op == 4 || op == 6 || op == 7 || op == 8 || op == 9 || op == 13 || op == 14;
	}
	return 0;
}

int ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (model_io(fd)) {
		struct bridge_rep rep;
		char inl[INLINE_MAX + EXTRA_MAX + 1];
		int64_t xva = 0;
		uint32_t n = inline_arg(cmd, arg, inl);
		uint32_t xn = n ? extra_arg(cmd, inl, n, inl + n, &xva) : 0;
		int low = installs_no_fd(cmd, inl, n) ? -1 : lowest_free_fd();
		int64_t r = call(OP_IOCTL, fd, (int64_t)(uint32_t)cmd, (int64_t)(uintptr_t)arg, low, n, xva, inl, n + xn,
				 &rep, inl, sizeof(inl));
		/* the reply's string: what the model wrote into the struct (b1 bytes), then into the user buffer */
		if (rep.b[1] > 0 && rep.b[1] <= (int64_t)n)
			memcpy(arg, inl, rep.b[1]);
		if (xn && rep.b[1] >= 0 && rep.b[1] <= (int64_t)n && rep.slen > rep.b[1] &&
		    rep.slen - rep.b[1] <= xn)
			memcpy((void *)(uintptr_t)xva, inl + rep.b[1], rep.slen - rep.b[1]);
		int nfd = rep.b[0] >= 0 ? (int)(rep.b[0] & ~(int64_t)NEWFD_KEEP_ON_EXEC) : -1;
		if (nfd >= 0 && nfd < MAXFD) {
			/* the model installed a new file (access, fault queue, dma-buf, ...), close-on-exec unless it said */
			if (placeholder(nfd, rep.b[0] & NEWFD_KEEP_ON_EXEC ? 0 : O_CLOEXEC) == nfd)
				fdkind[nfd] = K_MODEL;
		}
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		/* FIOCLEX/FIONCLEX (do_vfs_ioctl) set the descriptor's close-on-exec, which lives on the real placeholder */
		if (cmd == FIOCLEX || cmd == FIONCLEX)
			RS(SYS_fcntl, fd, F_SETFD, cmd == FIOCLEX ? FD_CLOEXEC : 0);
		return (int)r;
	}
	return RS(SYS_ioctl, fd, cmd, arg);
}

int memfd_create(const char *name, unsigned int flags)
{
	/* (a name the kernel cannot read: its answer, EFAULT or EINVAL) */
	if (!connected() || !path_ok(name))
		return RS(SYS_memfd_create, name, flags);
	int low = lowest_free_fd();
	int64_t fd = call(OP_MEMFD, flags, low, 0, 0, 0, 0, name, strlen(name) + 1, NULL, NULL, 0);
	if (fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	/* the real file holds the contents; hugetlb is emulated with ordinary shmem */
	if (adopt_real((int)fd, RS(SYS_memfd_create, name, flags & (MFD_CLOEXEC | MFD_ALLOW_SEALING)), flags & MFD_CLOEXEC ? O_CLOEXEC : 0) < 0)
		return -1;
	/* its mode as the model's (memfd_alloc_file(): MFD_NOEXEC_SEAL takes the x bits), which fchmod keeps in step */
	if (flags & MFD_NOEXEC_SEAL)
		RS(SYS_fchmod, (int)fd, 0666);
	memfd_huge[fd] = flags & MFD_HUGETLB ? (((flags >> HUGE_SHIFT) & HUGE_MASK) ?: 21) : 0;
	foreign_tmpfs[fd] = 0;
	return (int)fd;
}

int ftruncate(int fd, off_t len)
{
	if ((kind_of(fd) & K_MODEL) && connected()) {
		int64_t r = CALL(OP_FTRUNCATE, fd, len);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		if (kind_of(fd) != K_BOTH)
			return 0;
	}
	return RS(SYS_ftruncate, fd, len);
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

/* fallocate(2) of a model memfd: the model's page cache first (pins keep their bytes), then the real file */
int fallocate(int fd, int mode, off_t off, off_t len)
{
	if ((kind_of(fd) & K_MODEL) && connected()) {
		int64_t r = CALL(OP_FALLOCATE, fd, mode, off, len);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		if (kind_of(fd) != K_BOTH)
			return 0;
	}
	return RS(SYS_fallocate, fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));

/* posix_fallocate(3): glibc's calls fallocate inside itself; on a model file, the error returned, errno kept */
int posix_fallocate(int fd, off_t off, off_t len)
{
	if (!(kind_of(fd) & K_MODEL) || !connected()) {
		static int (*real)(int, off_t, off_t);
		if (!real)
			real = dlsym(RTLD_NEXT, "posix_fallocate");
		return real(fd, off, len);
	}
	int e = errno;
	int r = fallocate(fd, 0, off, len);
	int err = r < 0 ? errno : 0;
	errno = e;
	return err;
}

int posix_fallocate64(int fd, off_t off, off_t len) __attribute__((alias("posix_fallocate")));

/* ------------------------------------------------------------------------ */
/* memory: the model keeps identity, the real mapping holds the bytes */

static void *raw_mmap(void *a, size_t l, int prot, int flags, int fd, off_t off)
{
	void *p = (void *)RS(SYS_mmap, a, l, prot, flags, fd, off);
	/*
	 * MAP_LOCKED is the model's to refuse (RLIMIT_MEMLOCK, locked_vm): the
	 * host's own limit (8 MiB in a container) must not turn away what the
	 * model allows, so the real memory is mapped unlocked then.
	 */
	if (p == MAP_FAILED && (flags & MAP_LOCKED) && (errno == EAGAIN || errno == EPERM))
		p = (void *)RS(SYS_mmap, a, l, prot, flags & ~MAP_LOCKED, fd, off);
	return p;
}

static int64_t model_fd(int fd, int flags)
{
	if (flags & MAP_ANONYMOUS)
		return -1;
	return (kind_of(fd) & K_MODEL) ? fd : -2; /* -2: a file the model does not know */
}

/* /dev/zero (mem 1:5): mmap_zero() makes a shared mapping shmem (shmem_zero_setup()), a private one anonymous */
static int is_dev_zero(int fd)
{
	struct stat st;
	return kind_of(fd) == K_NONE && RS(SYS_fstat, fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5);
}

/*
 * Put the shared memory of the device region at frame `pfn` over the
 * stand-in at p (the model's mapping there exists). 1: the region had been
 * mapped before, its memory holds the contents; 0: new memory (writable for
 * now: the server fills it through /proc/PID/mem, which cannot write a
 * read-only shared mapping); -1: the private stand-in stays.
 */
static int devmem_share(void *p, size_t len, int prot, int64_t pfn)
{
	uint64_t pages = (len + 4095) / 4096;
	if (pfn < 0)
		return -1;
	for (int i = 0; i < ndevmem; i++) {
		struct devmem *d = &devmem[i];
		if (pfn >= d->pfn && (uint64_t)(pfn - d->pfn) + pages <= d->pages)
			return raw_mmap(p, len, prot, MAP_SHARED | MAP_FIXED, d->fd, (off_t)(pfn - d->pfn) * 4096) == p ? 1 : -1;
	}
	if (ndevmem == MAX_DEVMEM)
		return -1;
	int fd = (int)RS(SYS_memfd_create, "iommufd-sim-devmem", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	fd = move_high(fd);
	if (fd < SOCK_FD_MIN || RS(SYS_ftruncate, fd, pages * 4096) < 0 || raw_mmap(p, len, prot | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != p) {
		RS(SYS_close, fd);
		return -1;
	}
	devmem[ndevmem++] = (struct devmem){ .pfn = pfn, .pages = pages, .fd = fd };
	return 0;
}

/* The model mapped a device region of a model file at p: its memory, then its contents (see devmem_share()). */
static void devmem_fill(void *p, size_t len, int prot, int64_t pfn)
{
	int shared = devmem_share(p, len, prot, pfn);
	CALL(OP_NOP, shared == 1); /* 1: the server fills nothing, the memory holds the region's contents */
	if (shared == 0 && !(prot & PROT_WRITE))
		RS(SYS_mprotect, p, len, prot);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!connected() || len == 0)
		return raw_mmap(addr, len, prot, flags, fd, off);
	int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	int mfd = (int)model_fd(fd, flags), mflags = flags;
	/*
	 * ksys_mmap_pgoff() takes the file before any address is looked at: a
	 * descriptor that is no open file (or an O_PATH one, which fget() skips) is
	 * EBADF, MAP_HUGETLB of a file not on hugetlbfs EINVAL. The model stands
	 * anonymous memory in for a file it does not know, so it cannot see either;
	 * asked first (MAP_FIXED) it would map, and replace, what the kernel leaves.
	 */
	if (mfd == -2 && !(off & 4095)) {
		int fl = (int)RS(SYS_fcntl, fd, F_GETFL);
		if (fl < 0 || (fl & O_PATH)) {
			errno = EBADF;
			return MAP_FAILED;
		}
		struct statfs sf;
		if ((flags & MAP_HUGETLB) && !(RS(SYS_fstatfs, fd, &sf) == 0 && sf.f_type == HUGETLBFS_MAGIC)) {
			errno = EINVAL;
			return MAP_FAILED;
		}
	}
	if (mfd == -2 && is_dev_zero(fd)) {
		mfd = -1;
		mflags |= MAP_ANONYMOUS;
	}
	size_t hsz = 0, rlen = len;
	/*
	 * MAP_POPULATE is the model's (it fills its page tables and folios); the
	 * real memory only holds contents, so it faults in when touched instead
	 * of the kernel zeroing all of it now (the dirty-tracking selftests map
	 * 64 and 128 MiB per test and touch little of it). Except in a writable
	 * private mapping of a file: populating write-faults each page into a
	 * copy of the process's own (populate_vma_page_range() adds FOLL_WRITE
	 * where VM_WRITE is set without VM_SHARED), which later writes to the
	 * file (through another mapping, write(2)) no longer reach; the real
	 * pages must be those copies.
	 */
	int rflags = flags & ~MAP_POPULATE;
	if ((flags & MAP_POPULATE) && !(flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE && (prot & PROT_WRITE) &&
	    kind_of(fd) != K_MODEL)
		rflags |= MAP_POPULATE;
	if (flags & MAP_HUGETLB) {
		int lg = (flags >> HUGE_SHIFT) & HUGE_MASK;
		hsz = (size_t)1 << (lg ? lg : 21);
		rlen = (len + hsz - 1) & ~(hsz - 1);
		rflags &= ~(MAP_HUGETLB | (HUGE_MASK << HUGE_SHIFT));
		/*
		 * the kernel's mapping is of a hugetlbfs file, which takes MAP_SHARED_VALIDATE
		 * (the model checks its flags); the ordinary memory standing in is anonymous,
		 * for which the host would refuse it
		 */
		if ((rflags & MAP_TYPE) == MAP_SHARED_VALIDATE)
			rflags = (rflags & ~MAP_TYPE) | MAP_SHARED;
	} else if (kind_of(fd) == K_BOTH && memfd_huge[fd]) {
		/* a hugetlbfs memfd in the model, shmem for real: placed and sized like a huge mapping */
		hsz = (size_t)1 << memfd_huge[fd];
		rlen = (len + hsz - 1) & ~(hsz - 1);
	}
	if (fixed) {
		/*
		 * A file the model does not know: what its own checks say (do_mmap(): its
		 * mode, a missing ->mmap) is learnt from a mapping of it elsewhere, and
		 * the model answers it after its checks of the address, changing nothing.
		 */
		if (mfd == -2) {
			void *q = raw_mmap(NULL, rlen, prot, rflags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED),
					   fd, off);
			if (q != MAP_FAILED)
				RS(SYS_munmap, q, rlen);
			else if (errno != ENOMEM)
				mfd = MMAP_FD_REFUSED - errno;
		}
		/* the model first: it snapshots pinned contents of what is replaced */
		struct bridge_rep rep;
		int64_t r = call(OP_MMAP, (int64_t)(uintptr_t)addr, len, prot, mflags, mfd, off, NULL, 0, &rep, NULL, 0);
		if (r < 0 && r > -4096) {
			errno = (int)-r;
			return MAP_FAILED;
		}
		void *p = raw_mmap(addr, rlen, prot, rflags, kind_of(fd) == K_MODEL ? -1 : fd,
				   kind_of(fd) == K_MODEL ? 0 : off);
		if (p == MAP_FAILED && kind_of(fd) == K_MODEL)
			p = raw_mmap(addr, rlen, prot, (rflags & ~MAP_SHARED) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			/* (a hugetlb mapping's length is whole huge pages, or the munmap is EINVAL) */
			CALL(OP_MUNMAP, (int64_t)(uintptr_t)addr, hsz ? rlen : len);
			errno = e;
		} else if (kind_of(fd) == K_MODEL) {
			devmem_fill(p, rlen, prot, rep.b[0]);
		} else if (kind_of(fd) == K_BOTH && foreign_tmpfs[fd]) {
			RS(SYS_madvise, p, rlen, MADV_RANDOM);
		}
		return p;
	}
	void *p;
	if (kind_of(fd) == K_MODEL) {
		/* a file only the model has (e.g. the iommufd itself): ordinary memory stands in */
		p = raw_mmap(addr, rlen, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else if (hsz) {
		/*
		 * hugetlb emulated: ordinary memory, aligned like a huge page mapping, searched
		 * where the kernel would look (the hint aligned up, MAP_32BIT's low window)
		 */
		void *hint = !addr ? NULL
			     : hugetlb_hint_down ? (void *)((uintptr_t)addr & ~(uintptr_t)(hsz - 1))
						 : (void *)(((uintptr_t)addr + hsz - 1) & ~(uintptr_t)(hsz - 1));
		char *al = MAP_FAILED;
		/* the aligned hint itself when the range there is free (hugetlb_get_unmapped_area()) */
		if (hint)
			al = raw_mmap(hint, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (al != MAP_FAILED && al != hint) {
			RS(SYS_munmap, al, rlen);
			al = MAP_FAILED;
		}
		if (al == MAP_FAILED) {
			char *q = raw_mmap(hint, rlen + hsz, PROT_NONE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & MAP_32BIT), -1, 0);
			if (q == MAP_FAILED)
				return MAP_FAILED;
			al = (char *)(((uintptr_t)q + hsz - 1) & ~(uintptr_t)(hsz - 1));
			if (al > q)
				RS(SYS_munmap, q, al - q);
			if (al + rlen < q + rlen + hsz)
				RS(SYS_munmap, al + rlen, q + rlen + hsz - (al + rlen));
		}
		p = raw_mmap(al, rlen, prot, rflags | MAP_FIXED, fd, off);
	} else {
		p = MAP_FAILED;
		/*
		 * A hint below 64 KiB: the oracle kernels' mmap_min_addr is 4096, a host with an
		 * LSM rounds such a hint up to CONFIG_LSM_MMAP_MIN_ADDR (65536) first, so the hint
		 * itself is tried where the range is free, as the kernel's search does first
		 */
		uintptr_t h = (uintptr_t)addr & ~(uintptr_t)4095;
		if (h >= 4096 && h < 65536 && h + len > h) {
			p = raw_mmap((void *)h, len, prot, rflags | MAP_FIXED_NOREPLACE, fd, off);
			if (p != MAP_FAILED && p != (void *)h) {
				RS(SYS_munmap, p, len);
				p = MAP_FAILED;
			}
		}
		if (p == MAP_FAILED)
			p = raw_mmap(addr, len, prot, rflags, fd, off);
	}
	if (p == MAP_FAILED)
		return p;
	struct bridge_rep rep;
	int64_t r = call(OP_MMAP, (int64_t)(uintptr_t)p, len, prot, mflags | MAP_FIXED, mfd, off, NULL, 0, &rep, NULL, 0);
	if (r < 0 && r > -4096) {
		RS(SYS_munmap, p, rlen);
		errno = (int)-r;
		return MAP_FAILED;
	}
	if (kind_of(fd) == K_MODEL)
		devmem_fill(p, rlen, prot, rep.b[0]);
	else if (kind_of(fd) == K_BOTH && foreign_tmpfs[fd])
		RS(SYS_madvise, p, rlen, MADV_RANDOM);
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));

static int model_then_real(uint32_t op, long sys, void *a, size_t l, long x)
{
	if (connected()) {
		int64_t r = CALL(op, (int64_t)(uintptr_t)a, l, x);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
	}
	return RS(sys, a, l, x);
}

/*
 * A real mseal(2) took (the host has it): a sealed VMA's EPERM from the model
 * is then followed by the same real call, which the host refuses alike after
 * the same partial work. A host without mseal would do all of it instead.
 */
static int real_seals;

int munmap(void *a, size_t l)
{
	if (!connected())
		return RS(SYS_munmap, a, l, 0);
	int64_t r = CALL(OP_MUNMAP, (int64_t)(uintptr_t)a, l, 0);
	/* a sealed VMA's EPERM (mseal(2)) comes after the split of the VMA the range starts in: the real one, sealed alike, splits too */
	if (r == -EPERM && real_seals)
		RS(SYS_munmap, a, l, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return RS(SYS_munmap, a, l, 0);
}

/*
 * brk(2) that shrinks the heap takes its pages away as munmap does (SYSCALL brk: do_vmi_align_munmap() of
 * the page-aligned [new, old)): the model unmaps first (what is pinned there keeps its bytes), then the
 * real break moves. A break below the heap's start changes nothing (min_brk), nor does one the model
 * refuses (a sealed heap). Growth is the real kernel's alone; the model learns those pages when it first
 * meets them. glibc's malloc moves the break inside libc (__sbrk), past these symbols: a heap it trims is
 * not seen.
 */
static uintptr_t heap_start(void)
{
	static uintptr_t start;
	char buf[1024];
	if (start)
		return start;
	int f = RS(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
	long n = f < 0 ? -1 : RS(SYS_read, f, buf, sizeof(buf) - 1);
	if (f >= 0)
		RS(SYS_close, f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* field 47 (start_brk), counted from the state, field 3, after the comm's closing parenthesis */
	char *q = strrchr(buf, ')');
	for (int field = 2; q && field < 47; field++)
		q = strchr(q + 1, ' ');
	if (q)
		start = (uintptr_t)strtoull(q + 1, NULL, 10);
	return start;
}

/* Before the real break moves to `to`: the model's part of a shrink (0), or its refusal (-1, errno ENOMEM). */
static int brk_model(uintptr_t to)
{
	uintptr_t cur = (uintptr_t)RS(SYS_brk, 0), lo = (to + 4095) & ~(uintptr_t)4095, hi = (cur + 4095) & ~(uintptr_t)4095;
	if (!connected() || to >= cur || lo >= hi || to < heap_start())
		return 0;
	if (CALL(OP_MUNMAP, (int64_t)lo, (int64_t)(hi - lo), 0) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * glibc's malloc maps, unmaps and moves memory with system calls made inside
 * libc, past this shim: a large block (past M_MMAP_THRESHOLD) is a mapping
 * of its own that free() unmaps and realloc() moves with mremap, and free()
 * trims the top of the heap with the break. What the program then maps into
 * an IOAS at those addresses is new memory on a kernel, so the model is told:
 * an unmap before free() unmaps (what is pinned there keeps its bytes), a
 * move after realloc() moved, and the part of the heap the break gave back
 * after the call that trimmed it (its bytes are gone by then: a pin there
 * keeps the model's last copy). Only for glibc's allocator (its chunk
 * headers); the trims of other threads' arenas and malloc_trim()'s
 * MADV_DONTNEED of free chunks inside the heap are not followed.
 */
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);

/* The allocator's own functions next to these (resolved once, before anything else: dlsym may allocate). */
static void (*real_free)(void *);
static void *(*real_realloc)(void *, size_t);
static int (*real_malloc_trim)(size_t);
/* The allocator is glibc's (whose chunk headers mmapped_block() reads). */
static int glibc_allocator;
/* glibc's record of the break (__curbrk, what its sbrk moves): read without a system call. */
static void *const *glibc_curbrk;

static void malloc_init(void)
{
	real_free = dlsym(RTLD_NEXT, "free");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_malloc_trim = dlsym(RTLD_NEXT, "malloc_trim");
	glibc_allocator = real_free && real_free == dlsym(RTLD_DEFAULT, "__libc_free") && real_realloc == dlsym(RTLD_DEFAULT, "__libc_realloc");
	glibc_curbrk = dlsym(RTLD_DEFAULT, "__curbrk");
	if (!real_free || !real_realloc) {
		real_free = __libc_free;
		real_realloc = __libc_realloc;
	}
}

static int glibc_malloc(void)
{
	return glibc_allocator;
}

/* The mapping of a block glibc mapped for itself (IS_MMAPPED in its chunk's size): 1 with it in *block, *len. */
static int mmapped_block(void *mem, uintptr_t *block, size_t *len)
{
	const size_t *h = (const size_t *)mem;
	if (!mem || !(h[-1] & 2))
		return 0;
	/* munmap_chunk(): the chunk less its prev_size, through prev_size + size */
	*block = (uintptr_t)mem - 2 * sizeof(size_t) - h[-2];
	*len = h[-2] + (h[-1] & ~(size_t)7);
	return 1;
}

/* The break now: glibc's record of it, else the system call's. */
static uintptr_t cur_brk(void)
{
	return glibc_curbrk && *glibc_curbrk ? (uintptr_t)*glibc_curbrk : (uintptr_t)RS(SYS_brk, 0);
}

/* The break moved down from b0 during a call of malloc's: the model unmaps the pages it gave back. */
static void heap_trimmed(uintptr_t b0)
{
	uintptr_t b1 = cur_brk(), lo = (b1 + 4095) & ~(uintptr_t)4095, hi = (b0 + 4095) & ~(uintptr_t)4095;
	if (b1 < b0 && lo < hi && b1 >= heap_start())
		CALL(OP_MUNMAP, (int64_t)lo, (int64_t)(hi - lo), 0);
}

void free(void *mem)
{
	/* (a free before the shim's constructor ran: glibc's) */
	void (*real)(void *) = real_free ? real_free : __libc_free;
	if (!mem || !glibc_malloc() || !connected()) {
		real(mem);
		return;
	}
	int e = errno;
	uintptr_t block;
	size_t len;
	if (mmapped_block(mem, &block, &len)) {
		CALL(OP_MUNMAP, (int64_t)block, (int64_t)len, 0);
		real(mem);
	} else {
		uintptr_t b0 = cur_brk();
		real(mem);
		heap_trimmed(b0);
	}
	errno = e;
}

/*
 * realloc() of a mapped block: mremap_chunk() moves or resizes its mapping;
 * when that fails the new block is malloc()'s, and the old one is unmapped.
 * realloc(p, 0) frees p.
 */
void *realloc(void *mem, size_t n)
{
	void *(*real)(void *, size_t) = real_realloc ? real_realloc : __libc_realloc;
	if (!mem || !glibc_malloc() || !connected())
		return real(mem, n);
	uintptr_t ob, nb;
	size_t ol, nl;
	int e = errno, mapped = mmapped_block(mem, &ob, &ol);
	if (mapped && n == 0) {
		CALL(OP_MUNMAP, (int64_t)ob, (int64_t)ol, 0);
		errno = e;
		return real(mem, n);
	}
	uintptr_t b0 = cur_brk();
	void *r = real(mem, n);
	e = errno;
	if (!mapped)
		heap_trimmed(b0);
	else if (r && mmapped_block(r, &nb, &nl)) {
		if (nb != ob || nl != ol)
			CALL(OP_MREMAP, (int64_t)ob, (int64_t)ol, (int64_t)nl, MREMAP_MAYMOVE, (int64_t)nb, MREMAP_FOLLOW);
	} else if (r) {
		CALL(OP_MUNMAP, (int64_t)ob, (int64_t)ol, 0);
	}
	errno = e;
	return r;
}

/* glibc's reallocarray() calls its realloc inside libc */
void *reallocarray(void *mem, size_t k, size_t n)
{
	size_t bytes;
	if (__builtin_mul_overflow(k, n, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(mem, bytes);
}

int malloc_trim(size_t pad)
{
	int (*real)(size_t) = real_malloc_trim;
	if (!real)
		return 0;
	if (!glibc_malloc() || !connected())
		return real(pad);
	uintptr_t b0 = cur_brk();
	int r = real(pad), e = errno;
	heap_trimmed(b0);
	errno = e;
	return r;
}

int brk(void *addr)
{
	static int (*real)(void *);
	if (!real)
		real = dlsym(RTLD_NEXT, "brk");
	return brk_model((uintptr_t)addr) < 0 ? -1 : real(addr);
}

void *sbrk(intptr_t inc)
{
	static void *(*real)(intptr_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "sbrk");
	if (inc < 0 && brk_model((uintptr_t)RS(SYS_brk, 0) + (uintptr_t)inc) < 0)
		return (void *)-1;
	return real(inc);
}

/*
 * The model's answer is the program's; the real call follows as far as the
 * host lets it, and its refusal does not count: mlock's VM_LOCKED and
 * locked_vm (VmLck) are the model's, the real pages locked as far as the
 * host's own RLIMIT_MEMLOCK lets them; THP advice is the model's decision, and
 * the host may have THP off.
 */
static int model_decides(uint32_t op, long sys, void *a, size_t l, long x)
{
	if (!connected())
		return RS(sys, a, l, x);
	int64_t r = CALL(op, (int64_t)(uintptr_t)a, l, x);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	int e = errno;
	if (RS(sys, a, l, x) < 0)
		errno = e;
	return 0;
}

#ifndef SYS_mseal
#define SYS_mseal 462
#endif

/*
 * mseal(2), through the C library's wrapper where it has one and through
 * syscall(): the model decides (the checks that follow a seal are its), then
 * the real range is sealed too, so the host refuses what the model refuses
 * (a host without mseal refuses the real call: the answer stays the model's).
 */
int mseal(void *a, size_t l, unsigned long flags)
{
	if (!connected())
		return RS(SYS_mseal, a, l, flags);
	int64_t r = CALL(OP_MSEAL, (int64_t)(uintptr_t)a, l, (int64_t)flags);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	int e = errno;
	if (RS(SYS_mseal, a, l, flags) == 0)
		real_seals = 1;
	else
		errno = e;
	return 0;
}

int mlock(const void *a, size_t l)
{
	return model_decides(OP_MLOCK, SYS_mlock, (void *)a, l, 0);
}

int mlock2(const void *a, size_t l, unsigned int flags)
{
	return model_decides(OP_MLOCK, SYS_mlock2, (void *)a, l, flags);
}

/*
 * mincore: residency is the model's (its THPs, the pages its GUP faulted, its
 * page cache), written by the server into the vector through the program's
 * memory; the host's own residency is not asked.
 */
int mincore(void *a, size_t l, unsigned char *vec)
{
	if (!connected())
		return RS(SYS_mincore, a, l, vec);
	return (int)model_ret(CALL(OP_MINCORE, (int64_t)(uintptr_t)a, (int64_t)l, (int64_t)(uintptr_t)vec));
}

int munlock(const void *a, size_t l)
{
	return model_then_real(OP_MUNLOCK, SYS_munlock, (void *)a, l, 0);
}

int mlockall(int flags)
{
	if (!connected())
		return RS(SYS_mlockall, flags);
	if (model_ret(CALL(OP_MLOCKALL, flags)) < 0)
		return -1;
	int e = errno;
	if (RS(SYS_mlockall, flags) < 0)
		errno = e; /* the host's limit: see model_decides() */
	return 0;
}

int munlockall(void)
{
	if (connected())
		CALL(OP_MUNLOCKALL, 0);
	return RS(SYS_munlockall);
}

/*
 * mremap: the model decides. Where it names the place (MREMAP_FIXED) or the
 * range stays where it is (shrunk, grown in place), the model does it and
 * the real process gets what the model did, a line each (the host kernel
 * may be another version, whose mremap checks and moves differently): "u
 * addr len" unmapped (the target, a shrunk tail, also before a refusal), "m
 * from len to len dontunmap" moved, "g addr len len" grown in place. A range
 * that moves elsewhere (with the lengths the model takes, hugetlb's
 * huge-aligned) goes where the model's search puts it when that range is
 * free in the real process, as an mmap hint is taken, else where the real
 * kernel places it; the model follows it there.
 */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static void *model_mremap(void *old, size_t osz, size_t nsz, int flags, void *naddr)
{
	char fx[4096];
	int64_t r = call(OP_MREMAP, (int64_t)(uintptr_t)old, (int64_t)osz, (int64_t)nsz, flags, (int64_t)(uintptr_t)naddr, MREMAP_DO,
			 NULL, 0, NULL, fx, sizeof(fx));
	for (char *l = fx; *l;) {
		unsigned long long a, b, c, d;
		int du;
		if (l[0] == 'u' && sscanf(l + 1, "%llx %llx", &a, &b) == 2)
			RS(SYS_munmap, a, b);
		else if (l[0] == 'm' && sscanf(l + 1, "%llx %llx %llx %llx %d", &a, &b, &c, &d, &du) == 5)
			RS(SYS_mremap, a, b, d, MREMAP_MAYMOVE | MREMAP_FIXED | (du ? MREMAP_DONTUNMAP : 0), c);
		else if (l[0] == 'g' && sscanf(l + 1, "%llx %llx %llx", &a, &b, &c) == 3)
			RS(SYS_mremap, a, b, c, 0, 0);
		char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : l + strlen(l);
	}
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	return (void *)(uintptr_t)r;
}

void *mremap(void *old, size_t osz, size_t nsz, int flags, ...)
{
	void *naddr = NULL;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		va_list ap;
		va_start(ap, flags);
		naddr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!connected())
		return (void *)RS(SYS_mremap, old, osz, nsz, flags, naddr);
	if (flags & MREMAP_FIXED)
		return model_mremap(old, osz, nsz, flags, naddr);
	char how[128];
	int64_t r = call(OP_MREMAP, (int64_t)(uintptr_t)old, (int64_t)osz, (int64_t)nsz, flags, (int64_t)(uintptr_t)naddr, MREMAP_CHECK,
			 NULL, 0, NULL, how, sizeof(how));
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	unsigned long long ol, nl, to = 0;
	if (how[0] != 'p' || sscanf(how + 1, "%llx %llx %llx", &ol, &nl, &to) < 2)
		return model_mremap(old, osz, nsz, flags, naddr);
	void *p = MAP_FAILED;
	if (to) {
		/* the model's place, taken when nothing real is there (the probe is replaced by the move) */
		void *q = (void *)RS(SYS_mmap, to, nl, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (q == (void *)(uintptr_t)to) {
			p = (void *)RS(SYS_mremap, old, ol, nl, flags | MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (p == MAP_FAILED)
				RS(SYS_munmap, to, nl);
		} else if (q != MAP_FAILED) {
			RS(SYS_munmap, q, nl);
		}
	}
	if (p == MAP_FAILED)
		p = (void *)RS(SYS_mremap, old, ol, nl, flags, naddr);
	if (p != MAP_FAILED)
		CALL(OP_MREMAP, (int64_t)(uintptr_t)old, osz, nsz, flags, (int64_t)(uintptr_t)p, MREMAP_FOLLOW);
	return p;
}

/*
 * model_then_real() for a call that meets a hole in its range with ENOMEM
 * after changing the mappings it passed (do_mprotect_pkey() those before the
 * hole, madvise_walk_vmas() all of them): the real mappings, which mirror the
 * model's, are changed too, and the answer is the model's ENOMEM.
 */
static int model_then_real_holes(uint32_t op, long sys, void *a, size_t l, long x)
{
	if (!connected())
		return RS(sys, a, l, x);
	int64_t r = CALL(op, (int64_t)(uintptr_t)a, l, x);
	/* (a sealed VMA's EPERM, mseal(2), also comes after the VMAs before it were done: the real range is sealed alike) */
	if (r == -ENOMEM || (r == -EPERM && real_seals)) {
		RS(sys, a, l, x);
		errno = (int)-r;
		return -1;
	}
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return RS(sys, a, l, x);
}

int mprotect(void *a, size_t l, int prot)
{
	return model_then_real_holes(OP_MPROTECT, SYS_mprotect, a, l, prot);
}

/*
 * MADV_FREE: the model answers and names the pages of the range it pins
 * ("k ADDR LEN" lines); the host frees the rest lazily, not those. A kernel
 * marks a pinned page lazily free too but never drops it (the pin's
 * reference fails try_to_unmap_one()'s count), while the host, which knows
 * no pin, would drop it at its next reclaim (MADV_PAGEOUT) and the program
 * would read zeros where the device still has the bytes.
 */
static int madvise_free(void *a, size_t l, int advice)
{
	char keep[4096];
	int64_t r = call(OP_MADVISE, (int64_t)(uintptr_t)a, (int64_t)l, advice, 0, 0, 0, NULL, 0, NULL, keep, sizeof(keep));
	if (r < 0 && r != -ENOMEM) {
		errno = (int)-r;
		return -1;
	}
	/* (a hole is ENOMEM after the advice reached every mapping: the real ones take it too) */
	uintptr_t at = (uintptr_t)a, end = (uintptr_t)a + ((l + 4095) & ~(size_t)4095);
	for (char *p = keep; *p;) {
		unsigned long long ks, kl;
		if (p[0] == 'k' && sscanf(p + 1, "%llx %llx", &ks, &kl) == 2 && ks >= at && ks + kl <= end) {
			if (ks > at)
				RS(SYS_madvise, at, ks - at, advice);
			at = ks + kl;
		}
		char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	if (at < end)
		RS(SYS_madvise, at, end - at, advice);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

int madvise(void *a, size_t l, int advice)
{
	if (advice == MADV_HUGEPAGE || advice == MADV_NOHUGEPAGE || advice == 25 /* MADV_COLLAPSE */)
		return model_decides(OP_MADVISE, SYS_madvise, a, l, advice);
	if (advice == MADV_FREE && connected())
		return madvise_free(a, l, advice);
	return model_then_real_holes(OP_MADVISE, SYS_madvise, a, l, advice);
}

/* ------------------------------------------------------------------------ */
/* processes */

/* The child of a fork the model made first (token `tok`): it keeps the request FIFO and gets its own socket and reply FIFO. */
static void fork_child(int64_t tok)
{
	my_tid = 0;
	my_pid = 0;
	RS(SYS_close, sock);
	RS(SYS_close, rfd);
	sock = rfd = -1;
	/* the parent's channel page is the parent's: this process gets its own */
	RS(SYS_munmap, ch, CHAN_SIZE);
	ch = NULL;
	pthread_mutex_init(&mu, NULL);
	fork_token = tok;
	bridge_connect();
}

/* The parent's side of a fork the model made first: the real fork's pid (or its failure, errno kept). */
static pid_t fork_parent(int64_t tok, pid_t pid)
{
	if (pid > 0) {
		CALL(OP_FORK_DONE | REQ_NOREPLY, tok, pid);
	} else if (pid < 0) {
		int e = errno;
		CALL(OP_FORK_ABORT, tok);
		errno = e;
	}
	return pid;
}

/* A fork through `real` (libc's fork or _Fork, or a raw system call): the model forks first, so nothing happens between the two forks. */
static pid_t fork_through(pid_t (*real)(void))
{
	if (!connected())
		return real();
	int64_t tok = CALL(OP_FORK_PREPARE);
	if (tok < 0) {
		errno = (int)-tok;
		return -1;
	}
	pid_t pid = real();
	if (pid == 0) {
		fork_child(tok);
		return 0;
	}
	return fork_parent(tok, pid);
}

pid_t fork(void)
{
	static pid_t (*real)(void);
	if (!real)
		real = dlsym(RTLD_NEXT, "fork");
	return fork_through(real);
}

/* glibc's _Fork() (2.34): the system call without fork()'s atfork handlers */
pid_t _Fork(void)
{
	static pid_t (*real)(void);
	if (!real)
		real = dlsym(RTLD_NEXT, "_Fork");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return fork_through(real);
}

/*
 * A raw fork, or a raw clone or clone3 that makes a copy of the process (no CLONE_VM, no CLONE_FILES,
 * no CLONE_THREAD, no new stack: the child returns from the call as the parent does), is a fork for
 * the model; the flags and the rest of the arguments go to the real call as given.
 */
static long raw_fork_args[6];
static long raw_fork_nr;

static pid_t raw_fork_call(void)
{
	const long *a = raw_fork_args;
	return (pid_t)real_syscall6(raw_fork_nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int raw_fork(long nr, const long *a, long *ret)
{
	const long copy = CLONE_VM | CLONE_FILES | CLONE_THREAD;
	if (nr != SYS_clone && nr != SYS_clone3)
		nr = SYS_fork;
	if (nr == SYS_clone && ((a[0] & copy) || a[1]))
		return 0;
	if (nr == SYS_clone3) {
		/* struct clone_args: flags first, the stack sixth (CLONE_ARGS_SIZE_VER0 is 64 bytes) */
		const uint64_t *ca = (const uint64_t *)a[0];
		if (!ca || (size_t)a[1] < 64 || (ca[0] & copy) || ca[5])
			return 0;
	}
	raw_fork_nr = nr;
	memcpy(raw_fork_args, a, sizeof(raw_fork_args));
	*ret = fork_through(raw_fork_call);
	return 1;
}

/*
 * glibc's clone(): a child with an address space and a file table of its own (no CLONE_VM, no
 * CLONE_FILES) is a fork that runs fn on another stack: the model forks first, the child reconnects
 * before fn runs, and fn's return is its exit status through the shim's _exit (glibc's child would
 * make the exit system call itself, which the model does not hear). A child sharing the memory or
 * the file table (threads made this way, CLONE_FILES) is the host's alone: the model would take its
 * calls for its parent's.
 */
struct clone_start {
	int (*fn)(void *);
	void *arg;
	int64_t tok;
};

static int clone_child(void *p)
{
	const struct clone_start *c = p;
	fork_child(c->tok);
	_exit(c->fn(c->arg));
}

int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static int (*real)(int (*)(void *), void *, int, void *, ...);
	if (!real)
		real = dlsym(RTLD_NEXT, "clone");
	va_list ap;
	va_start(ap, arg);
	/* (read whether or not the flags ask for them: glibc's clone reads only those they ask for) */
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!connected() || !fn || (flags & (CLONE_VM | CLONE_FILES)))
		return real(fn, stack, flags, arg, ptid, tls, ctid);
	int64_t tok = CALL(OP_FORK_PREPARE);
	if (tok < 0) {
		errno = (int)-tok;
		return -1;
	}
	/* the child sees this as it was at the clone (its memory, this stack included, is a copy) */
	struct clone_start start = { fn, arg, tok };
	return fork_parent(tok, real(clone_child, stack, flags, &start, ptid, tls, ctid));
}

pid_t vfork(void)
{
	return fork();
}


/*
 * A child the program reaped is gone for the kernel: its files and mm were
 * released before wait returned. Tell the model in the same ordered stream
 * (no answer needed), so the program's next call already sees a child that
 * died by a signal (no EXIT of its own) as gone; its closing socket alone
 * would reach the server only some time later.
 */
static void reaped(pid_t pid, int dead)
{
	if (pid > 0 && dead && connected())
		CALL(OP_REAP | REQ_NOREPLY, pid);
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	int st = 0;
	pid_t r = RS(SYS_wait4, pid, &st, options, ru);
	if (r > 0) {
		reaped(r, WIFEXITED(st) || WIFSIGNALED(st));
		if (status)
			*status = st;
	}
	return r;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	return wait4(pid, status, options, NULL);
}

pid_t wait(int *status)
{
	return wait4(-1, status, 0, NULL);
}

pid_t wait3(int *status, int options, struct rusage *ru)
{
	return wait4(-1, status, options, ru);
}

int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	int r = RS(SYS_waitid, type, id, info, options, NULL);
	if (r == 0 && info)
		reaped(info->si_pid, info->si_code == CLD_EXITED || info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED);
	return r;
}

static void exec_prepare(void)
{
	char list[2048];
	size_t n = 0;
	if (!connected())
		return;
	list[0] = 0;
	for (int fd = 0; fd < MAXFD && n + 16 < sizeof(list); fd++) {
		if (!(fdkind[fd] & K_MODEL))
			continue;
		int fl = RS(SYS_fcntl, fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			n += snprintf(list + n, sizeof(list) - n, "%s%d", n ? "," : "", fd);
	}
	call(OP_EXEC_PREPARE, 0, 0, 0, 0, 0, 0, list, n + 1, NULL, NULL, 0);
}

/*
 * A program that builds its children's environment from scratch still runs
 * them under the bridge: the shim's variables are put back into envp.
 */
#define BRIDGE_VARS 4
static char *const *bridged_env(char *const envp[], char **out, size_t cap)
{
	static const char *const names[BRIDGE_VARS] = { "LD_PRELOAD", "IOMMUFD_SIM_SOCK", "IOMMUFD_SIM_DEBUGFS",
							"IOMMUFD_SIM_TRACE" };
	static char buf[BRIDGE_VARS][4200];
	size_t n = 0;
	if (!envp || !connected())
		return envp;
	for (; envp[n]; n++)
		if (n + BRIDGE_VARS + 1 >= cap)
			return envp;
	memcpy(out, envp, n * sizeof(*out));
	for (int i = 0; i < BRIDGE_VARS; i++) {
		const char *v = getenv(names[i]);
		size_t l = strlen(names[i]);
		int have = 0;
		for (size_t j = 0; j < n && !have; j++)
			have = !strncmp(out[j], names[i], l) && out[j][l] == '=';
		if (have || !v || l + strlen(v) + 2 > sizeof(buf[i]))
			continue;
		memcpy(buf[i], names[i], l);
		buf[i][l] = '=';
		memcpy(buf[i] + l + 1, v, strlen(v) + 1);
		out[n++] = buf[i];
	}
	out[n] = NULL;
	return out;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	char *env[4096];
	exec_prepare();
	return RS(SYS_execve, path, argv, bridged_env(envp, env, sizeof(env) / sizeof(env[0])));
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	char *env[4096];
	exec_prepare();
	return RS(SYS_execveat, dirfd, path, argv, bridged_env(envp, env, sizeof(env) / sizeof(env[0])), flags);
}

/* glibc's fexecve() makes its execveat() inside libc: the same as execveat(fd, "", AT_EMPTY_PATH) */
int fexecve(int fd, char *const argv[], char *const envp[])
{
	return execveat(fd, "", argv, envp, AT_EMPTY_PATH);
}

int execv(const char *path, char *const argv[])
{
	static int (*real)(const char *, char *const[]);
	if (!real)
		real = dlsym(RTLD_NEXT, "execv");
	exec_prepare();
	return real(path, argv);
}

int execvp(const char *file, char *const argv[])
{
	static int (*real)(const char *, char *const[]);
	if (!real)
		real = dlsym(RTLD_NEXT, "execvp");
	exec_prepare();
	return real(file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	static int (*real)(const char *, char *const[], char *const[]);
	char *env[4096];
	if (!real)
		real = dlsym(RTLD_NEXT, "execvpe");
	exec_prepare();
	return real(file, argv, bridged_env(envp, env, sizeof(env) / sizeof(env[0])));
}

/* execl, execlp, execle: glibc calls its own execve inside, so gather the list here */
#define EXEC_MAX_ARGS 1024
#define GATHER_ARGS(first, ap, argv)                          \
	do {                                                  \
		int i_ = 0;                                   \
		argv[i_++] = (char *)(first);                 \
		while (i_ < EXEC_MAX_ARGS - 1) {              \
			char *a_ = va_arg(ap, char *);        \
			argv[i_++] = a_;                      \
			if (!a_)                              \
				break;                        \
		}                                             \
		argv[EXEC_MAX_ARGS - 1] = NULL;               \
	} while (0)

int execl(const char *path, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	va_list ap;
	va_start(ap, arg);
	GATHER_ARGS(arg, ap, argv);
	va_end(ap);
	return execv(path, argv);
}

int execlp(const char *file, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	va_list ap;
	va_start(ap, arg);
	GATHER_ARGS(arg, ap, argv);
	va_end(ap);
	return execvp(file, argv);
}

int execle(const char *path, const char *arg, ...)
{
	char *argv[EXEC_MAX_ARGS];
	va_list ap;
	va_start(ap, arg);
	GATHER_ARGS(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/*
 * posix_spawn(3) as glibc's child does it (__spawni_child()), on the shim's fork() and execve(), so the
 * model sees the fork and the child keeps the program's model files across the exec (glibc's own clone
 * and exec run past the shim: the child came up as a new process, holding only placeholders). The
 * attributes through their public getters; the file actions from glibc's array (struct __spawn_action,
 * its tags as 2.36 has them), each through the shim's close, dup2, open, chdir and closefrom. An exec
 * that fails reports its errno on a close-on-exec pipe, the child exits 127, the parent reaps it and
 * returns the errno, as posix_spawn does.
 */
struct spawn_action {
	int tag; /* spawn_do_close, _dup2, _open, _chdir, _fchdir, _closefrom, _tcsetpgrp */
	union {
		struct { int fd; } close_action;
		struct { int fd, newfd; } dup2_action;
		struct { int fd; char *path; int oflag; mode_t mode; } open_action;
		struct { char *path; } chdir_action;
		struct { int fd; } fchdir_action;
		struct { int from; } closefrom_action;
		struct { int fd; } setpgrp_action;
	} action;
};

static int spawn_actions(const posix_spawn_file_actions_t *fa)
{
	if (!fa)
		return 0;
	const struct spawn_action *acts = (const struct spawn_action *)fa->__actions;
	for (int i = 0; i < fa->__used; i++) {
		const struct spawn_action *a = &acts[i];
		switch (a->tag) {
		case 0:
			/* only a descriptor out of range is an error (the close of a closed one is not) */
			if (close(a->action.close_action.fd) != 0 && (a->action.close_action.fd < 0 || a->action.close_action.fd >= (int)sysconf(_SC_OPEN_MAX)))
				return errno;
			break;
		case 1:
			if (a->action.dup2_action.fd == a->action.dup2_action.newfd) {
				/* dup2 onto itself clears close-on-exec */
				int fl = fcntl(a->action.dup2_action.fd, F_GETFD);
				if (fl < 0 || fcntl(a->action.dup2_action.fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
					return errno;
			} else if (dup2(a->action.dup2_action.fd, a->action.dup2_action.newfd) < 0)
				return errno;
			break;
		case 2: {
			int fd = open(a->action.open_action.path, a->action.open_action.oflag, a->action.open_action.mode);
			if (fd < 0)
				return errno;
			if (fd != a->action.open_action.fd) {
				if (dup2(fd, a->action.open_action.fd) < 0)
					return errno;
				close(fd);
			}
			break;
		}
		case 3:
			if (chdir(a->action.chdir_action.path) < 0)
				return errno;
			break;
		case 4:
			if (fchdir(a->action.fchdir_action.fd) < 0)
				return errno;
			break;
		case 5:
			closefrom(a->action.closefrom_action.from);
			break;
		case 6:
			if (tcsetpgrp(a->action.setpgrp_action.fd, getpgrp()) < 0)
				return errno;
			break;
		default:
			return EINVAL;
		}
	}
	return 0;
}

/* The child's setup by the attributes (POSIX_SPAWN_*): 0 or an errno. */
static int spawn_attrs(const posix_spawnattr_t *attr, const sigset_t *old)
{
	short fl = 0;
	sigset_t set;
	if (attr)
		posix_spawnattr_getflags(attr, &fl);
	if (fl & POSIX_SPAWN_SETSID && setsid() < 0)
		return errno;
	if (fl & POSIX_SPAWN_SETPGROUP) {
		pid_t pg = 0;
		posix_spawnattr_getpgroup(attr, &pg);
		if (setpgid(0, pg) < 0)
			return errno;
	}
	if (fl & POSIX_SPAWN_SETSCHEDULER) {
		int pol;
		struct sched_param sp;
		posix_spawnattr_getschedpolicy(attr, &pol);
		posix_spawnattr_getschedparam(attr, &sp);
		if (sched_setscheduler(0, pol, &sp) < 0)
			return errno;
	} else if (fl & POSIX_SPAWN_SETSCHEDPARAM) {
		struct sched_param sp;
		posix_spawnattr_getschedparam(attr, &sp);
		if (sched_setparam(0, &sp) < 0)
			return errno;
	}
	if (fl & POSIX_SPAWN_RESETIDS && (setgid(getgid()) < 0 || setuid(getuid()) < 0))
		return errno;
	/* the handlers the parent had go back to the default (exec would too); SETSIGDEF's set as well */
	sigemptyset(&set);
	if (fl & POSIX_SPAWN_SETSIGDEF)
		posix_spawnattr_getsigdefault(attr, &set);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sigismember(&set, sig) == 1 || (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(sig, &sa, NULL);
		}
	}
	if (fl & POSIX_SPAWN_SETSIGMASK)
		posix_spawnattr_getsigmask(attr, &set);
	else
		set = *old;
	sigprocmask(SIG_SETMASK, &set, NULL);
	return 0;
}

static int do_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr, char *const argv[],
		    char *const envp[], int search)
{
	int p[2];
	sigset_t all, old;
	if (RS(SYS_pipe2, p, O_CLOEXEC) < 0)
		return errno;
	/* no handler of the parent's runs in the child before its exec */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t c = fork();
	if (c == 0) {
		RS(SYS_close, p[0]);
		int e = spawn_attrs(attr, &old);
		if (!e)
			e = spawn_actions(fa);
		if (!e) {
			if (search)
				execvpe(path, argv, envp);
			else
				execve(path, argv, envp);
			e = errno;
		}
		RS(SYS_write, p[1], &e, sizeof(e));
		_exit(127);
	}
	int e = c < 0 ? errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	RS(SYS_close, p[1]);
	if (c > 0) {
		int got = 0;
		long n;
		while ((n = RS(SYS_read, p[0], &got, sizeof(got))) < 0 && errno == EINTR)
			;
		if (n == (long)sizeof(got)) {
			e = got;
			waitpid(c, NULL, 0);
		} else if (pid)
			*pid = c;
	}
	RS(SYS_close, p[0]);
	/* glibc's child shares the caller's memory (CLONE_VM): the errno of its failing call is the caller's */
	if (e)
		errno = e;
	return e;
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr, char *const argv[],
		char *const envp[])
{
	static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[]);
	if (!real)
		real = dlsym(RTLD_NEXT, "posix_spawn");
	if (!connected())
		return real(pid, path, fa, attr, argv, envp);
	return do_spawn(pid, path, fa, attr, argv, envp, 0);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr, char *const argv[],
		 char *const envp[])
{
	static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[]);
	if (!real)
		real = dlsym(RTLD_NEXT, "posix_spawnp");
	if (!connected())
		return real(pid, file, fa, attr, argv, envp);
	return do_spawn(pid, file, fa, attr, argv, envp, 1);
}

/*
 * system(3) as glibc's: /bin/sh -c, SIGINT and SIGQUIT ignored and SIGCHLD blocked in the caller while it
 * waits, the child's back to the caller's; on posix_spawn() above (glibc's calls its own inside libc).
 */
int system(const char *cmd)
{
	static int (*real)(const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "system");
	if (!connected())
		return real(cmd);
	if (!cmd)
		return access("/bin/sh", X_OK) == 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	sigset_t chld, omask, def;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &omask);
	sigemptyset(&def);
	if (oint.sa_handler != SIG_IGN)
		sigaddset(&def, SIGINT);
	if (oquit.sa_handler != SIG_IGN)
		sigaddset(&def, SIGQUIT);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &omask);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int status = -1;
	int e = do_spawn(&pid, "/bin/sh", NULL, &at, argv, environ, 0);
	posix_spawnattr_destroy(&at);
	if (e == 0) {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				status = -1;
				break;
			}
	} else
		status = 127 << 8;
	int se = errno;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigprocmask(SIG_SETMASK, &omask, NULL);
	errno = se;
	return status;
}

/*
 * popen(3) and pclose(3) as glibc's, on posix_spawn() above: /bin/sh -c with the pipe's other end as
 * its stdin or stdout, the streams of earlier popen() calls still open closed in the child (POSIX),
 * "e" for close-on-exec on the caller's end; pclose waits for the shell and returns its status.
 */
#define POPEN_MAX 64
static struct {
	FILE *f;
	pid_t pid;
} popened[POPEN_MAX];
static pthread_mutex_t popen_mu = PTHREAD_MUTEX_INITIALIZER;

FILE *popen(const char *cmd, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "popen");
	if (!connected())
		return real(cmd, mode);
	int rd = 0, wr = 0, ce = 0;
	for (const char *m = mode; *m; m++) {
		if (*m == 'r')
			rd = 1;
		else if (*m == 'w')
			wr = 1;
		else if (*m == 'e')
			ce = 1;
		else {
			errno = EINVAL;
			return NULL;
		}
	}
	if (rd == wr) {
		errno = EINVAL;
		return NULL;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	int mine = rd ? p[0] : p[1], theirs = rd ? p[1] : p[0], to = rd ? 1 : 0;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	/* (a pipe end that is already the target is dup2'd onto itself: its close-on-exec cleared) */
	posix_spawn_file_actions_adddup2(&fa, theirs, to);
	pthread_mutex_lock(&popen_mu);
	int slot = -1;
	for (int i = 0; i < POPEN_MAX; i++) {
		if (popened[i].f)
			posix_spawn_file_actions_addclose(&fa, fileno(popened[i].f));
		else if (slot < 0)
			slot = i;
	}
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int e = slot < 0 ? EMFILE : do_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ, 0);
	posix_spawn_file_actions_destroy(&fa);
	close(theirs);
	FILE *f = NULL;
	if (e == 0) {
		if (!ce)
			fcntl(mine, F_SETFD, 0);
		f = fdopen(mine, rd ? "r" : "w");
		if (f) {
			popened[slot].f = f;
			popened[slot].pid = pid;
		}
	}
	pthread_mutex_unlock(&popen_mu);
	if (!f) {
		int se = e ? e : errno;
		close(mine);
		if (e == 0)
			waitpid(pid, NULL, 0);
		errno = se;
	}
	return f;
}

int pclose(FILE *f)
{
	static int (*real)(FILE *);
	if (!real)
		real = dlsym(RTLD_NEXT, "pclose");
	pid_t pid = -1;
	pthread_mutex_lock(&popen_mu);
	for (int i = 0; i < POPEN_MAX; i++)
		if (f && popened[i].f == f) {
			pid = popened[i].pid;
			popened[i].f = NULL;
			break;
		}
	pthread_mutex_unlock(&popen_mu);
	if (pid < 0)
		return real(f);
	fclose(f);
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : st;
}

/* ------------------------------------------------------------------------ */
/* credentials and limits */

/*
 * RLIMIT_MEMLOCK as the model has it (OP_CRED kind 6: 16 bytes, the soft and the hard limit; the real
 * hard limit stands for the model's until the program first sets one). The real limit may be lower: a
 * process without CAP_SYS_RESOURCE cannot raise it to follow the model.
 */
static int memlock_get(struct rlimit *out)
{
	struct rlimit real;
	if (RS(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &real) < 0)
		return -1;
	char buf[2 * sizeof(uint64_t) + 1];
	int64_t r = call(OP_CRED, 6, (int64_t)real.rlim_max, 0, 0, 0, 0, NULL, 0, NULL, buf, sizeof(buf));
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	uint64_t v[2];
	memcpy(v, buf, sizeof(v));
	out->rlim_cur = (rlim_t)v[0];
	out->rlim_max = (rlim_t)v[1];
	return 0;
}

/* RLIMIT_MEMLOCK: the model is the kernel that charges it, so its answer wins */
/* After the model took new limits `nl`: the real ones of `pid` follow, as far as its real hard limit `max` lets this process */
static void memlock_follow(pid_t pid, const struct rlimit *nl, rlim_t max)
{
	if (RS(SYS_prlimit64, pid, RLIMIT_MEMLOCK, nl, NULL) < 0) {
		struct rlimit cap = { nl->rlim_cur < max ? nl->rlim_cur : max, nl->rlim_max < max ? nl->rlim_max : max };
		RS(SYS_prlimit64, pid, RLIMIT_MEMLOCK, &cap, NULL);
	}
}

/* prlimit64(): the new limits are read before anything, the old ones written after the change (EFAULT then too) */
static int memlock_set(pid_t pid, const struct rlimit *unl, struct rlimit *ol)
{
	struct rlimit old, was, nl;
	if (self_copy(&nl, unl, sizeof(nl), 0) < 0)
		return -1;
	if (RS(SYS_prlimit64, pid, RLIMIT_MEMLOCK, NULL, &old) < 0)
		return -1;
	if (ol && memlock_get(&was) < 0)
		return -1;
	int64_t r = CALL(OP_SETRLIMIT, RLIMIT_MEMLOCK, (int64_t)nl.rlim_cur, (int64_t)nl.rlim_max, (int64_t)old.rlim_max);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	memlock_follow(pid, &nl, old.rlim_max);
	return ol ? self_copy(ol, &was, sizeof(was), 1) : 0;
}

int getrlimit(__rlimit_resource_t res, struct rlimit *rl)
{
	struct rlimit v;
	rl = (struct rlimit *)may_be_null(rl);
	if (res == RLIMIT_MEMLOCK && rl && connected())
		return memlock_get(&v) < 0 ? -1 : self_copy(rl, &v, sizeof(v), 1);
	return RS(SYS_prlimit64, 0, res, NULL, rl);
}

int getrlimit64(__rlimit_resource_t res, struct rlimit64 *rl)
{
	return getrlimit(res, (struct rlimit *)rl);
}

int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	/* (no limits to set, NULL: nothing happens, as in the kernel) */
	rl = may_be_null(rl);
	if (res == RLIMIT_MEMLOCK && rl && connected())
		return memlock_set(0, rl, NULL);
	return RS(SYS_prlimit64, 0, res, rl, NULL);
}

int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl)
{
	return setrlimit(res, (const struct rlimit *)rl);
}

/*
 * prlimit() of RLIMIT_MEMLOCK of another process: the model's answer when that pid is one of its
 * processes (a manager setting its child's limit), the host's for any other; the real limit follows.
 */
static int memlock_other(pid_t pid, const struct rlimit *unl, struct rlimit *ol)
{
	char buf[2 * sizeof(uint64_t) + 1];
	struct rlimit real, nlv, *nl = NULL;
	if (unl) {
		if (self_copy(&nlv, unl, sizeof(nlv), 0) < 0)
			return -1;
		nl = &nlv;
	}
	int known = RS(SYS_prlimit64, pid, RLIMIT_MEMLOCK, NULL, &real) == 0;
	int64_t r = call(OP_PRLIMIT, pid, nl ? 0 : 1, nl ? (int64_t)nl->rlim_cur : 0, nl ? (int64_t)nl->rlim_max : 0,
			 known ? (int64_t)real.rlim_max : 0, known, NULL, 0, NULL, buf, sizeof(buf));
	if (r == PRLIMIT_NOT_MODEL)
		return RS(SYS_prlimit64, pid, RLIMIT_MEMLOCK, nl, ol);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	if (nl && known)
		memlock_follow(pid, nl, real.rlim_max);
	if (!ol)
		return 0;
	uint64_t v[2];
	memcpy(v, buf, sizeof(v));
	struct rlimit was = { (rlim_t)v[0], (rlim_t)v[1] };
	return self_copy(ol, &was, sizeof(was), 1);
}

/* The process a task ID belongs to (its Tgid), or the ID itself when there is no such task. */
static pid_t tgid_of(pid_t tid)
{
	char path[48], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	int f = RS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	long n = f < 0 ? -1 : RS(SYS_read, f, buf, sizeof(buf) - 1);
	if (f >= 0)
		RS(SYS_close, f);
	if (n <= 0)
		return tid;
	buf[n] = 0;
	const char *t = strstr(buf, "\nTgid:");
	return t ? (pid_t)atoi(t + 6) : tid;
}

int prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *nl, struct rlimit *ol)
{
	if (res == RLIMIT_MEMLOCK && connected()) {
		/* prlimit64 finds any task: a thread's ID names its process's limits (signal->rlim) */
		if (pid > 0 && pid != getpid())
			pid = tgid_of(pid);
		if (pid != 0 && pid != getpid())
			return memlock_other(pid, nl, ol);
		struct rlimit v;
		if (nl)
			return memlock_set(0, nl, ol);
		if (ol)
			return memlock_get(&v) < 0 ? -1 : self_copy(ol, &v, sizeof(v), 1);
	}
	return RS(SYS_prlimit64, pid, res, nl, ol);
}

int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl, struct rlimit64 *ol)
{
	return prlimit(pid, res, (const struct rlimit *)nl, (struct rlimit *)ol);
}

/* Capabilities are the model's: capget reports them, capset changes them (the model's answer wins). */
struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_dat {
	uint32_t eff, perm, inh;
};
#define CAP_V3 0x20080522

static int cap_self(const struct cap_hdr *h)
{
	return h && h->version == CAP_V3 && (h->pid == 0 || h->pid == getpid()) && connected();
}

int capget(void *hdr, void *data)
{
	int r = real_syscall6(SYS_capget, (long)hdr, (long)data, 0, 0, 0, 0);
	if (r == 0 && data && cap_self(hdr)) {
		int64_t eff = CALL(OP_CAPGET, 0), perm = CALL(OP_CAPGET, 1);
		struct cap_dat *d = data;
		if (eff >= 0 && perm >= 0) {
			d[0].eff = (uint32_t)eff;
			d[1].eff = (uint32_t)((uint64_t)eff >> 32);
			d[0].perm = (uint32_t)perm;
			d[1].perm = (uint32_t)((uint64_t)perm >> 32);
		}
	}
	return r;
}

int capset(void *hdr, const void *data)
{
	if (!cap_self(hdr) || !data)
		return real_syscall6(SYS_capset, (long)hdr, (long)data, 0, 0, 0, 0);
	const struct cap_dat *d = data;
	int64_t r = CALL(OP_CAPSET, (int64_t)d[0].eff | ((int64_t)d[1].eff << 32), (int64_t)d[0].perm | ((int64_t)d[1].perm << 32));
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	/* the real process follows as far as it can: it may lack what the model gave it */
	struct cap_hdr h = { CAP_V3, 0 };
	struct cap_dat have[2], want[2];
	if (real_syscall6(SYS_capget, (long)&h, (long)have, 0, 0, 0, 0) == 0) {
		for (int i = 0; i < 2; i++) {
			want[i].perm = d[i].perm & have[i].perm;
			want[i].eff = d[i].eff & want[i].perm;
			want[i].inh = d[i].inh & have[i].inh;
		}
		real_syscall6(SYS_capset, (long)&h, (long)want, 0, 0, 0, 0);
	}
	return 0;
}

/*
 * User IDs: the model's answer wins (its capabilities decide; the pages a
 * call creates are charged to its real UID's user), then the real process
 * follows through libc, which changes every thread, as far as it can.
 */
static int cred_model(int64_t kind, int64_t a, int64_t b, int64_t c)
{
	int64_t r = CALL(OP_CRED, kind, a, b, c);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

#define REAL_SETID(name, proto) \
	static int (*real) proto; \
	if (!real) \
		real = dlsym(RTLD_NEXT, name)

int setuid(uid_t uid)
{
	REAL_SETID("setuid", (uid_t));
	if (!connected())
		return real(uid);
	if (cred_model(0, (uint32_t)uid, 0, 0) < 0)
		return -1;
	int e = errno;
	real(uid);
	errno = e;
	return 0;
}

int setreuid(uid_t ruid, uid_t euid)
{
	REAL_SETID("setreuid", (uid_t, uid_t));
	if (!connected())
		return real(ruid, euid);
	if (cred_model(1, (uint32_t)ruid, (uint32_t)euid, 0) < 0)
		return -1;
	int e = errno;
	real(ruid, euid);
	errno = e;
	return 0;
}

int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	REAL_SETID("setresuid", (uid_t, uid_t, uid_t));
	if (!connected())
		return real(ruid, euid, suid);
	if (cred_model(2, (uint32_t)ruid, (uint32_t)euid, (uint32_t)suid) < 0)
		return -1;
	int e = errno;
	real(ruid, euid, suid);
	errno = e;
	return 0;
}

/* glibc's seteuid(): setresuid(-1, euid, -1), EINVAL for -1 itself */
int seteuid(uid_t euid)
{
	REAL_SETID("seteuid", (uid_t));
	if (!connected())
		return real(euid);
	if (euid == (uid_t)-1) {
		errno = EINVAL;
		return -1;
	}
	if (cred_model(2, (uint32_t)-1, (uint32_t)euid, (uint32_t)-1) < 0)
		return -1;
	int e = errno;
	real(euid);
	errno = e;
	return 0;
}

/* PR_SET_KEEPCAPS is the model's too: it decides what setuid leaves of the capabilities */
int prctl(int option, ...)
{
	va_list ap;
	unsigned long a[4];
	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	/*
	 * The program's THP setting is the model's (its faults, MADV_COLLAPSE, smaps, THP_enabled in
	 * status); the host's THPs stay off whatever it asks (shim_init())
	 */
	if ((option == PR_SET_THP_DISABLE || option == PR_GET_THP_DISABLE) && connected()) {
		int64_t r = CALL(OP_CRED, option == PR_SET_THP_DISABLE ? 4 : 5, (int64_t)a[0], (int64_t)a[1], (int64_t)a[2], (int64_t)a[3]);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return (int)r;
	}
	if (option == 8 /* PR_SET_KEEPCAPS */ && connected()) {
		if (cred_model(3, (int64_t)a[0], 0, 0) < 0)
			return -1;
		int e = errno;
		real_syscall6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
		errno = e;
		return 0;
	}
	return (int)real_syscall6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
}

/*
 * A raw call of something a wrapper here follows goes to that wrapper, as
 * if the program had called libc's (the kernel's argument order, x86-64:
 * preadv's offset is pos_l, the sigset size of ppoll/epoll_pwait is not
 * passed on). Without it syscall(SYS_close_range, 3, ~0U, 0), a common way
 * to close every descriptor, would close the shim's own and leave the
 * model's files open. 1: handled, the result in *ret.
 */
static int wrapped_raw(long nr, const long *a, long *ret)
{
	switch (nr) {
#ifdef SYS_open
	case SYS_open: *ret = open((const char *)a[0], (int)a[1], (mode_t)a[2]); return 1;
#endif
	case SYS_openat: *ret = openat((int)a[0], (const char *)a[1], (int)a[2], (mode_t)a[3]); return 1;
	case SYS_openat2: *ret = sys_openat2((int)a[0], (const char *)a[1], (const void *)a[2], (size_t)a[3]); return 1;
	case SYS_close: *ret = close((int)a[0]); return 1;
	case SYS_uname: *ret = uname((struct utsname *)a[0]); return 1;
	case SYS_pidfd_getfd: *ret = pidfd_getfd((int)a[0], (int)a[1], (unsigned int)a[2]); return 1;
#ifdef SYS_unlink
	case SYS_unlink: *ret = unlink((const char *)a[0]); return 1;
#endif
	case SYS_unlinkat: *ret = unlinkat((int)a[0], (const char *)a[1], (int)a[2]); return 1;
	case SYS_truncate: *ret = truncate((const char *)a[0], (off_t)a[1]); return 1;
#ifdef SYS_creat
	case SYS_creat: *ret = creat((const char *)a[0], (mode_t)a[1]); return 1;
#endif
	case SYS_close_range: *ret = close_range((unsigned int)a[0], (unsigned int)a[1], (int)a[2]); return 1;
	case SYS_execve: *ret = execve((const char *)a[0], (char *const *)a[1], (char *const *)a[2]); return 1;
	case SYS_execveat: *ret = execveat((int)a[0], (const char *)a[1], (char *const *)a[2], (char *const *)a[3], (int)a[4]); return 1;
#ifdef SYS_fork
	case SYS_fork:
#endif
#ifdef SYS_vfork
	/* (a raw vfork would return into this frame on the parent's stack: a fork, as vfork() is here) */
	case SYS_vfork:
#endif
	case SYS_clone:
	case SYS_clone3: return connected() && raw_fork(nr, a, ret);
	case SYS_dup: *ret = dup((int)a[0]); return 1;
#ifdef SYS_dup2
	case SYS_dup2: *ret = dup2((int)a[0], (int)a[1]); return 1;
#endif
	case SYS_dup3: *ret = dup3((int)a[0], (int)a[1], (int)a[2]); return 1;
	case SYS_fcntl: *ret = fcntl((int)a[0], (int)a[1], a[2]); return 1;
	case SYS_ioctl: *ret = ioctl((int)a[0], (unsigned long)a[1], a[2]); return 1;
	case SYS_read: *ret = read((int)a[0], (void *)a[1], (size_t)a[2]); return 1;
	case SYS_write: *ret = write((int)a[0], (const void *)a[1], (size_t)a[2]); return 1;
	case SYS_pread64: *ret = pread((int)a[0], (void *)a[1], (size_t)a[2], (off_t)a[3]); return 1;
	case SYS_pwrite64: *ret = pwrite((int)a[0], (const void *)a[1], (size_t)a[2], (off_t)a[3]); return 1;
	case SYS_readv: *ret = readv((int)a[0], (const struct iovec *)a[1], (int)a[2]); return 1;
	case SYS_writev: *ret = writev((int)a[0], (const struct iovec *)a[1], (int)a[2]); return 1;
	case SYS_preadv: *ret = preadv((int)a[0], (const struct iovec *)a[1], (int)a[2], (off_t)a[3]); return 1;
	case SYS_pwritev: *ret = pwritev((int)a[0], (const struct iovec *)a[1], (int)a[2], (off_t)a[3]); return 1;
	case SYS_preadv2: *ret = preadv2((int)a[0], (const struct iovec *)a[1], (int)a[2], (off_t)a[3], (int)a[5]); return 1;
	case SYS_pwritev2: *ret = pwritev2((int)a[0], (const struct iovec *)a[1], (int)a[2], (off_t)a[3], (int)a[5]); return 1;
	case SYS_lseek: *ret = lseek((int)a[0], (off_t)a[1], (int)a[2]); return 1;
	case SYS_fstat: *ret = fstat((int)a[0], (struct stat *)a[1]); return 1;
	case SYS_newfstatat: *ret = fstatat((int)a[0], (const char *)a[1], (struct stat *)a[2], (int)a[3]); return 1;
	case SYS_statx: *ret = statx((int)a[0], (const char *)a[1], (int)a[2], (unsigned int)a[3], (struct statx *)a[4]); return 1;
	case SYS_ftruncate: *ret = ftruncate((int)a[0], (off_t)a[1]); return 1;
	case SYS_fallocate: *ret = fallocate((int)a[0], (int)a[1], (off_t)a[2], (off_t)a[3]); return 1;
#ifdef SYS_readlink
	case SYS_readlink: *ret = readlink((const char *)a[0], (char *)a[1], (size_t)a[2]); return 1;
#endif
	case SYS_readlinkat: *ret = readlinkat((int)a[0], (const char *)a[1], (char *)a[2], (size_t)a[3]); return 1;
#ifdef SYS_poll
	case SYS_poll: *ret = poll((struct pollfd *)a[0], (nfds_t)a[1], (int)a[2]); return 1;
#endif
	case SYS_ppoll: *ret = ppoll((struct pollfd *)a[0], (nfds_t)a[1], (const struct timespec *)a[2], (const sigset_t *)a[3]); return 1;
	case SYS_epoll_ctl: *ret = epoll_ctl((int)a[0], (int)a[1], (int)a[2], (struct epoll_event *)a[3]); return 1;
#ifdef SYS_epoll_wait
	case SYS_epoll_wait: *ret = epoll_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3]); return 1;
#endif
	case SYS_epoll_pwait: *ret = epoll_pwait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3], (const sigset_t *)a[4]); return 1;
	case SYS_sendmsg: *ret = sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]); return 1;
	case SYS_recvmsg: *ret = recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]); return 1;
	case SYS_mmap: *ret = (long)mmap((void *)a[0], (size_t)a[1], (int)a[2], (int)a[3], (int)a[4], (off_t)a[5]); return 1;
	case SYS_munmap: *ret = munmap((void *)a[0], (size_t)a[1]); return 1;
	case SYS_mremap: *ret = (long)mremap((void *)a[0], (size_t)a[1], (size_t)a[2], (int)a[3], (void *)a[4]); return 1;
	case SYS_mprotect: *ret = mprotect((void *)a[0], (size_t)a[1], (int)a[2]); return 1;
	case SYS_mseal: *ret = mseal((void *)a[0], (size_t)a[1], (unsigned long)a[2]); return 1;
	case SYS_madvise: *ret = madvise((void *)a[0], (size_t)a[1], (int)a[2]); return 1;
	case SYS_mlock: *ret = mlock((const void *)a[0], (size_t)a[1]); return 1;
	case SYS_mlock2: *ret = mlock2((const void *)a[0], (size_t)a[1], (unsigned int)a[2]); return 1;
	case SYS_munlock: *ret = munlock((const void *)a[0], (size_t)a[1]); return 1;
	case SYS_mlockall: *ret = mlockall((int)a[0]); return 1;
	case SYS_munlockall: *ret = munlockall(); return 1;
	case SYS_mincore: *ret = mincore((void *)a[0], (size_t)a[1], (unsigned char *)a[2]); return 1;
	case SYS_fstatfs: *ret = fstatfs((int)a[0], (struct statfs *)a[1]); return 1;
	case SYS_getdents64: *ret = getdents64((int)a[0], (void *)a[1], (size_t)(unsigned int)a[2]); return 1;
	case SYS_access: *ret = faccessat(AT_FDCWD, (const char *)a[0], (int)a[1], 0); return 1;
	case SYS_faccessat: *ret = faccessat((int)a[0], (const char *)a[1], (int)a[2], 0); return 1;
	case SYS_faccessat2: *ret = faccessat((int)a[0], (const char *)a[1], (int)a[2], (int)a[3]); return 1;
	case SYS_stat: *ret = stat((const char *)a[0], (struct stat *)a[1]); return 1;
	case SYS_lstat: *ret = lstat((const char *)a[0], (struct stat *)a[1]); return 1;
	case SYS_sendfile: *ret = sendfile((int)a[0], (int)a[1], (off_t *)a[2], (size_t)a[3]); return 1;
	case SYS_splice: *ret = splice((int)a[0], (loff_t *)a[1], (int)a[2], (loff_t *)a[3], (size_t)a[4], (unsigned int)a[5]); return 1;
	case SYS_tee: *ret = tee((int)a[0], (int)a[1], (size_t)a[2], (unsigned int)a[3]); return 1;
	/* (the system call answers the break it left, the old one when it refused) */
	case SYS_brk: *ret = a[0] && brk_model((uintptr_t)a[0]) < 0 ? (long)RS(SYS_brk, 0) : (long)RS(SYS_brk, a[0]); return 1;
	case SYS_wait4: *ret = wait4((pid_t)a[0], (int *)a[1], (int)a[2], (struct rusage *)a[3]); return 1;
	/* (the system calls themselves copy the limits, NULL too: EFAULT; glibc's wrappers pass NULL on) */
	case SYS_setrlimit: *ret = a[1] ? setrlimit((__rlimit_resource_t)a[0], (const struct rlimit *)a[1]) : real_syscall6(nr, a[0], a[1], 0, 0, 0, 0); return 1;
	case SYS_getrlimit: *ret = a[1] ? getrlimit((__rlimit_resource_t)a[0], (struct rlimit *)a[1]) : real_syscall6(nr, a[0], a[1], 0, 0, 0, 0); return 1;
	case SYS_prlimit64: *ret = prlimit((pid_t)a[0], (__rlimit_resource_t)a[1], (const struct rlimit *)a[2], (struct rlimit *)a[3]); return 1;
	case SYS_fchmod: *ret = fchmod((int)a[0], (mode_t)a[1]); return 1;
#ifdef SYS_fchown
	case SYS_fchown: *ret = fchown((int)a[0], (uid_t)a[1], (gid_t)a[2]); return 1;
#endif
	case SYS_fchownat: *ret = fchownat((int)a[0], (const char *)a[1], (uid_t)a[2], (gid_t)a[3], (int)a[4]); return 1;
	}
	return 0;
}

/*
 * RS(): the raw calls programs make for what has no libc wrapper in
 * their headers (capset, memfd_create), and those of what a wrapper here
 * follows (wrapped_raw()). The shim's own raw calls do not come here
 * (real_syscall6()).
 */
long syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	long ret;
	if (wrapped_raw(nr, a, &ret))
		return ret;
	if (connected()) {
		if (nr == SYS_capset)
			return capset((void *)a[0], (const void *)a[1]);
		if (nr == SYS_capget)
			return capget((void *)a[0], (void *)a[1]);
		if (nr == SYS_memfd_create)
			return memfd_create((const char *)a[0], (unsigned int)a[1]);
		/* a raw setid call changes only the calling thread, as the real one does */
		if (nr == SYS_setuid || nr == SYS_setreuid || nr == SYS_setresuid) {
			int kind = nr == SYS_setuid ? 0 : nr == SYS_setreuid ? 1 : 2;
			if (cred_model(kind, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2]) < 0)
				return -1;
			real_syscall6(nr, a[0], a[1], a[2], 0, 0, 0);
			return 0;
		}
		if (nr == SYS_prctl && (a[0] == 8 /* PR_SET_KEEPCAPS */ || a[0] == PR_SET_THP_DISABLE || a[0] == PR_GET_THP_DISABLE))
			return prctl((int)a[0], a[1], a[2], a[3], a[4]);
		if (nr == SYS_prlimit64 && a[1] == RLIMIT_MEMLOCK && (a[2] || a[3]) && (a[0] == 0 || a[0] == getpid()))
			return prlimit(0, RLIMIT_MEMLOCK, (const struct rlimit *)a[2], (struct rlimit *)a[3]);
	}
	return real_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
