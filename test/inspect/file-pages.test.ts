// SPDX-License-Identifier: GPL-2.0-only
// Snapshots of pages objects that are not user memory: MAP_FILE of a memfd (PFNs from its page cache) and of the selftest dma-buf (the exporter's range).
import { describe, expect, it } from 'vitest';
import { IommufdClient } from '../../src/client/iommufd.js';
import { Inspector } from '../../src/inspect/index.js';
import { MOCK_APERTURE_START, world } from '../client/harness.js';
import { dmabufGet, dmabufRevoke, mapFile, memfdMmap } from '../iommufd/map-file-sim.js';

const PS = 4096;

function fworld() {
  const w = world({ memory: '256M' });
  w.c.close();
  return { ...w, c: IommufdClient.open(w.proc) };
}

describe('inspect: file and dma-buf pages', () => {
  it('a memfd area: source file, the file it came from, and the page-cache PFNs the domain maps', () => {
    const w = fworld();
    const { fd, va } = memfdMmap(w.proc, 8 * PS);
    // fault the file's pages in through the program's shared mapping first
    expect(w.proc.writeMemory(va, new Uint8Array(8 * PS).fill(0x5a))).toBe(0);
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const m = mapFile(w.c, { ioas, fd, start: 2 * PS, length: 4 * PS, iova: MOCK_APERTURE_START, flags: 7 });
    expect(m.rc).toBe(0);
    const s = new Inspector(w.machine).snapshot();
    expect(s.pages).toHaveLength(1);
    const p = s.pages[0];
    expect(p.source).toBe('file');
    expect(p.uptr).toBe('0x0');
    expect(p.file).toEqual({ name: 'memfd:buffer', kind: 'shmem', start: '0x2000', size: '0x8000' });
    expect(p.dmabuf).toBeUndefined();
    expect(p.npinned).toBe(4);
    // the pinned PFNs are the ones the program's own shared mapping of the file sees
    const want = [2, 3, 4, 5].map((i) => w.proc.mm.lookupPfn(va + BigInt(i * PS)));
    expect(want.every((x) => x >= 0)).toBe(true);
    const got: number[] = [];
    for (const r of p.pfns) for (let k = 0; k < r.n; k++) got.push(r.pfn + k);
    expect(got).toEqual(want);
  });

  it('a dma-buf area: source dmabuf, the exporter range, tracked domains, revoked after REVOKE', () => {
    const w = fworld();
    const dfd = dmabufGet(w.c, 4 * PS);
    expect(dfd).toBeGreaterThan(0);
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    expect(mapFile(w.c, { ioas, fd: dfd, start: PS, length: 2 * PS, iova: MOCK_APERTURE_START, flags: 7 }).rc).toBe(0);
    let p = new Inspector(w.machine).snapshot().pages[0];
    expect(p.source).toBe('dmabuf');
    expect(p.file).toBeUndefined();
    expect(p.dmabuf).toMatchObject({ start: PS, length: 4 * PS, revoked: false, tracked: 1 });
    expect(p.npinned).toBe(0);
    const base = p.dmabuf?.paddr ?? -1;
    expect(base % PS).toBe(0);
    expect(p.pfns).toEqual([{ index: 0, pfn: (base + PS) / PS, n: 2 }]);
    expect(dmabufRevoke(w.c, dfd, true)).toBe(0);
    p = new Inspector(w.machine).snapshot().pages[0];
    expect(p.dmabuf).toMatchObject({ length: 0, revoked: true });
    expect(p.pfns).toEqual([{ index: 0, pfn: -1, n: 2 }]);
  });
});
