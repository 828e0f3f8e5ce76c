// SPDX-License-Identifier: GPL-2.0-only
/** Memory ops: mmap, munmap, mprotect, madvise, mlock, mincore, the process's own reads and writes, memfd. */
import { F_ADD_SEALS, F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_WRITE_ZEROES, FALLOC_FL_ZERO_RANGE, MADV_HUGEPAGE, MLOCK_ONFAULT } from '../../mm/constants.js';
import type { Call } from '../program.js';
import { MADV_ADVICE, MAP_FLAGS, MFD_FLAGS, MREMAP_FLAGS, PROT_FLAGS, cBytes, enumField, flags, parseHex, req, toHex, u64, fileFd } from './spec.js';
import type { GenCtx, OpModule, Outputs } from './types.js';
import { K2, K4, M2, interestingLength, literal as literalLen, num, pickW, shift } from './values.js';

/** read_memory reports `data` up to this many bytes. */
const DATA_OUTPUT_MAX = 4096;
/** Largest buffer write_memory / read_memory will build. */
export const MEMORY_OP_MAX = 256 * 1024 * 1024;

const none = (): Outputs => ({});

export const mmap: OpModule = {
  name: 'mmap',
  spec: {
    doc: 'mmap(2); `as` binds the address. `thp: true` adds madvise(MADV_HUGEPAGE) on the new range.',
    group: 'mm',
    fields: {
      addr: u64('hint or fixed address', { default: 0, handle: 'addr' }),
      length: req(u64('length in bytes')),
      prot: flags(PROT_FLAGS, 'PROT_* bits', ['READ', 'WRITE']),
      flags: flags(MAP_FLAGS, 'MAP_* bits', ['PRIVATE', 'ANONYMOUS']),
      fd: { kind: 'int', width: 's32', default: -1, handle: 'fd', doc: 'file to map (-1 for anonymous memory)' },
      offset: u64('file offset', { default: 0 }),
      thp: { kind: 'bool', default: false, doc: 'madvise(MADV_HUGEPAGE) the new mapping' },
    },
    primary: 'addr',
    outputs: { addr: 'addr' },
  },
  weight: 5,
  localRet: true,
  produces: ['buf'],
  execute(x) {
    const len = x.v('length');
    const r = x.proc.mmap(x.v('addr'), len, x.n32('prot'), x.n32('flags'), x.s32('fd'), x.v('offset'));
    if (r >= 0n && x.call.thp === true) {
      const rc = x.proc.madvise(r, len, MADV_HUGEPAGE);
      if (rc < 0) return { ret: rc, outputs: { addr: r } };
    }
    return { ret: r, outputs: { addr: r >= 0n ? r : 0n } };
  },
  generate(g, c) {
    const rng = g.rng;
    c.as = g.fresh();
    c.length = num(
      pickW<bigint>(rng, [
        [2, K4],
        [2, 4n * K4],
        [2, 16n * K4],
        [6, M2],
        [7, 2n * M2],
        [3, 4n * M2],
        [1, 3n * K4],
      ]),
    );
    if (rng.bool(0.6)) c.thp = true;
    if (rng.bool(0.15)) c.prot = g.flags(this.spec.fields.prot, 0) ?? ['READ'];
    if (rng.bool(0.15)) {
      c.flags = pickW<string[]>(rng, [
        [3, ['SHARED', 'ANONYMOUS']],
        [3, ['PRIVATE', 'ANONYMOUS', 'POPULATE']],
        [2, ['PRIVATE', 'ANONYMOUS', 'HUGETLB']],
        [1, ['SHARED', 'ANONYMOUS', 'HUGETLB']],
        [1, ['PRIVATE', 'ANONYMOUS', 'LOCKED']],
      ]);
    }
    if (rng.bool(0.08)) {
      // At a place in (or by) a buffer the program has: MAP_FIXED replaces what is there (a pin keeps the old
      // pages, which a domain then maps while the process maps new ones), MAP_FIXED_NOREPLACE refuses it.
      c.addr = g.addr().expr;
      c.flags = [...((c.flags as string[] | undefined) ?? ['PRIVATE', 'ANONYMOUS']), rng.bool(0.6) ? 'FIXED' : 'FIXED_NOREPLACE'];
    } else if (rng.bool(0.03)) c.flags = [...((c.flags as string[] | undefined) ?? ['PRIVATE', 'ANONYMOUS']), rng.pick(['NORESERVE', 'HUGE_2MB', 'SHARED_VALIDATE'])];
    if (rng.bool(0.05)) {
      const f = g.ofKind('memfd');
      if (f.length > 0) {
        c.fd = rng.pick(f).name;
        c.flags = [rng.bool(0.5) ? 'SHARED' : 'PRIVATE'];
      }
    }
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'buf', name: as, len: literalLen(c.length), thp: c.thp === true });
  },
  emitC(e) {
    const { L, v } = e;
    L(`void *p = mmap((void *)(uintptr_t)${v('addr')}, (size_t)${v('length')}, (int)${v('prot')}, (int)${v('flags')}, (int)${v('fd')}, (off_t)${v('offset')});`);
    L('');
    L('rc = p == MAP_FAILED ? -errno : 0;');
    if (e.c.thp === true) L(`if (!rc && madvise(p, (size_t)${v('length')}, 14 /* MADV_HUGEPAGE */))\n\t\t\trc = -errno;`);
    e.outs.addr = '(p == MAP_FAILED ? 0 : (uint64_t)(uintptr_t)p)';
  },
};


