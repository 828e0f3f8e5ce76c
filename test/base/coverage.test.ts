// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { cover, coverSiteName, coverSites, setCoverHook } from '../../src/base/coverage.js';
import { Machine } from '../../src/machine/index.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { IommuDomain } from '../../src/iommu/domain.js';
import { PfnBatch } from '../../src/iommufd/pfn-batch.js';

describe('coverage sites', () => {
  it('numbers sites by class and method and names them back', () => {
    const s = coverSites('Demo', ['a', 'b']);
    expect(s.b).toBe(s.a + 1);
    expect(coverSiteName(s.a)).toBe('Demo.a');
    expect(coverSiteName(s.b)).toBe('Demo.b');
  });

  it('reports each site reached to the hook while one is set, and nothing after', () => {
    const s = coverSites('Demo2', ['x']);
    const seen: number[] = [];
    const prev = setCoverHook((site) => seen.push(site));
    try {
      cover(s.x);
      cover(s.x);
    } finally {
      expect(setCoverHook(prev)).toBeDefined();
    }
    cover(s.x);
    expect(seen).toEqual([s.x, s.x]);
  });

  it('the model marks method and pages.ts function entries on an IOAS_MAP, and patches no prototype', () => {
    const protoMap = IommuDomain.prototype.map;
    const protoInit = PfnBatch.prototype.init;
    const m = new Machine({ memory: '64M', panicOnWarn: true });
    const proc = m.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const buf = proc.mmap(0n, 1n << 16n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    const names = new Set<string>();
    const prev = setCoverHook((site) => names.add(coverSiteName(site)));
    try {
      c.ioasMap({ ioas, userVa: buf, length: 1 << 16, iova: 1n << 24n });
    } finally {
      setCoverHook(prev);
    }
    expect(names.has('IoPagetable.mapUserPages')).toBe(true);
    expect(names.has('pages.allocPages')).toBe(true);
    expect(names.has('pages.areaFillDomains')).toBe(true);
    expect(names.has('PfnBatch.init')).toBe(true);
    expect(IommuDomain.prototype.map).toBe(protoMap);
    expect(PfnBatch.prototype.init).toBe(protoInit);
    proc.exit();
  });
});
