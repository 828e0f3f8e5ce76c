// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bridge's wire format (shim/protocol.h is the C side). Every process
 * writes its requests into one shared FIFO (`<sock>.q`), each with a single
 * write of at most PIPE_BUF bytes, so requests never interleave and are read
 * in the order they were made, across processes too; then it bumps the
 * doorbell (`<sock>.b`, a shared page) that a server waiting awake watches.
 * The server answers in the process's channel page (`<sock>.d/m<pid>`, shared
 * memory the shim maps and watches), waking a shim that said it sleeps with a
 * byte on its reply FIFO (`<sock>.d/r<pid>`); HELLO's reply, and one too big for the
 * page, travel on that FIFO. Both are made by the shim and named in HELLO.
 * The unix socket at `<sock>` only tells the server that a process is gone:
 * the shim writes its connection id there once and never reads it.
 *
 * A request is a 64-byte header (u32 op with flags, u32 string length, six
 * i64 arguments, u32 caller's thread id, u32 connection id) and a string; a
 * reply a 32-byte header (i64 result, two i64 extras, u32 string length, u32
 * spin) and a string. `spin` is how long (µs) the shim may wait awake for its
 * next reply. A request with REQ_NOREPLY gets no reply.
 */
export const REQ_HEADER = 64;
/**
 * The channel page of a process (shim/protocol.h struct bridge_chan): u32 seq
 * at 0 (bumped by 2 per reply; bit 0: this one is on the FIFO after
 * CHAN_MARK), the reply at CHAN_REPLY. A shim that stops waiting awake says
 * OP.SLEEP and gets one CHAN_WAKE byte on its FIFO once seq has moved.
 */
export const CHAN_SIZE = 128 * 1024;
export const CHAN_REPLY = 64;
export const CHAN_WAKE = 0x77;
export const CHAN_MARK = 0x52;
/** The doorbell page (`<sock>.b`): a u32 every shim bumps after writing a request into the FIFO. */
export const BELL_SIZE = 4096;
export const REP_HEADER = 32;
/** Largest request: one atomic write into the shared FIFO (PIPE_BUF). */
export const REQ_MAX = 4096;
/** Flag in the op word: the shim does not wait for an answer (the FIFO keeps the order). */
export const REQ_NOREPLY = 0x10000;
/** Flag in the op word: the shim will not wait awake for this reply; wake it with the reply (as after OP.SLEEP). */
export const REQ_SLEEPER = 0x20000;
/** HELLO's result, a bit set of what the simulated kernel does that the shim follows: a MAP_HUGETLB hint is aligned down (x86 before 6.13). */
export const HELLO_HUGETLB_HINT_DOWN = 1;
/** HELLO's result bit: O_EMPTYPATH is an open flag (7.x): an empty path opens the directory descriptor's own file. */
export const HELLO_OPEN_EMPTYPATH = 2;
export const OP_MASK = 0xffff;
/** OP_MMAP's fd for a file the model does not know (anonymous memory stands in). */
export const MMAP_FD_FOREIGN = -2;
/** OP_MMAP's fd MMAP_FD_REFUSED - E: such a file, whose own checks refuse the mapping with errno E. */
export const MMAP_FD_REFUSED = -4096;

export const OP = {
  HELLO: 1,
  OPEN: 2,
  CLOSE: 3,
  IOCTL: 4,
  MMAP: 5,
  MUNMAP: 6,
  MPROTECT: 7,
  MADVISE: 8,
  MEMFD: 9,
  FTRUNCATE: 10,
  FORK_PREPARE: 11,
  FORK_DONE: 12,
  FORK_ABORT: 13,
  EXEC_PREPARE: 14,
  EXIT: 15,
  FILE_READ: 16,
  /** A write of a synthesized file (s: name NUL data; a: the count written when more than the data sent) -> bytes taken. */
  FILE_WRITE: 17,
  SETRLIMIT: 18,
  CAPSET: 19,
  NOP: 20,
  READ: 21,
  WRITE: 22,
  /** a: fd, events -> revents; with a[2] = 1: whether the file can be polled at all (1/0, for epoll_ctl); a[2] = 2: its wake-ups so far (edge-triggered epoll). */
  POLL: 23,
  CAPGET: 24,
  DUP: 25,
  /** Server-internal: the main thread's wake-up to serve its event loop (never sent by the shim). */
  TICK: 26,
  REAP: 27,
  /** The shim sleeps on its FIFO until the channel's seq moves past a[0] (no reply: one wake-up byte). */
  SLEEP: 28,
  LSEEK: 29,
  PREAD: 30,
  PWRITE: 31,
  /**
   * fstat of a model descriptor (a[0]) or stat of a model path (a[0] = -1, s): "mode major minor size
   * blksize blocks ino own", blocks -1 where the real file's count stands, ino 0 for a file without a node's
   * number, own 1 for a pseudo file with an inode of its own (a dma-buf) rather than the shared anon inode.
   */
  STAT: 32,
  /** fcntl F_GETFL / F_SETFL of a model descriptor (a: fd, cmd, arg): the file's f_flags live in the model. */
  FCNTL: 33,
  MLOCK: 34,
  MUNLOCK: 35,
  MLOCKALL: 36,
  MUNLOCKALL: 37,
  /** readv/preadv/preadv2 of a model descriptor (a: fd, iovec array, count, position, RWF flags, 1 when positional). */
  READV: 38,
  /** writev/pwritev/pwritev2, as READV. */
  WRITEV: 39,
  /** fchmod (a: fd, mode, 0) or fchown (a: fd, uid, gid, 1) of a model descriptor: never the placeholder's /dev/null. */
  SETATTR: 40,
  /**
   * Before the model answers for a memfd (a: fd; s: "start end " byte ranges,
   * SEEK_DATA/SEEK_HOLE of the real file): the pages the program's own CPU
   * faulted in through its mappings, which only the real file's page cache
   * saw, join the model's. No reply.
   */
  MEMFD_SYNC: 41,
  /**
   * A credential change, the model's answer first (a: kind, then its arguments): 0 setuid(a1),
   * 1 setreuid(a1, a2), 2 setresuid(a1, a2, a3) ((uid_t)-1 keeps one), 3 prctl(PR_SET_KEEPCAPS, a1),
   * 4 prctl(PR_SET_THP_DISABLE, a1, a2, a3, a4), 5 prctl(PR_GET_THP_DISABLE, a1, a2, a3, a4) (its value).
   */
  CRED: 42,
  /**
   * A model descriptor about to travel in an SCM_RIGHTS message (a: fd, then the device and inode of the real
   * file that carries it: the memfd itself, or a courier memfd standing in for a model-only file) -> a token.
   */
  SCM_OFFER: 43,
  /** A descriptor an SCM_RIGHTS message brought (a: fd, device, inode) -> the kind the model installed there, 0 none. */
  SCM_TAKE: 44,
  /** The sendmsg failed: the offer (a: token) is dropped. */
  SCM_CANCEL: 45,
  /** A read of /proc/PID/pagemap (a: position, count; s: the special file's name) -> bytes; s: the entries. */
  PAGEMAP: 46,
  /** What /proc/PID/fd/N reads for a model descriptor (a: fd) -> length; s: the path. */
  FDPATH: 47,
  /**
   * Opening a synthesized file (s: its name; a: open flags, 1 if the name was walked through /proc/self or
   * /proc/thread-self): 0, or the errno the real open gives (ENOENT, EACCES).
   */
  FILE_OPEN: 48,
  /** mincore(2) (a: addr, len, vec) -> 0 or -errno: the model writes the vector into the program's memory. */
  MINCORE: 49,
  /**
   * mremap(2) (a: addr, old length, new length, flags, new address, how): how 0, the model moves it
   * (MREMAP_FIXED: the address is the program's); 1, the model checks it and changes nothing (0 or
   * -errno), before the real call places it; 2, the model follows the real call, whose range is now at
   * the new address.
   */
  MREMAP: 50,
  /** fallocate(2) of a model memfd (a: fd, mode, offset, length) -> 0 or -errno; the shim then makes the real call on the real memfd. */
  FALLOCATE: 51,
  /**
   * The ranges the model's GUP took from shared file mappings of this process since it last asked (a
   * reply's REP_POPULATE said there are some) -> s: int64 triples (address, length, 1 for writing), at
   * most POPULATE_MAX; the shim has the real page tables fault them the same way (MADV_POPULATE_READ or
   * _WRITE), as the kernel's GUP would have.
   */
  POPULATE: 52,
  /**
   * A regular file of the tmpfs on /tmp the real open just opened (a: open flags, its descriptor, size,
   * mode, owner, 1 when the real file is on a tmpfs too; s: "DEV:INO PATH", DEV:INO "-" for an unlinked
   * one) -> the model's descriptor there (Process.openTmpfs()), or -errno.
   */
  TMPFS_OPEN: 53,
  /** The real unlink of a tmpfs file succeeded (s: "DEV:INO"): the model's inode loses its name. No reply. */
  TMPFS_UNLINK: 54,
  /**
   * An O_TRUNC open of a regular file is next (s: "DEV:INO" of what the path names now): if the model holds
   * that tmpfs inode, its pinned pages take their bytes from the real file first (the pins keep them).
   */
  TMPFS_TRUNCATE: 55,
  /**
   * pidfd_getfd(2) succeeded (a: the target's real pid, its descriptor, the new one): a model file there is
   * the caller's too, at the new number -> the kind installed (0: not a model file, the real one stands).
   */
  PIDFD_GETFD: 56,
  /** mseal(2) (a: addr, len, flags): the model answers; on success the shim seals the real range too. */
  MSEAL: 57,
  /**
   * prlimit(2) of RLIMIT_MEMLOCK of another process (a: its real pid, 1 to read only, the soft and the hard
   * limit to set, its real hard limit and 1 when the caller could read it) -> 0 with s the 16 bytes of the
   * limits it had, -errno, or PRLIMIT_NOT_MODEL: no process of the model has that pid, the host's answer stands.
   */
  PRLIMIT: 58,
  /**
   * openat2(2), or open()/openat() with an empty path, of a model node (a: open_how's flags, the lowest free
   * descriptor, its mode, its resolve, the walk's errno | OPENAT2_PLAIN, the directory descriptor of an
   * empty path or -1; s: the node's name, resolved by the shim, or "") -> the fd or -errno. With a[5]
   * OPENAT2_CHECK, only the open_how is checked (the path cannot be read): 0 or -errno.
   */
  OPENAT2: 59,
  /** The splice family's f_mode checks of a model descriptor (a: fd) -> its bits (Process.spliceModes) or -EBADF. */
  FMODE: 60,
  /** getdents64(2) of a model descriptor (a: fd, buffer, count) -> bytes written or -errno (Process.getdents64). */
  GETDENTS: 61,
  /**
   * A path the program walked through /proc/self or /proc/thread-self, opened by the host: the link's
   * GFP_ATOMIC allocation takes one from the caller's fail-nth (a FILE_OPEN says so in its a[1]) -> 0.
   */
  PROC_SELF_WALK: 62,
  /** Another descriptor of this process on the same open file as a[0] (the lowest), or -1: where an epoll registration moves at a close. */
  FD_TWIN: 63,
} as const;

/** OP.OPENAT2's a[4] bit: the flags are open()'s (build_open_how() drops unknown bits), not openat2()'s. */
export const OPENAT2_PLAIN = 0x10000;
/** OP.OPENAT2's a[5]: check the open_how only. */
export const OPENAT2_CHECK = -2;

/** OP.PRLIMIT's answer for a pid no process of the model has (the shim makes the real call). */
export const PRLIMIT_NOT_MODEL = 1;

/** In a reply's spin_us: the model's GUP took pages of shared file mappings of this process (ask OP.POPULATE). */
export const REP_POPULATE = 0x8000_0000;
/** Ranges one OP.POPULATE reply carries. */
export const POPULATE_MAX = 256;

/** OP.MREMAP's a[5]. */
export const MREMAP_DO = 0;
export const MREMAP_CHECK = 1;
export const MREMAP_FOLLOW = 2;

/** Kinds of descriptor the shim tracks (K_MODEL, K_BOTH in shim.c). */
export const FD_MODEL = 1;
export const FD_BOTH = 3;
/** In an IOCTL reply's b0 (the descriptor the model installed): it is not close-on-exec (a dma-buf exported without O_CLOEXEC). */
export const NEWFD_KEEP_ON_EXEC = 0x100000;

/** Exit status of a program whose bridge server went away (shim.c BRIDGE_LOST_STATUS). */
export const BRIDGE_LOST_STATUS = 125;

export interface Request {
  op: number;
  /** REQ_NOREPLY, REQ_SLEEPER or 0. */
  flags: number;
  a: bigint[];
  /** The calling thread's id (0 when not known). */
  tid: number;
  /** The connection id HELLO gave the process (0 in HELLO). */
  conn: number;
  s: Buffer;
}

export interface Reply {
  ret: bigint | number;
  b0?: number;
  b1?: number;
  s?: string | Uint8Array;
}

/**
 * The request at buf[off..end), or undefined when it is not complete yet.
 * The string is a copy only when `copy` (the caller reuses `buf`).
 */
export function parseRequest(buf: Buffer, off: number, end: number, copy = false): Request | undefined {
  if (end - off < REQ_HEADER) return undefined;
  const slen = buf.readUInt32LE(off + 4);
  if (end - off < REQ_HEADER + slen) return undefined;
  const a: bigint[] = new Array(6);
  for (let i = 0; i < 6; i++) a[i] = readI64(buf, off + 8 + 8 * i);
  const word = buf.readUInt32LE(off);
  const s = buf.subarray(off + REQ_HEADER, off + REQ_HEADER + slen);
  return { op: word & OP_MASK, flags: word & ~OP_MASK, a, tid: buf.readUInt32LE(off + 56), conn: buf.readUInt32LE(off + 60), s: copy ? Buffer.from(s) : s };
}

/** Split complete requests off the front of `buf`; returns them and the rest. */
export function parseRequests(buf: Buffer): { reqs: Request[]; rest: Buffer } {
  const reqs: Request[] = [];
  let off = 0;
  for (;;) {
    const q = parseRequest(buf, off, buf.length);
    if (q === undefined) break;
    reqs.push(q);
    off += REQ_HEADER + q.s.length;
  }
  return { reqs, rest: off === buf.length ? Buffer.alloc(0) : buf.subarray(off) };
}

/** A little-endian i64 (a BigInt built from a number when it is a safe integer: readBigInt64LE costs several times more). */
function readI64(buf: Buffer, off: number): bigint {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readInt32LE(off + 4);
  if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 0x100000000 + lo);
  return buf.readBigInt64LE(off);
}