/** munmap / mprotect / madvise: an address (often in a buffer) and a length fitting it. */
function rangeCall(g: GenCtx, c: Call): Call {
  const rng = g.rng;
  const a = g.addr();
  c.addr = a.expr;
  c.length = num(interestingLength(rng, a.room));
  if (c.op === 'mprotect') c.prot = g.flags(mprotect.spec.fields.prot, 0) ?? [];
  // FREE and PAGEOUT twice: a lazy free is seen only when a PAGEOUT of the same pages follows it
  if (c.op === 'madvise') {
    // (GUARD_INSTALL: guard markers, 7.x; GUARD_REMOVE among the rarer ones)
    c.advice = rng.pick(['DONTNEED', 'HUGEPAGE', 'NOHUGEPAGE', 'POPULATE_WRITE', 'POPULATE_READ', 'FREE', 'FREE', 'DONTFORK', 'WIPEONFORK', 'COLLAPSE', 'REMOVE', 'PAGEOUT', 'PAGEOUT', 'COLD', 'DONTNEED_LOCKED', 'GUARD_INSTALL', '', '']);
    // The advices that only set VMA flags (they split VMAs, and special mappings refuse some), WILLNEED, GUARD_REMOVE
    if (c.advice === '') c.advice = rng.pick(['RANDOM', 'SEQUENTIAL', 'NORMAL', 'DONTDUMP', 'DODUMP', 'DOFORK', 'KEEPONFORK', 'WILLNEED', 'GUARD_REMOVE']);
  }
  g.maybeProc(c);
  return c;
}

export const munmap: OpModule = {
  name: 'munmap',
  spec: {
    doc: 'munmap(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')) },
    outputs: {},
  },
  weight: 0.7,
  execute: (x) => ({ ret: x.proc.munmap(x.v('addr'), x.v('length')), outputs: none() }),
  generate: rangeCall,
  emitC(e) {
    e.L(`rc = sys_rc(munmap((void *)(uintptr_t)${e.v('addr')}, (size_t)${e.v('length')}));`);
  },
};

/**
 * mremap: a range of a buffer resized or moved (MREMAP_FIXED onto another
 * buffer, MREMAP_DONTUNMAP), often one an IOAS maps: pins taken at the old
 * address stay on the pages the new one maps.
 */
