/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd-sim bridge wire protocol (shim <-> server). Little-endian, fixed
 * headers; keep in sync with protocol.ts. Requests of every process go into
 * one FIFO (<sock>.q), each with one write of at most PIPE_BUF bytes, and then
 * a bump of the doorbell (<sock>.b, a shared page) that a waiting-awake server
 * watches; replies land in the process's own channel page (<sock>.d/m<pid>,
 * shared memory) and, when the shim sleeps or a reply is too big for the page,
 * on its own FIFO (<sock>.d/r<pid>); the unix socket <sock> only carries the
 * connection id once, so the server sees the process go.
 */
#ifndef IOMMUFD_SIM_PROTOCOL_H
#define IOMMUFD_SIM_PROTOCOL_H
#include <stdint.h>

struct bridge_req {
	uint32_t op;
	uint32_t slen; /* bytes of string payload following the header */
	int64_t a[6];
	uint32_t tid; /* the calling thread (fail-nth is per task) */
	uint32_t conn; /* the connection id HELLO returned (0 in HELLO) */
};

#define REQ_MAX 4096 /* PIPE_BUF: one atomic write into the shared FIFO */
#define REQ_NOREPLY 0x10000 /* op flag: no reply is sent (the FIFO keeps the order) */
#define REQ_SLEEPER 0x20000 /* op flag: the shim sleeps on its FIFO for this reply at once (no OP_SLEEP follows) */
#define NEWFD_KEEP_ON_EXEC 0x100000 /* IOCTL reply b0 bit: the new descriptor is not close-on-exec */
#define HELLO_HUGETLB_HINT_DOWN 1 /* HELLO's result bit: a MAP_HUGETLB hint is aligned down (x86 before 6.13) */
#define HELLO_OPEN_EMPTYPATH 2 /* HELLO's result bit: O_EMPTYPATH is an open flag (7.x) */

struct bridge_rep {
	int64_t ret; /* >= 0 result, < 0 -errno */
	int64_t b[2];
	uint32_t slen;
	uint32_t spin_us; /* how long to wait awake for the next reply (0: sleep in read at once) */
};

/*
 * The channel page(s) of one process: the server writes the reply at
 * CHAN_REPLY, then bumps seq by 2 (bit 0 set: this reply comes on the FIFO,
 * preceded by CHAN_MARK, as it is bigger than CHAN_SIZE - CHAN_REPLY). A shim
 * that stops waiting awake sends OP_SLEEP (no reply) with the seq it waits
 * past and sleeps in read() on its FIFO: the server, taking requests in
 * order, writes one CHAN_WAKE byte there at once if that seq has moved
 * already, or right after its next bump.
 */
struct bridge_chan {
	uint32_t seq;
};
#define CHAN_SIZE (128 * 1024)
#define CHAN_REPLY 64
#define CHAN_WAKE 'w'
#define CHAN_MARK 'R'
#define BELL_SIZE 4096 /* the doorbell page: a u32 every request bumps after its write */

/* OP_MMAP of a file the model does not know that refuses the mapping with errno E: fd MMAP_FD_REFUSED - E */
#define MMAP_FD_REFUSED (-4096)

