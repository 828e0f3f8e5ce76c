// SPDX-License-Identifier: GPL-2.0-only
/**
 * File I/O ops: read/pread, write/pwrite, lseek and fstat of a descriptor,
 * mostly a memfd (its page cache: holes, i_size, f_pos, the pages an
 * IOAS_MAP_FILE pins), sometimes an iommufd file (what their missing read,
 * write and llseek answer).
 */
import type { Call } from '../program.js';
import { req, u64, fileFd } from './spec.js';
import type { GenCtx, OpModule, Outputs } from './types.js';
import { K4, M2, interestingLength, num, pickW } from './values.js';

const LLONG_MAX = (1n << 63n) - 1n;

/** A byte count as Process.read/write take it: beyond what a double holds exactly is past any buffer (access_ok fails) anyway. */
function count(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** The file a call works on: a memfd most of the time, else another descriptor or a bad one. */
function pickFd(g: GenCtx): number | string {
  const rng = g.rng;
  const memfds = g.ofKind('memfd');
  if (memfds.length > 0 && rng.bool(0.85)) return rng.pick(memfds).name;
  const fds = g.ofKind('iommufd', 'access', 'fault').map((r) => r.fd ?? r.name);
  return fds.length > 0 && rng.bool(0.7) ? rng.pick(fds) : rng.pick([-1, 0, 99]);
}

/** A file position: the start, a page in, past 2 MiB, or next to the largest (LLONG_MAX, where rw_verify_area() and the write limit act). */
function position(g: GenCtx): bigint {
  const rng = g.rng;
  return pickW<bigint>(rng, [
    [3, 0n],
    [3, BigInt(rng.int(1, 3)) * K4 + BigInt(rng.pick([0, 0, 1, 100]))],
    [1, M2 - BigInt(rng.int(0, 2))],
    [1, LLONG_MAX - BigInt(rng.int(0, 4097))],
    [1, (1n << 64n) - BigInt(rng.int(1, 4096))],
  ]);
}

/** read/write: a buffer address (often a mapped one), a length fitting it, and a position or none (f_pos). */
function ioCall(g: GenCtx, c: Call): Call {
  const rng = g.rng;
  c.fd = pickFd(g);
  const a = g.addr();
  c.addr = a.expr;
  c.count = num(interestingLength(rng, a.room));
  if (rng.bool(0.6)) c.offset = num(position(g));
  g.maybeProc(c);
  return c;
}

/** file_read / file_write: read(2) and pread(2), or write(2) and pwrite(2), one module shape for both directions. */
function ioOp(write: boolean): OpModule {
  const [verb, buf, ptr] = write ? ['write', 'source', 'const void *'] : ['read', 'destination', 'void *'];
  return {
    name: `file_${verb}`,
    spec: {
      doc: `${verb}(2) of \`count\` bytes ${write ? 'from' : 'into'} \`addr\`, or p${verb}(2) at \`offset\` when given; the return is the bytes ${write ? 'written' : 'read'}`,
      group: 'mm',
      fields: {
        fd: fileFd('file'),
        addr: req(u64(buf, { handle: 'addr' })),
        count: req(u64(`bytes to ${verb}`)),
        offset: u64(`file position (p${verb}); absent: ${verb} at f_pos`),
      },
      outputs: {},
    },
    weight: 0.15,
    execute(x) {
      const fd = x.s32('fd');
      const n = count(x.v('count'));
      const p = x.proc;
      if (x.has('offset')) return { ret: write ? p.pwrite(fd, x.v('addr'), n, x.v('offset')) : p.pread(fd, x.v('addr'), n, x.v('offset')), outputs: {} };
      return { ret: write ? p.write(fd, x.v('addr'), n) : p.read(fd, x.v('addr'), n), outputs: {} };
    },
    generate: ioCall,
    emitC(e) {
      const { v } = e;
      const args = `(int)${v('fd')}, (${ptr})(uintptr_t)${v('addr')}, (size_t)${v('count')}`;
      e.L(e.has('offset') ? `rc = sys_rc(p${verb}(${args}, (off_t)${v('offset')}));` : `rc = sys_rc(${verb}(${args}));`);
    },
  };
}

export const file_read = ioOp(false);
export const file_write = ioOp(true);

export const lseek: OpModule = {
  name: 'lseek',
  spec: {
    doc: 'lseek(2); the return is the new position',
    group: 'mm',
    fields: {
      fd: fileFd('file'),
      offset: req(u64('offset (a loff_t)')),
      whence: { kind: 'int', width: 's32', default: 0, doc: 'SEEK_SET 0, SEEK_CUR 1, SEEK_END 2, SEEK_DATA 3, SEEK_HOLE 4' },
    },
    outputs: {},
  },
  weight: 0.1,
  execute: (x) => ({ ret: x.proc.lseek(x.s32('fd'), x.v('offset'), x.s32('whence')), outputs: {} }),
  generate(g, c) {
    c.fd = pickFd(g);
    c.offset = num(position(g));
    c.whence = g.rng.int(0, 5);
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    const { L, v } = e;
    L(`off_t o = lseek((int)${v('fd')}, (off_t)${v('offset')}, (int)${v('whence')});`);
    L('');
    L('rc = o < 0 ? -errno : (long)o;');
  },
};

export const fstat: OpModule = {
  name: 'fstat',
  spec: {
    doc: 'fstat(2); outputs `size` (st_size) and `mode` (st_mode)',
    group: 'mm',
    fields: { fd: fileFd('file') },
    outputs: { size: 'value', mode: 'value' },
  },
  weight: 0.1,
  execute(x) {
    const st = x.proc.fstat(x.s32('fd'));
    const outputs: Outputs = {};
    if (typeof st === 'number') return { ret: st, outputs };
    outputs.size = BigInt.asUintN(64, st.size);
    outputs.mode = st.mode;
    return { ret: 0, outputs };
  },
  generate(g, c) {
    c.fd = pickFd(g);
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    e.L('struct stat st;');
    e.L('');
    e.L('memset(&st, 0, sizeof(st));');
    e.L(`rc = sys_rc(fstat((int)${e.v('fd')}, &st));`);
    e.outs.size = '(uint64_t)st.st_size';
    e.outs.mode = '(uint64_t)st.st_mode';
  },
};

export const FILE_IO_OPS: readonly OpModule[] = [file_read, file_write, lseek, fstat];