export const mremap: OpModule = {
  name: 'mremap',
  spec: {
    doc: 'mremap(2); `as` binds the new address',
    group: 'mm',
    fields: {
      addr: req(u64('old address', { handle: 'addr' })),
      old_length: req(u64('old length')),
      new_length: req(u64('new length')),
      flags: flags(MREMAP_FLAGS, 'MREMAP_* bits', ['MAYMOVE']),
      new_addr: u64('the address MREMAP_FIXED moves to (a hint for MREMAP_DONTUNMAP)', { default: 0, handle: 'addr' }),
    },
    primary: 'addr',
    outputs: { addr: 'addr' },
  },
  weight: 0.6,
  localRet: true,
  execute(x) {
    const r = x.proc.mremap(x.v('addr'), x.v('old_length'), x.v('new_length'), x.v('flags'), x.v('new_addr'));
    return { ret: r, outputs: { addr: r >= 0n ? r : 0n } };
  },
  generate(g, c) {
    const rng = g.rng;
    const a = g.addr();
    c.addr = a.expr;
    const old = interestingLength(rng, a.room);
    c.old_length = num(old);
    c.new_length = num(pickW<bigint>(rng, [[3, old], [3, old * 2n], [2, old + K4], [2, old > K4 ? old - K4 : K4], [1, M2]]));
    const f = pickW<string[]>(rng, [[5, ['MAYMOVE']], [2, []], [3, ['MAYMOVE', 'FIXED']], [2, ['MAYMOVE', 'DONTUNMAP']], [1, ['FIXED']]]);
    if (f.length) c.flags = f;
    if (f.includes('FIXED') || (f.includes('DONTUNMAP') && rng.bool(0.3))) c.new_addr = g.addr().expr;
    if (f.includes('DONTUNMAP') && rng.bool(0.8)) c.new_length = c.old_length;
    c.as = g.fresh();
    g.maybeProc(c);
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'buf', name: as, len: literalLen(c.new_length), thp: false });
  },
  emitC(e) {
    const { L, v } = e;
    L(`void *p = mremap((void *)(uintptr_t)${v('addr')}, (size_t)${v('old_length')}, (size_t)${v('new_length')}, (int)${v('flags')}, (void *)(uintptr_t)${v('new_addr')});`);
    L('');
    L('rc = p == MAP_FAILED ? -errno : 0;');
    e.outs.addr = '(p == MAP_FAILED ? 0 : (uint64_t)(uintptr_t)p)';
  },
};

export const mprotect: OpModule = {
  name: 'mprotect',
  spec: {
    doc: 'mprotect(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')), prot: flags(PROT_FLAGS, 'PROT_* bits', ['READ', 'WRITE']) },
    outputs: {},
  },
  weight: 0.5,
  execute: (x) => ({ ret: x.proc.mprotect(x.v('addr'), x.v('length'), x.n32('prot')), outputs: none() }),
  generate: rangeCall,
  emitC(e) {
    e.L(`rc = sys_rc(mprotect((void *)(uintptr_t)${e.v('addr')}, (size_t)${e.v('length')}, (int)${e.v('prot')}));`);
  },
};

export const mseal: OpModule = {
  name: 'mseal',
  spec: {
    doc: 'mseal(2) (v6.10): seal the VMAs of the range (munmap, mremap, mprotect, a MAP_FIXED over them and discarding advice on read-only anonymous memory are EPERM from then on); ENOSYS on older kernels',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')), flags: u64('flags (must be 0)') },
    outputs: {},
  },
  weight: 0.2,
  execute: (x) => ({ ret: x.proc.mseal(x.v('addr'), x.v('length'), x.has('flags') ? x.v('flags') : 0n), outputs: none() }),
  generate: rangeCall,
  emitC(e) {
    // (by number: the C library may not name it)
    e.L(`rc = sys_rc(syscall(462 /* __NR_mseal */, (unsigned long)${e.v('addr')}, (size_t)${e.v('length')}, (unsigned long)${e.has('flags') ? e.v('flags') : '0'}));`);
  },
};

export const madvise: OpModule = {
  name: 'madvise',
  spec: {
    doc: 'madvise(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')), advice: { ...enumField(MADV_ADVICE, 'MADV_* advice', undefined, 's32'), required: true } },
    outputs: {},
  },
  weight: 1,
  execute: (x) => ({ ret: x.proc.madvise(x.v('addr'), x.v('length'), x.s32('advice')), outputs: none() }),
  generate: rangeCall,
  emitC(e) {
    e.L(`rc = sys_rc(madvise((void *)(uintptr_t)${e.v('addr')}, (size_t)${e.v('length')}, (int)${e.v('advice')}));`);
  },
};

