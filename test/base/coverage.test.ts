// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { cover, coverSiteName, coverSites, setCoverHook } from '../../src/base/coverage.js';
import { Machine } from '../../src/machine/index.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { IommuDomain } from '../../src/iommu/domain.js';
import { PfnBatch } from '../../src/iommufd/pfn-batch.js';
import { PfnReader, PfnReaderUser } from '../../src/iommufd/pfn-reader.js';
import { IoPagetable } from '../../src/iommufd/io-pagetable.js';
import { IommufdAccess } from '../../src/iommufd/access.js';
import { MockDomain } from '../../src/iommu/mock-domain.js';
import { ObjectTable } from '../../src/iommufd/object-table.js';
import { MmStruct } from '../../src/mm/address-space.js';
import { fuzzRunOptions, runWithSignal, signalName } from '../../src/fuzz/signal.js';
import type { Program } from '../../src/fuzz/program.js';

/** A 2 MiB map into a mock domain (call 3). */
const MAP: Program = {
  profile: 'latest',
  memlock: 'unlimited',
  calls: [
    { op: 'mmap', as: '$buf', length: '2M' },
    { op: 'open' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'mock_domain', pt: '$ioas' },
    { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: '2M' },
  ],
};

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
    const hook = (site: number): void => {
      seen.push(site);
    };
    const prev = setCoverHook(hook);
    try {
      cover(s.x);
      cover(s.x);
    } finally {
      expect(setCoverHook(prev)).toBe(hook);
    }
    cover(s.x);
    expect(seen).toEqual([s.x, s.x]);
  });

  it('the model marks method and pages.ts function entries on an IOAS_MAP', () => {
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
    // a per-page lookup is left without a site
    expect([...names].some((n) => n.endsWith('.iovaToPhys'))).toBe(false);
    proc.exit();
  });

  it('a fuzzer run with signal leaves every method of the instrumented classes as its class declared it', () => {
    const sr = runWithSignal(MAP, fuzzRunOptions(true));
    expect(sr.run.results.map((r) => r.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(sr.perCall[4].map(signalName)).toContain('ioas_map|m:IoPagetable.mapUserPages');
    const classes: Array<[string, object]> = [
      ['PfnBatch', PfnBatch.prototype],
      ['PfnReader', PfnReader.prototype],
      ['PfnReaderUser', PfnReaderUser.prototype],
      ['IoPagetable', IoPagetable.prototype],
      ['IommufdAccess', IommufdAccess.prototype],
      ['IommuDomain', IommuDomain.prototype],
      ['MockDomain', MockDomain.prototype],
      ['ObjectTable', ObjectTable.prototype],
      ['MmStruct', MmStruct.prototype],
    ];
    let checked = 0;
    for (const [cls, proto] of classes) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const d = Object.getOwnPropertyDescriptor(proto, name);
        if (name === 'constructor' || typeof d?.value !== 'function') continue;
        // A method's source starts with its own name; a wrapper put in its place would not.
        expect((d.value as () => unknown).toString().startsWith(name), `${cls}.${name}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(190);
  });
});
