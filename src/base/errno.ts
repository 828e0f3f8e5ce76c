// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Linux x86-64 errno table (asm-generic/errno-base.h + errno.h) and the one
 * error type of the model.
 *
 * Inside the simulated kernel, failures travel the way they do in C: as a
 * negative errno returned from the function (`-EINVAL`). `ErrnoError` is what
 * the typed client layer throws when a syscall answers with one.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTBLK = 15;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const EPIPE = 32;
export const EDOM = 33;
export const ERANGE = 34;
export const EDEADLK = 35;
/** x86 defines EDEADLOCK as an alias of EDEADLK. */
export const EDEADLOCK = 35;
export const ENAMETOOLONG = 36;
export const ENOLCK = 37;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const ENOMSG = 42;
export const EIDRM = 43;
/** Invalid exchange: the selftest's ACCESS_PAGES page-mismatch answer. */
export const EBADE = 52;
export const ENODATA = 61;
export const ETIME = 62;
export const EPROTO = 71;
export const EBADMSG = 74;
export const EOVERFLOW = 75;
export const EBADFD = 77;
export const EILSEQ = 84;
export const EMSGSIZE = 90;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENOBUFS = 105;
export const ETIMEDOUT = 110;
export const EALREADY = 114;
export const ESTALE = 116;
export const EREMOTEIO = 121;
export const EDQUOT = 122;
export const ECANCELED = 125;
export const EOWNERDEAD = 130;
export const ENOTRECOVERABLE = 131;
export const EHWPOISON = 133;
/** 7.x: wrong file type for the open (openat2()'s OPENAT2_REGULAR of a file that is not one). */
export const EFTYPE = 134;
/** Kernel-internal (never meant for user space, but some drivers leak it). */
export const ENOTSUPP = 524;