export const mlock: OpModule = {
  name: 'mlock',
  spec: {
    doc: 'mlock(2), or mlock2(2) with MLOCK_ONFAULT for `onfault: true`: VM_LOCKED on the range, counted in the mm\'s locked_vm against RLIMIT_MEMLOCK (with iommufd\'s MM-mode charges), then faulted in',
    group: 'mm',
    fields: {
      addr: req(u64('start', { handle: 'addr' })),
      length: req(u64('length')),
      onfault: { kind: 'bool', default: false, doc: 'mlock2(MLOCK_ONFAULT): lock the pages as they are faulted in' },
    },
    outputs: {},
  },
  weight: 0.3,
  execute: (x) => ({ ret: x.proc.mlock2(x.v('addr'), x.v('length'), x.call.onfault === true ? MLOCK_ONFAULT : 0), outputs: none() }),
  generate(g, c) {
    rangeCall(g, c);
    if (g.rng.bool(0.2)) c.onfault = true;
    return c;
  },
  emitC(e) {
    e.L(`rc = sys_rc(mlock2((void *)(uintptr_t)${e.v('addr')}, (size_t)${e.v('length')}, ${e.c.onfault === true ? 'MLOCK_ONFAULT' : '0'}));`);
  },
};

export const munlock: OpModule = {
  name: 'munlock',
  spec: {
    doc: 'munlock(2): VM_LOCKED off over the range, its pages out of locked_vm',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')) },
    outputs: {},
  },
  weight: 0.2,
  execute: (x) => ({ ret: x.proc.munlock(x.v('addr'), x.v('length')), outputs: none() }),
  generate: rangeCall,
  emitC(e) {
    e.L(`rc = sys_rc(munlock((void *)(uintptr_t)${e.v('addr')}, (size_t)${e.v('length')}));`);
  },
};

/** write_memory / read_memory: a small access somewhere in (or out of) a buffer. */
function memoryCall(g: GenCtx, c: Call): Call {
  const rng = g.rng;
  const a = g.addr();
  c.addr = a.expr;
  if (c.op === 'write_memory' && rng.bool(0.4)) {
    // Distinct bytes: memory whose copies can be told apart. Longer runs often straddle a page
    // boundary, where copies that get an offset wrong differ.
    const n = pickW<number>(rng, [
      [3, rng.int(1, 32)],
      [2, rng.int(33, 512)],
      [1, rng.int(513, 4096)],
    ]);
    if (n > 32 && rng.bool(0.5)) c.addr = shift(c.addr, K4 - BigInt(rng.int(1, n - 1)));
    c.data = Array.from({ length: n }, () => rng.below(256).toString(16).padStart(2, '0')).join('');
    g.maybeProc(c);
    return c;
  }
  c.length = num(rng.pick([1n, 64n, K4, 2n * K4, K2]));
  if (c.op === 'write_memory') c.fill = rng.below(256);
  g.maybeProc(c);
  return c;
}

export const write_memory: OpModule = {
  name: 'write_memory',
  spec: {
    doc: 'the process writes its own memory: `data` (hex bytes), or `length` bytes of `fill`',
    group: 'mm',
    fields: {
      addr: req(u64('destination', { handle: 'addr' })),
      data: { kind: 'hex', doc: 'bytes to write' },
      fill: { kind: 'int', width: 'u8', doc: 'byte value to write `length` times' },
      length: u64('number of fill bytes'),
    },
    outputs: {},
  },
  weight: 1,
  execute(x) {
    let data: Uint8Array;
    if (x.call.data !== undefined) {
      const h = parseHex(x.call.data);
      if (typeof h === 'string') x.fail(`write_memory.data: ${h}`);
      data = h as Uint8Array;
    } else {
      const len = x.v('length');
      if (len > BigInt(MEMORY_OP_MAX)) x.fail(`write_memory: length ${len} is over ${MEMORY_OP_MAX}`);
      data = new Uint8Array(Number(len)).fill(Number(x.v('fill') & 0xffn));
    }
    return { ret: x.proc.writeMemory(x.v('addr'), data), outputs: none() };
  },
  generate: memoryCall,
  emitC(e) {
    const { L, v } = e;
    if (e.has('data')) {
      const bytes = parseHex(e.c.data);
      const arr = typeof bytes === 'string' ? new Uint8Array(0) : bytes;
      L(`static const unsigned char data[${Math.max(1, arr.length)}] = { ${cBytes(arr)} };`);
      L('');
      L(`rc = user_write(${v('addr')}, data, ${arr.length});`);
    } else {
      L(`size_t len = (size_t)${v('length')};`);
      L('unsigned char *buf = malloc(len ? len : 1);');
      L('');
      L('if (!buf) {');
      L('\tperror("malloc");');
      L('\texit(2);');
      L('}');
      L(`memset(buf, (int)(${v('fill')} & 0xff), len);`);
      L(`rc = user_write(${v('addr')}, buf, len);`);
      L('free(buf);');
    }
  },
};