/** Write `v` as a little-endian i64 (numbers must be safe integers). */
function writeI64(buf: Buffer, off: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    buf.writeBigInt64LE(BigInt.asIntN(64, v), off);
    return;
  }
  const hi = Math.floor(v / 0x100000000);
  buf.writeUInt32LE(v - hi * 0x100000000, off);
  buf.writeInt32LE(hi, off + 4);
}

const EMPTY = Buffer.alloc(0);
/** Replies are written at once and never kept: one buffer serves them all (grown when a reply is larger). */
let repBuf = Buffer.allocUnsafe(16 * 1024);

/** The reply's bytes; valid until the next call (copy them to keep them). */
export function encodeReply(r: Reply, spinUs = 0): Buffer {
  const s = r.s === undefined ? EMPTY : typeof r.s === 'string' ? Buffer.from(r.s) : r.s;
  const len = REP_HEADER + s.length;
  if (len > repBuf.length) repBuf = Buffer.allocUnsafe(Math.max(len, repBuf.length * 2));
  const out = repBuf;
  writeI64(out, 0, r.ret);
  writeI64(out, 8, r.b0 ?? -1);
  writeI64(out, 16, r.b1 ?? 0);
  out.writeUInt32LE(s.length, 24);
  out.writeUInt32LE(spinUs >>> 0, 28);
  out.set(s, REP_HEADER);
  return out.subarray(0, len);
}

/** A request's string argument up to its NUL. */
export function cstr(s: Buffer): string {
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString();
}