/** Every x86-64 errno number with its canonical name (aliases resolve to the first name). */
const NAMES: ReadonlyArray<readonly [number, string]> = [
  [1, 'EPERM'], [2, 'ENOENT'], [3, 'ESRCH'], [4, 'EINTR'], [5, 'EIO'], [6, 'ENXIO'],
  [7, 'E2BIG'], [8, 'ENOEXEC'], [9, 'EBADF'], [10, 'ECHILD'], [11, 'EAGAIN'], [12, 'ENOMEM'],
  [13, 'EACCES'], [14, 'EFAULT'], [15, 'ENOTBLK'], [16, 'EBUSY'], [17, 'EEXIST'], [18, 'EXDEV'],
  [19, 'ENODEV'], [20, 'ENOTDIR'], [21, 'EISDIR'], [22, 'EINVAL'], [23, 'ENFILE'], [24, 'EMFILE'],
  [25, 'ENOTTY'], [26, 'ETXTBSY'], [27, 'EFBIG'], [28, 'ENOSPC'], [29, 'ESPIPE'], [30, 'EROFS'],
  [31, 'EMLINK'], [32, 'EPIPE'], [33, 'EDOM'], [34, 'ERANGE'], [35, 'EDEADLK'],
  [36, 'ENAMETOOLONG'], [37, 'ENOLCK'], [38, 'ENOSYS'], [39, 'ENOTEMPTY'], [40, 'ELOOP'],
  [42, 'ENOMSG'], [43, 'EIDRM'], [44, 'ECHRNG'], [45, 'EL2NSYNC'], [46, 'EL3HLT'],
  [47, 'EL3RST'], [48, 'ELNRNG'], [49, 'EUNATCH'], [50, 'ENOCSI'], [51, 'EL2HLT'], [52, 'EBADE'],
  [53, 'EBADR'], [54, 'EXFULL'], [55, 'ENOANO'], [56, 'EBADRQC'], [57, 'EBADSLT'], [59, 'EBFONT'],
  [60, 'ENOSTR'], [61, 'ENODATA'], [62, 'ETIME'], [63, 'ENOSR'], [64, 'ENONET'], [65, 'ENOPKG'],
  [66, 'EREMOTE'], [67, 'ENOLINK'], [68, 'EADV'], [69, 'ESRMNT'], [70, 'ECOMM'], [71, 'EPROTO'],
  [72, 'EMULTIHOP'], [73, 'EDOTDOT'], [74, 'EBADMSG'], [75, 'EOVERFLOW'], [76, 'ENOTUNIQ'],
  [77, 'EBADFD'], [78, 'EREMCHG'], [79, 'ELIBACC'], [80, 'ELIBBAD'], [81, 'ELIBSCN'],
  [82, 'ELIBMAX'], [83, 'ELIBEXEC'], [84, 'EILSEQ'], [85, 'ERESTART'], [86, 'ESTRPIPE'],
  [87, 'EUSERS'], [88, 'ENOTSOCK'], [89, 'EDESTADDRREQ'], [90, 'EMSGSIZE'], [91, 'EPROTOTYPE'],
  [92, 'ENOPROTOOPT'], [93, 'EPROTONOSUPPORT'], [94, 'ESOCKTNOSUPPORT'], [95, 'EOPNOTSUPP'],
  [96, 'EPFNOSUPPORT'], [97, 'EAFNOSUPPORT'], [98, 'EADDRINUSE'], [99, 'EADDRNOTAVAIL'],
  [100, 'ENETDOWN'], [101, 'ENETUNREACH'], [102, 'ENETRESET'], [103, 'ECONNABORTED'],
  [104, 'ECONNRESET'], [105, 'ENOBUFS'], [106, 'EISCONN'], [107, 'ENOTCONN'], [108, 'ESHUTDOWN'],
  [109, 'ETOOMANYREFS'], [110, 'ETIMEDOUT'], [111, 'ECONNREFUSED'], [112, 'EHOSTDOWN'],
  [113, 'EHOSTUNREACH'], [114, 'EALREADY'], [115, 'EINPROGRESS'], [116, 'ESTALE'],
  [117, 'EUCLEAN'], [118, 'ENOTNAM'], [119, 'ENAVAIL'], [120, 'EISNAM'], [121, 'EREMOTEIO'],
  [122, 'EDQUOT'], [123, 'ENOMEDIUM'], [124, 'EMEDIUMTYPE'], [125, 'ECANCELED'], [126, 'ENOKEY'],
  [127, 'EKEYEXPIRED'], [128, 'EKEYREVOKED'], [129, 'EKEYREJECTED'], [130, 'EOWNERDEAD'],
  [131, 'ENOTRECOVERABLE'], [132, 'ERFKILL'], [133, 'EHWPOISON'], [134, 'EFTYPE'], [524, 'ENOTSUPP'],
];

const byNumber = new Map<number, string>(NAMES);
const byName = new Map<string, number>(NAMES.map(([n, s]) => [s, n]));
byName.set('EWOULDBLOCK', EAGAIN);
byName.set('EDEADLOCK', EDEADLK);

/** Name of an errno number (positive or negative); `E<n>` if unknown. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return byNumber.get(n) ?? `E${n}`;
}

/** Number of an errno name, or undefined. Accepts aliases (EWOULDBLOCK, EDEADLOCK). */
export function errnoNumber(name: string): number | undefined {
  return byName.get(name);
}

/** True if `n` is a valid errno number on x86-64 (what a syscall may return negated). */
export function isErrno(n: number): boolean {
  return byNumber.has(n);
}

/** All errno numbers with names, for tables and the CLI. */
export function allErrnos(): ReadonlyArray<readonly [number, string]> {
  return NAMES;
}

/** The error the client layer throws when a call returns -errno. */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(errno: number, what?: string) {
    const n = Math.abs(errno);
    const code = errnoName(n);
    super(what ? `${what}: ${code} (${n})` : `${code} (${n})`);
    this.name = 'ErrnoError';
    this.errno = n;
    this.code = code;
  }
}