export const read_memory: OpModule = {
  name: 'read_memory',
  spec: {
    doc: 'the process reads its own memory; outputs `data` (hex, up to 4 KiB) and `fill` (the byte every byte equals, or -1)',
    group: 'mm',
    fields: { addr: req(u64('source', { handle: 'addr' })), length: req(u64('bytes to read')) },
    outputs: { data: 'value', fill: 'value' },
  },
  weight: 0.3,
  execute(x) {
    const len = x.v('length');
    if (len > BigInt(MEMORY_OP_MAX)) x.fail(`read_memory: length ${len} is over ${MEMORY_OP_MAX}`);
    const buf = new Uint8Array(Number(len));
    const rc = x.proc.readMemory(x.v('addr'), buf);
    const outputs: Outputs = {};
    if (rc === 0) {
      if (buf.length <= DATA_OUTPUT_MAX) outputs.data = toHex(buf);
      outputs.fill = buf.length > 0 && buf.every((b) => b === buf[0]) ? buf[0] : -1;
    }
    return { ret: rc, outputs };
  },
  generate: memoryCall,
  emitC(e) {
    const { L, v } = e;
    L(`size_t len = (size_t)${v('length')}, k;`);
    L('unsigned char *buf = malloc(len ? len : 1);');
    L('char *hex = malloc(2 * (len ? len : 1) + 1);');
    L('int64_t fill = -1;');
    L('');
    L('(void)fill;');
    L('if (!buf || !hex) {');
    L('\tperror("malloc");');
    L('\texit(2);');
    L('}');
    L(`rc = user_read(${v('addr')}, buf, len);`);
    L('hexify(buf, len <= 4096 ? len : 0, hex);');
    L('if (len) {');
    L('\tfill = buf[0];');
    L('\tfor (k = 1; k < len; k++)');
    L('\t\tif (buf[k] != buf[0]) {');
    L('\t\t\tfill = -1;');
    L('\t\t\tbreak;');
    L('\t\t}');
    L('}');
    e.outs.data = 'hex';
    e.outs.fill = '(uint64_t)fill';
    e.cleanup.push('free(buf);', 'free(hex);');
  },
};

export const memfd_create: OpModule = {
  name: 'memfd_create',
  spec: {
    doc: 'memfd_create(2); `as` binds the fd',
    group: 'mm',
    fields: { name: { kind: 'string', default: 'sim', doc: 'name' }, flags: flags(MFD_FLAGS, 'MFD_* bits', []) },
    primary: 'fd',
    outputs: { fd: 'fd' },
  },
  weight: 0.2,
  localRet: true,
  produces: ['memfd'],
  execute(x) {
    const fd = x.proc.memfdCreate(typeof x.call.name === 'string' ? x.call.name : 'sim', x.n32('flags'));
    return { ret: fd, outputs: { fd } };
  },
  generate(g, c) {
    c.as = g.fresh();
    const f: string[] = [];
    if (g.rng.bool(0.2)) {
      f.push('HUGETLB');
      // a hugetlb size named: 2 MiB, or 1 GiB (which the memory may not hold)
      if (g.rng.bool(0.3)) f.push(g.rng.bool(0.8) ? 'HUGE_2MB' : 'HUGE_1GB');
    }
    // sealable sometimes, so that memfd_seal can seal it
    if (g.rng.bool(0.5)) f.push('ALLOW_SEALING');
    // the exec bits: sealed off (which lets more seals in too), kept, or both (EINVAL)
    if (g.rng.bool(0.15)) f.push(...g.rng.pick([['NOEXEC_SEAL'], ['EXEC'], ['CLOEXEC'], ['NOEXEC_SEAL', 'EXEC']]));
    if (f.length > 0) c.flags = f;
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'memfd', name: as });
  },
  emitC(e) {
    e.L(`rc = sys_rc(syscall(SYS_memfd_create, ${e.str(typeof e.c.name === 'string' ? e.c.name : 'sim')}, (unsigned int)${e.v('flags')}));`);
    e.outs.fd = '(uint64_t)(int64_t)(rc < 0 ? -1 : rc)';
  },
};

