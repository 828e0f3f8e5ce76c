// SPDX-License-Identifier: GPL-2.0-only
/**
 * The descriptors a process of the oracle's guest starts with: stdin is
 * /dev/null (the guest's /init runs every program `< /dev/null`), stdout and
 * stderr are the console the kernel opened for init (console_on_rootfs():
 * /dev/console, O_RDWR, one open file description behind both). A process
 * with the 'exec' layout gets them (Machine.spawn), so close(), ioctl(),
 * read(), write(), poll(), lseek(), mmap() and fstat() of descriptors 0-2
 * answer as the kernel's; the bridge's processes do not (their real
 * process's own descriptors stand there).
 *
 * - /dev/null (drivers/char/mem.c null_fops): read gives 0 bytes, write
 *   takes them all without reading them, llseek puts the position at 0 and
 *   returns 0, no ioctl (ENOTTY), no mmap (ENODEV), no poll (always ready);
 *   devtmpfs's node is crw-rw-rw- 1,3.
 * - The console (a serial tty, drivers/tty/tty_io.c): nonseekable
 *   (tty_open() → nonseekable_open(): lseek, pread and pwrite ESPIPE); write
 *   copies the buffer in chunks of 2048 bytes and counts only whole chunks
 *   before one that faults (iterate_tty_write()); FIONREAD (TIOCINQ) is the
 *   input waiting, none here; other iommufd-range ioctls end ENOTTY
 *   (n_tty_ioctl_helper() → ENOIOCTLCMD); poll is ready for writing
 *   (n_tty_poll(), the output drained); no mmap; crw------- 5,1.
 *
 * What the model does not do: a read of the console with no input sleeps in
 * n_tty_read() until a line comes, which never does in the VM (the program
 * is killed by the harness's timeout); the model cannot wait and answers
 * EAGAIN, as for an O_NONBLOCK description. The tty's own ioctls (TCGETS,
 * TIOCGWINSZ, ...) are not modelled: ENOTTY. poll always finds the output
 * drained: right after a large write the serial port may still hold more
 * than WAKEUP_CHARS, and the kernel then leaves POLLOUT out.
 */
import { EAGAIN, EFAULT, ENOTTY } from '../base/errno.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { type FileIo, type FileStat, O_RDONLY, O_RDWR, type OpenFile, POLLOUT, POLLWRNORM, S_IFCHR } from './device.js';
import type { Process } from './process.js';

/** TIOCINQ (FIONREAD). */
const TIOCINQ = 0x541b;
/** iterate_tty_write()'s chunk without TTY_NO_WRITE_SPLIT. */
const TTY_WRITE_CHUNK = 2048;

/** /dev/null as the guest's /init opens it for a program's stdin. */
export class NullFile implements OpenFile {
  readonly positional = true;
  readonly fmode = O_RDONLY;

  read(): number {
    return 0;
  }

  write(_proc: Process, _buf: bigint, count: number): number {
    return count;
  }

  llseek(): bigint {
    return 0n;
  }

  stat(): FileStat {
    return { mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3, size: 0n, blksize: PAGE_SIZE };
  }

  release(): void {}
}

/** /dev/console: the serial console the kernel opens for init, O_RDWR. */
export class ConsoleFile implements OpenFile {
  readonly fmode = O_RDWR;
  /** One chunk's bytes, read from the user buffer and dropped (the serial port's output is not kept). */
  private readonly chunk = new Uint8Array(TTY_WRITE_CHUNK);

  read(): number {
    return -EAGAIN;
  }

  write(proc: Process, buf: bigint, count: number, _io: FileIo): number {
    const chunk = Math.min(TTY_WRITE_CHUNK, count);
    let written = 0;
    while (written < count) {
      const n = Math.min(chunk, count - written);
      // copy_from_iter() of a whole chunk; one that comes short is dropped and ends the write
      if (proc.mm.readUser(buf + BigInt(written), this.chunk.subarray(0, n)) !== 0) return written > 0 ? written : -EFAULT;
      written += n;
    }
    return written;
  }

  ioctl(proc: Process, cmd: number, arg: bigint): number {
    if ((cmd >>> 0) !== TIOCINQ) return -ENOTTY;
    return proc.mm.writeUser(arg, new Uint8Array(4));
  }

  poll(): number {
    return POLLOUT | POLLWRNORM;
  }

  stat(): FileStat {
    return { mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1, size: 0n, blksize: PAGE_SIZE };
  }

  release(): void {}
}
