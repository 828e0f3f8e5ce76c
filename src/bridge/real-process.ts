// SPDX-License-Identifier: GPL-2.0-only
/**
 * A real process seen from the bridge: its memory through /proc/PID/mem and
 * its mappings from /proc/PID/maps. Everything here is synchronous: the
 * model's page walk calls it in the middle of a system call.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

export interface RealMapping {
  start: number;
  end: number;
  prot: number;
  shared: boolean;
  /** '[stack]', a path, or '' for anonymous memory. */
  name: string;
}

const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;

/** Parse /proc/PID/maps text. */
export function parseMaps(text: string): RealMapping[] {
  const out: RealMapping[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][sp])\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
    if (m === null) continue;
    const perms = m[3];
    out.push({
      start: Number.parseInt(m[1], 16),
      end: Number.parseInt(m[2], 16),
      prot: (perms[0] === 'r' ? PROT_READ : 0) | (perms[1] === 'w' ? PROT_WRITE : 0) | (perms[2] === 'x' ? PROT_EXEC : 0),
      shared: perms[3] === 's',
      name: m[4],
    });
  }
  return out;
}

export class RealProcess {
  readonly pid: number;
  private memFd: number;

  constructor(pid: number) {
    this.pid = pid;
    this.memFd = openSync(`/proc/${pid}/mem`, 'r+');
  }

  /**
   * Bytes of the process's memory sent with the current request (the ioctl
   * struct, and for some commands the user buffer it points to), each with
   * how far from its start the model wrote into it (0: nothing written).
   */
  private inline: { va: number; bytes: Uint8Array; dirty: number }[] = [];

  /** The current request carries these regions of the process's memory; reads and writes there stay here. */
  setInline(regions: { va: number; bytes: Uint8Array }[]): void {
    this.inline = regions.map((r) => ({ va: r.va, bytes: r.bytes, dirty: 0 }));
  }

  /** For each inline region, the part the model wrote (from its start: to copy back into the process), or undefined. */
  takeInlineWrites(): (Uint8Array | undefined)[] {
    const out = this.inline.map((r) => (r.dirty > 0 ? r.bytes.subarray(0, r.dirty) : undefined));
    this.inline = [];
    return out;
  }

  /** Move bytes between the process's memory at `va` and buf[off..off+len); false on failure. */
  copy(va: number, buf: Uint8Array, off: number, len: number, write: boolean): boolean {
    for (const r of this.inline) {
      const lo = Math.max(va, r.va);
      const hi = Math.min(va + len, r.va + r.bytes.length);
      if (lo >= hi) continue;
      // the part inside the inline bytes stays in memory; the rest goes to the other regions or /proc/PID/mem
      if (lo > va && !this.copy(va, buf, off, lo - va, write)) return false;
      const io = lo - r.va;
      const bo = off + (lo - va);
      if (write) {
        r.bytes.set(buf.subarray(bo, bo + (hi - lo)), io);
        r.dirty = Math.max(r.dirty, io + (hi - lo));
      } else buf.set(r.bytes.subarray(io, io + (hi - lo)), bo);
      return hi >= va + len || this.copy(hi, buf, off + (hi - va), va + len - hi, write);
    }
    if (this.memFd < 0) return false;
    try {
      let done = 0;
      while (done < len) {
        const n = write ? writeSync(this.memFd, buf, off + done, len - done, va + done) : readSync(this.memFd, buf, off + done, len - done, va + done);
        if (n <= 0) return false;
        done += n;
      }
      return true;
    } catch {
      return false;
    }
  }

  maps(): RealMapping[] {
    return parseMaps(this.mapsText());
  }

  /** /proc/PID/status text ('' when the process is gone). */
  status(): string {
    try {
      return readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return '';
    }
  }

  /** /proc/PID/fdinfo/FD of the real process ('' when it is gone). */
  fdinfo(fd: number): string {
    try {
      return readFileSync(`/proc/${this.pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      return '';
    }
  }

  /** /proc/PID/maps of the real process as text ('' when it is gone). */
  mapsText(): string {
    try {
      return readFileSync(`/proc/${this.pid}/maps`, 'utf8');
    } catch {
      return '';
    }
  }

  /** /proc/PID/smaps of the real process ('' when it is gone). */
  smaps(): string {
    try {
      return readFileSync(`/proc/${this.pid}/smaps`, 'utf8');
    } catch {
      return '';
    }
  }

  smapsRollup(): string {
    try {
      return readFileSync(`/proc/${this.pid}/smaps_rollup`, 'utf8');
    } catch {
      return '';
    }
  }

  close(): void {
    if (this.memFd >= 0) closeSync(this.memFd);
    this.memFd = -1;
  }
}