export const ftruncate: OpModule = {
  name: 'ftruncate',
  spec: {
    doc: 'ftruncate(2)',
    group: 'mm',
    fields: { fd: fileFd('file'), length: req(u64('new size')) },
    outputs: {},
  },
  weight: 0.2,
  execute: (x) => ({ ret: x.proc.ftruncate(x.s32('fd'), x.v('length')), outputs: none() }),
  generate(g, c) {
    const f = g.need(['memfd']);
    c.fd = f ? f.name : -1;
    c.length = num(g.rng.pick([K4, 4n * K4, M2, 2n * M2]));
    return c;
  },
  emitC(e) {
    e.L(`rc = sys_rc(ftruncate((int)${e.v('fd')}, (off_t)${e.v('length')}));`);
  },
};

/** Most entries mincore writes into the client scratch when the call names no vector (a 4 GiB range). */
const MINCORE_OUT_MAX = 1 << 20;

export const mincore: OpModule = {
  name: 'mincore',
  spec: {
    doc: `mincore(2): one byte per page of the range into \`vec\` (default: the client scratch, up to ${MINCORE_OUT_MAX} pages), 1 where the page is resident; outputs \`resident\` (the pages whose byte is 1) and \`data\` (the bytes as hex, up to ${DATA_OUTPUT_MAX} pages)`,
    group: 'mm',
    fields: { addr: req(u64('start (page aligned)', { handle: 'addr' })), length: req(u64('length in bytes')), vec: u64('vector address (default: the client scratch)', { handle: 'addr' }) },
    outputs: { resident: 'value', data: 'value' },
  },
  // What is resident: how a lazy free, a THP or a fault-around shows.
  weight: 0.3,
  generate: (g, c) => {
    const a = g.addr();
    c.addr = a.expr;
    // (the client scratch takes the vector of up to MINCORE_OUT_MAX pages)
    const len = interestingLength(g.rng, a.room);
    const max = BigInt(MINCORE_OUT_MAX) * BigInt(K4);
    c.length = num(len > max ? max : len);
    return c;
  },
  clientScratch: true,
  execute(x) {
    const length = x.v('length');
    const pages = length / BigInt(K4) + (length % BigInt(K4) !== 0n ? 1n : 0n);
    const own = x.call.vec === undefined;
    if (own && pages > BigInt(MINCORE_OUT_MAX)) x.fail(`mincore: ${pages} pages need a \`vec\` of their own (the client scratch takes ${MINCORE_OUT_MAX})`);
    const vec = own ? x.userBuffer(new Uint8Array(Math.max(Number(pages), 1))) : x.v('vec');
    const rc = x.proc.mincore(x.v('addr'), length, vec);
    const outputs: Outputs = {};
    if (rc === 0 && pages <= BigInt(MINCORE_OUT_MAX)) {
      const b = x.readUser(vec, Number(pages));
      if (b) {
        let resident = 0;
        for (const e of b) resident += e & 1;
        outputs.resident = resident;
        if (b.length <= DATA_OUTPUT_MAX) outputs.data = toHex(b);
      }
    }
    return { ret: rc, outputs };
  },
  emitC(e) {
    const { L, v } = e;
    L(`uint64_t length = ${v('length')}, pages = length / 4096 + (length % 4096 != 0), k, resident = 0;`);
    L(`unsigned char *vec = ${e.has('vec') ? `(unsigned char *)(uintptr_t)${v('vec')}` : `client_scratch(pages ? (size_t)pages : 1)`};`);
    L(`char *hex = malloc(2 * ${DATA_OUTPUT_MAX} + 1);`);
    L('');
    L('if (!hex) {');
    L('\tperror("malloc");');
    L('\texit(2);');
    L('}');
    L('hex[0] = 0;');
    L(`rc = sys_rc(mincore((void *)(uintptr_t)${v('addr')}, (size_t)length, vec));`);
    L(`if (!rc && pages <= ${MINCORE_OUT_MAX}) {`);
    L('\tfor (k = 0; k < pages; k++)');
    L('\t\tresident += vec[k] & 1;');
    L(`\thexify(vec, pages <= ${DATA_OUTPUT_MAX} ? (size_t)pages : 0, hex);`);
    L('}');
    e.outs.resident = 'resident';
    e.outs.data = 'hex';
    e.cleanup.push('free(hex);');
  },
};