enum bridge_op {
	OP_HELLO = 1,        /* a: pid, ppid, fork token, memlock cur, CapEff, uid; s: reply FIFO path NUL channel path
			      * -> ret: HELLO_* bits; b1: connection id; s: fds (on the FIFO) */
	OP_OPEN = 2,         /* s: path; a: flags, lowest free fd -> fd */
	OP_CLOSE = 3,        /* a: fd */
	OP_IOCTL = 4,        /* a: fd, cmd, arg, lowest free fd (-1: the command installs none), inline bytes n, uptr; s: the struct at arg (n bytes), then
			      * the user buffer at uptr (ACCESS_RW) -> ret; b0: new fd or -1; s: struct bytes written (b1),
			      * then user buffer bytes written */
	OP_MMAP = 5,         /* a: addr, len, prot, flags, fd, offset -> addr; fd: a model descriptor, -1 (anonymous),
			      * -2 (a file the model does not know: anonymous memory stands in) or MMAP_FD_REFUSED - E
			      * (such a file, whose own checks refuse the mapping with E: the model checks the address) */
	OP_MUNMAP = 6,       /* a: addr, len */
	OP_MPROTECT = 7,     /* a: addr, len, prot */
	OP_MADVISE = 8,      /* a: addr, len, advice */
	OP_MEMFD = 9,        /* s: name; a: flags, lowest free fd -> fd */
	OP_FTRUNCATE = 10,   /* a: fd, length */
	OP_FORK_PREPARE = 11,/* -> token */
	OP_FORK_DONE = 12,   /* a: token, child pid */
	OP_FORK_ABORT = 13,  /* a: token */
	OP_EXEC_PREPARE = 14,/* s: close-on-exec model fds, comma separated */
	OP_EXIT = 15,        /* a: status */
	OP_FILE_READ = 16,   /* s: path -> ret length; s: contents (a[2] = 1: only bytes [a[0], a[0] + a[1])) */
	OP_FILE_WRITE = 17,  /* s: path NUL data; a: the count written when more than the data sent (0: as sent) -> bytes taken */
	OP_SETRLIMIT = 18,   /* a: resource, cur, max, the real max now */
	OP_CAPSET = 19,      /* a: effective, permitted capability bits (none beyond the permitted ones) */
	OP_NOP = 20,         /* round-trip probe */
	OP_READ = 21,        /* a: fd, buf, count -> bytes */
	OP_WRITE = 22,       /* a: fd, buf, count -> bytes */
	OP_POLL = 23,        /* a: fd, events -> revents; a2 = 1: 1 when the file can be polled at all, else 0;
			      * a2 = 2: the file's wake-ups so far (edge-triggered epoll) */
	OP_CAPGET = 24,      /* a: 0 effective, 1 permitted -> capability bits */
	OP_DUP = 25,         /* a: fd, to: the model's dup3(fd, to) after the real one made `to` */
	OP_REAP = 27,        /* a: pid of a child the program reaped (it is gone, whatever it said) */
	OP_SLEEP = 28,       /* a: the channel seq the shim waits past; it sleeps on its FIFO (always REQ_NOREPLY) */
	OP_LSEEK = 29,       /* a: fd, offset, whence -> position */
	OP_PREAD = 30,       /* a: fd, buf, count, pos -> bytes */
	OP_PWRITE = 31,      /* a: fd, buf, count, pos -> bytes */
	OP_STAT = 32,        /* a: fd (-1: s is a path) -> 0; s: "mode major minor size blksize blocks ino own" (blocks -1: the real ones; ino 0: none; own 1: a pseudo file with an inode of its own) */
	OP_FCNTL = 33,       /* a: fd, cmd (F_GETFL or F_SETFL), arg -> the flags or 0 */
	OP_MLOCK = 34,       /* a: addr, len, mlock2 flags */
	OP_MUNLOCK = 35,     /* a: addr, len */
	OP_MLOCKALL = 36,    /* a: flags */
	OP_MUNLOCKALL = 37,
	OP_READV = 38,       /* a: fd, iovec array, count, pos, RWF flags, 1 when positional -> bytes */
	OP_WRITEV = 39,      /* as OP_READV */
	OP_SETATTR = 40,     /* a: fd, mode (fchmod) or uid, gid, 1 (fchown) */
	OP_MEMFD_SYNC = 41,  /* a: fd; s: "start end " byte ranges where the real memfd has pages (no reply) */
	OP_CRED = 42,        /* a: kind (0 setuid, 1 setreuid, 2 setresuid, 3 PR_SET_KEEPCAPS), its arguments */
	OP_SCM_OFFER = 43,   /* a: fd, st_dev, st_ino of the real file carrying it in SCM_RIGHTS -> token */
	OP_SCM_TAKE = 44,    /* a: fd received, st_dev, st_ino -> the kind installed there (0: none) */
	OP_SCM_CANCEL = 45,  /* a: token of an offer whose sendmsg failed */
	OP_PAGEMAP = 46,     /* a: position, count; s: "pagemap:PID" -> bytes; s: the entries */
	OP_FDPATH = 47,      /* a: fd -> length; s: what /proc/PID/fd/fd reads */
	OP_FILE_OPEN = 48,   /* s: a synthesized file's name; a: open flags, 1 if walked through /proc/self or /proc/thread-self -> 0 or -errno (ENOENT, EACCES) */
	OP_MINCORE = 49,     /* a: addr, len, vec -> 0 or -errno; the model writes the vector into the program's memory */
	OP_MREMAP = 50,      /* a: addr, old len, new len, flags, new addr, how (MREMAP_DO, _CHECK, _FOLLOW) -> addr or -errno */
	OP_FALLOCATE = 51,   /* a: fd, mode, offset, length -> 0 or -errno (then the real call on a real memfd) */
	OP_POPULATE = 52,    /* -> s: int64 triples (address, length, write) the model's GUP took from shared file mappings */
	OP_TMPFS_OPEN = 53,  /* a: flags, fd, size, mode, uid, 1 if the real file is on tmpfs; s: "DEV:INO PATH" ("-" unlinked) -> fd */
	OP_TMPFS_UNLINK = 54, /* s: "DEV:INO" of a /tmp file just unlinked; no reply */
	OP_TMPFS_TRUNCATE = 55, /* s: "DEV:INO" of a regular file an O_TRUNC open is about to empty -> 0 */
	OP_PIDFD_GETFD = 56, /* a: target's real pid, its fd, the new fd pidfd_getfd chose -> kind installed (0: none) */
	OP_MSEAL = 57,       /* a: addr, len, flags -> 0 or -errno (then the real call seals the real range too) */
	OP_PRLIMIT = 58,     /* a: real pid, 1 read only, cur, max, its real max, 1 if read -> 0 (s: old cur, max), -errno, PRLIMIT_NOT_MODEL */
	OP_OPENAT2 = 59,     /* a: how flags, low fd, how mode, how resolve, walk errno | OPENAT2_PLAIN, empty path's dirfd or -1 (OPENAT2_CHECK: check only); s: name -> fd, -errno */
	OP_FMODE = 60,       /* a: fd -> FMODE_READ 1 | FMODE_WRITE 2 | FMODE_PREAD 4, 8 for O_PATH, -EBADF */
	OP_GETDENTS = 61,    /* a: fd, buffer, count -> bytes or -errno; the model writes the records into the program's memory */
	OP_PROC_SELF_WALK = 62, /* a path walked through /proc/self or /proc/thread-self (the host opens it): one fail-nth site -> 0 */
	OP_FD_TWIN = 63,     /* a: fd -> the lowest other descriptor of this process on the same open file, or -1 */
};

/* OP_PRLIMIT's answer for a pid no process of the model has: the host answers */
#define PRLIMIT_NOT_MODEL 1
#define OPENAT2_PLAIN 0x10000
#define OPENAT2_CHECK (-2)

/* spin_us bit of a reply: the model's GUP took pages of this process's shared file mappings (ask OP_POPULATE) */
#define REP_POPULATE 0x80000000u
#define POPULATE_MAX 256

/* OP_MREMAP's a[5] */
enum { MREMAP_DO = 0, MREMAP_CHECK = 1, MREMAP_FOLLOW = 2 };

#endif
