// SPDX-License-Identifier: GPL-2.0-only
/**
 * mm benchmarks: pin + unpin of 1 GiB (4 KiB pages on the scattered layout,
 * and 2 MiB THP folios) in the 8192-page chunks iommufd's pfn reader uses,
 * the cost of faulting 1 GiB, and the heap it takes (page tables alone, and
 * with the physical-memory metadata).
 */
import { Bench } from 'tinybench';
import { Machine } from '../../src/machine/index.js';
import { FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MADV_POPULATE_WRITE, MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { pinUserPages, unpinUserPages } from '../../src/mm/gup.js';
import type { BenchResult, SuiteOptions } from '../run.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
/** pfn_reader_user_pin's upages buffer: 64 KiB of page pointers. */
const CHUNK = 8192;

function heapNow(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

function meanMs(b: Bench, name: string): number {
  const t = b.getTask(name);
  const r = t?.result;
  if (!r || !('latency' in r)) throw new Error(`bench ${name} did not complete: ${JSON.stringify(r)}`);
  return r.latency.mean;
}

/** A process with `bytes` of private anonymous memory faulted in (THP when asked). */
function populated(bytes: number, thp: boolean) {
  const m = new Machine({ memory: '16G', seed: 1, physLayout: 'scattered' });
  const p = m.spawn({ memlock: 'unlimited' });
  let va: bigint;
  if (thp) {
    va = p.mmap(0n, BigInt(bytes), RW, PA);
    p.madvise(va, BigInt(bytes), MADV_HUGEPAGE);
    p.madvise(va, BigInt(bytes), MADV_POPULATE_WRITE);
  } else va = p.mmap(0n, BigInt(bytes), RW, PA | MAP_POPULATE);
  if (va < 0n) throw new Error(`mmap: ${va}`);
  return { m, p, va };
}

async function pinUnpin(label: string, bytes: number, thp: boolean, iterations: number): Promise<BenchResult> {
  const { m, p, va } = populated(bytes, thp);
  const n = bytes / 4096;
  const out = new Uint32Array(n);
  const pinAll = () => {
    for (let off = 0; off < n; off += CHUNK) {
      const k = Math.min(CHUNK, n - off);
      const rc = pinUserPages(p.mm, va + BigInt(off) * PG, k, FOLL_WRITE | FOLL_LONGTERM, out, off);
      if (rc !== k) throw new Error(`pin returned ${rc}`);
    }
  };
  const unpinAll = () => unpinUserPages(m.phys, out, 0, n, true);
  const bench = new Bench({ iterations, warmupIterations: 2, time: 0, throws: true });
  bench.add('both', () => {
    pinAll();
    unpinAll();
  });
  bench.add('pin', pinAll, { afterEach: unpinAll });
  bench.add('unpin', unpinAll, { beforeEach: pinAll });
  await bench.run();
  pinAll();
  let runs = 0;
  for (let i = 1; i < n; i++) if (out[i] === out[i - 1] + 1) runs++;
  unpinAll();
  if (m.phys.folioPincount(m.phys.folioHead(out[0])) !== 0) throw new Error('pins left behind');
  const per = (name: string) => (meanMs(bench, name) * 1e6) / n;
  return {
    name: label,
    nsPerPage: per('both'),
    pinNs: per('pin'),
    unpinNs: per('unpin'),
    contiguous: runs / (n - 1),
    pages: n,
  };
}

function faultHeap(label: string, bytes: number, thp: boolean): BenchResult {
  const m = new Machine({ memory: '16G', seed: 1, physLayout: 'scattered' });
  const p = m.spawn({ memlock: 'unlimited' });
  const n = bytes / 4096;
  const h0 = heapNow();
  const md0 = m.phys.metadataBytes();
  const t0 = process.hrtime.bigint();
  let va: bigint;
  if (thp) {
    va = p.mmap(0n, BigInt(bytes), RW, PA);
    p.madvise(va, BigInt(bytes), MADV_HUGEPAGE);
    p.madvise(va, BigInt(bytes), MADV_POPULATE_WRITE);
  } else va = p.mmap(0n, BigInt(bytes), RW, PA | MAP_POPULATE);
  const t1 = process.hrtime.bigint();
  if (va < 0n || p.mm.residentPages() !== n) throw new Error('populate failed');
  const h1 = heapNow();
  const md = m.phys.metadataBytes() - md0;
  const total = h1 - h0;
  const r: BenchResult = {
    name: label,
    nsPerPage: Number(t1 - t0) / n,
    heapBytesPerPage: (total - md) / n,
    withPhysMetaBPerPage: total / n,
    ptArrayBPerPage: p.mm.pageTableBytes() / n,
    pages: n,
  };
  p.exit();
  return r;
}

export async function run(opts: SuiteOptions): Promise<BenchResult[]> {
  const bytes = opts.quick ? 128 << 20 : 1 << 30;
  const size = opts.quick ? '128 MiB' : '1 GiB';
  const iters = opts.quick ? 3 : 5;
  const want = (name: string) => !opts.filter || `mm: ${name}`.includes(opts.filter);
  const out: BenchResult[] = [];
  const jobs: [string, () => Promise<BenchResult> | BenchResult][] = [
    [`pin+unpin ${size} 4K scattered`, () => pinUnpin(`pin+unpin ${size} 4K scattered`, bytes, false, iters)],
    [`pin+unpin ${size} 2M THP`, () => pinUnpin(`pin+unpin ${size} 2M THP`, bytes, true, iters)],
    [`fault ${size} 4K (page tables heap)`, () => faultHeap(`fault ${size} 4K (page tables heap)`, bytes, false)],
    [`fault ${size} 2M THP (page tables heap)`, () => faultHeap(`fault ${size} 2M THP (page tables heap)`, bytes, true)],
  ];
  for (const [name, job] of jobs) if (want(name)) out.push(await job());
  return out;
}