/** fallocate(2)'s mode: the modes and the KEEP_SIZE flag (include/uapi/linux/falloc.h). */
export const FALLOC_MODES = {
  KEEP_SIZE: FALLOC_FL_KEEP_SIZE,
  PUNCH_HOLE: FALLOC_FL_PUNCH_HOLE,
  COLLAPSE_RANGE: FALLOC_FL_COLLAPSE_RANGE,
  ZERO_RANGE: FALLOC_FL_ZERO_RANGE,
  INSERT_RANGE: FALLOC_FL_INSERT_RANGE,
  UNSHARE_RANGE: FALLOC_FL_UNSHARE_RANGE,
  WRITE_ZEROES: FALLOC_FL_WRITE_ZEROES,
} as const;

export const fallocate: OpModule = {
  name: 'fallocate',
  spec: {
    doc: 'fallocate(2): allocate (mode none or KEEP_SIZE) or punch a hole (PUNCH_HOLE | KEEP_SIZE) in a memfd, what a VMM does to discard guest memory',
    group: 'mm',
    fields: {
      fd: fileFd('file'),
      mode: flags(FALLOC_MODES, 'FALLOC_FL_* bits', []),
      offset: req(u64('offset (a loff_t)')),
      length: req(u64('length (a loff_t)')),
    },
    outputs: {},
  },
  weight: 0.15,
  execute: (x) => ({ ret: x.proc.fallocate(x.s32('fd'), x.n32('mode'), x.v('offset'), x.v('length')), outputs: none() }),
  generate(g, c) {
    const rng = g.rng;
    const f = g.need(['memfd']);
    c.fd = f ? f.name : rng.pick([-1, 99]);
    const mode = pickW<string[] | undefined>(rng, [
      [4, ['PUNCH_HOLE', 'KEEP_SIZE']],
      [3, []],
      [2, ['KEEP_SIZE']],
      [1, undefined],
    ]);
    const m = mode ?? g.flags(this.spec.fields.mode, 0);
    if (m !== undefined && !(Array.isArray(m) && m.length === 0)) c.mode = m;
    // mostly whole pages of the first 2 MiB (where maps and pins are), sometimes a byte range inside a page or past the end
    c.offset = num(pickW<bigint>(rng, [
      [4, BigInt(rng.int(0, 512)) * K4],
      [2, BigInt(rng.int(0, 512)) * K4 + BigInt(rng.int(1, 4095))],
      [1, rng.pick([M2, 2n * M2, (1n << 64n) - 1n, (1n << 63n) - K4])],
    ]));
    c.length = num(pickW<bigint>(rng, [
      [4, BigInt(rng.int(1, 64)) * K4],
      [2, BigInt(rng.int(1, 4096))],
      [1, rng.pick([0n, M2, 2n * M2, (1n << 63n) - 1n])],
    ]));
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.L(`rc = sys_rc(fallocate((int)${v('fd')}, (int)${v('mode')}, (off_t)${v('offset')}, (off_t)${v('length')}));`);
  },
};

export const SEALS = {
  SEAL: F_SEAL_SEAL,
  SHRINK: F_SEAL_SHRINK,
  GROW: F_SEAL_GROW,
  WRITE: F_SEAL_WRITE,
  FUTURE_WRITE: F_SEAL_FUTURE_WRITE,
  EXEC: F_SEAL_EXEC,
} as const;

export const memfd_seal: OpModule = {
  name: 'memfd_seal',
  spec: {
    doc: 'fcntl(fd, F_ADD_SEALS, seals) of a memfd: a first WRITE seal is EBUSY while an IOAS pins a page of it or a shared writable mapping exists; the seals then refuse size changes, writes, holes and shared writable mappings',
    group: 'mm',
    fields: { fd: fileFd('file'), seals: flags(SEALS, 'F_SEAL_* bits', []) },
    outputs: {},
  },
  weight: 0.15,
  execute: (x) => ({ ret: x.proc.memfdFcntl(x.s32('fd'), F_ADD_SEALS, x.n32('seals')), outputs: none() }),
  generate(g, c) {
    const rng = g.rng;
    const f = g.need(['memfd']);
    c.fd = f ? f.name : rng.pick([-1, 99]);
    const s = pickW<string[] | undefined>(rng, [
      [3, ['WRITE']],
      [2, ['GROW', 'SHRINK']],
      [1, ['FUTURE_WRITE']],
      [1, ['SEAL']],
      [1, ['EXEC']],
      [1, undefined],
    ]);
    c.seals = s ?? g.flags(this.spec.fields.seals, 0) ?? [];
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    e.L(`rc = sys_rc(fcntl((int)${e.v('fd')}, ${F_ADD_SEALS} /* F_ADD_SEALS */, (int)${e.v('seals')}));`);
  },
};

/** prctl(2) options of prctl_thp_disable, and PR_SET_THP_DISABLE's flag (7.x). */
const PR_SET_THP_DISABLE = 41;
const PR_GET_THP_DISABLE = 42;
const THP_DISABLE_FLAGS = { EXCEPT_ADVISED: 2 } as const;

export const prctl_thp_disable: OpModule = {
  name: 'prctl_thp_disable',
  spec: {
    doc: "prctl(PR_SET_THP_DISABLE, disable, flags, arg4, arg5) or, with operation GET, prctl(PR_GET_THP_DISABLE, arg2, flags, arg4, arg5) (arg2 is `disable` when given, else 0): the process's THPs off, or (7.x, EXCEPT_ADVISED) off except where MADV_HUGEPAGE or MADV_COLLAPSE asks; GET returns 0, 1 or 3. Inherited by fork",
    group: 'mm',
    fields: {
      operation: enumField({ SET: 0, GET: 1 }, 'SET or GET', 'SET'),
      disable: u64('SET: THPs off (nonzero) or back on (0); default 1'),
      flags: flags(THP_DISABLE_FLAGS, 'PR_THP_DISABLE_* flags (arg3)', [], 'u64'),
      arg4: u64('arg4 (must be 0)', { default: 0 }),
      arg5: u64('arg5 (must be 0)', { default: 0 }),
    },
    outputs: {},
  },
  weight: 0.3,
  execute(x) {
    const get = x.n32('operation') === 1;
    const a2 = x.has('disable') ? x.v('disable') : get ? 0n : 1n;
    const args = [a2, x.v('flags'), x.v('arg4'), x.v('arg5')] as const;
    return { ret: get ? x.proc.getThpDisable(...args) : x.proc.setThpDisable(...args), outputs: none() };
  },
  generate(g, c) {
    const rng = g.rng;
    if (rng.bool(0.3)) c.operation = 'GET';
    else {
      if (rng.bool(0.25)) c.disable = 0;
      if (rng.bool(0.35)) c.flags = ['EXCEPT_ADVISED'];
    }
    // an unknown flag or a nonzero arg4 (EINVAL), or a disable other than 1 (any nonzero disables)
    if (rng.bool(0.08)) c[rng.pick(['flags', 'arg4', 'disable'] as const)] = rng.pick([1, 4, 0x100]);
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    const get = `(uint32_t)${e.v('operation')} == 1`;
    const a2 = e.has('disable') ? e.v('disable') : `(${get} ? 0 : 1)`;
    e.L(`rc = sys_rc(prctl(${get} ? ${PR_GET_THP_DISABLE} /* PR_GET_THP_DISABLE */ : ${PR_SET_THP_DISABLE} /* PR_SET_THP_DISABLE */, (unsigned long)${a2}, (unsigned long)${e.v('flags')}, (unsigned long)${e.v('arg4')}, (unsigned long)${e.v('arg5')}));`);
  },
};

export const MM_OPS: readonly OpModule[] = [mmap, munmap, mremap, mprotect, mseal, madvise, mlock, munlock, mincore, write_memory, read_memory, memfd_create, ftruncate, fallocate, memfd_seal, prctl_thp_disable];
