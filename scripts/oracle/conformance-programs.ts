// SPDX-License-Identifier: GPL-2.0-only
/**
 * Programs for the oracle taken from the conformance scenarios (test/conformance,
 * the kernel's tools/testing/selftests/iommu/iommufd.c fixtures): each scenario
 * of the iommufd_ioas fixture under its four variants (no_domain, mock_domain,
 * two_mock_domain, mock_domain_limit), the sweeps of the selftests (lengths,
 * offsets) as one program per point, and the iommufd, mock_domain and
 * vfio_compat fixtures. They carry no expectations: the oracle compares the
 * model with the kernel call by call.
 *
 *   npx tsx scripts/oracle/conformance-programs.ts [OUT_DIR]   (default test/oracle/programs)
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Call, type Program, formatProgram } from '../../src/fuzz/program.js';

const out = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'test', 'oracle', 'programs');
const PS = 4096;
const BUF = 16 * PS;
const APERTURE = 0x1000000;
const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

interface Variant {
  name: string;
  domains: number;
  limit?: number;
}
const VARIANTS: Variant[] = [
  { name: 'no_domain', domains: 0 },
  { name: 'mock_domain', domains: 1 },
  { name: 'two_mock_domain', domains: 2 },
  { name: 'mock_domain_limit', domains: 1, limit: 16 },
];

const programs = new Map<string, Program>();
function add(name: string, description: string, calls: Call[], extra: Partial<Program> = {}): void {
  if (programs.has(name)) throw new Error(`duplicate ${name}`);
  programs.set(name, { name, description, memlock: 'unlimited', ...extra, calls });
}

/** The iommufd_ioas fixture: a shared 16-page buffer, an IOAS, the variant's mock domains and memory limit. */
function ioasSetup(v: Variant): { calls: Call[]; base: number } {
  const calls: Call[] = [
    { op: 'mmap', as: '$buf', length: BUF, flags: ['SHARED', 'ANONYMOUS'] },
    { op: 'write_memory', addr: '$buf', fill: 0x5a, length: BUF },
    { op: 'open', as: '$fd' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'set_temp_memory_limit', limit: v.limit ?? 65536 },
  ];
  for (let i = 0; i < v.domains; i++) calls.push({ op: 'mock_domain', as: `$dev${i}`, pt: '$ioas' });
  return { calls, base: APERTURE };
}
const map = (iova: number | string, length: number, user = '$buf', extra: Partial<Call> = {}): Call => ({ op: 'ioas_map', ioas: '$ioas', user_va: user, length, iova: typeof iova === 'number' ? hex(iova) : iova, ...extra });
const mapAuto = (as: string, length: number, user = '$buf'): Call => ({ op: 'ioas_map', as, ioas: '$ioas', user_va: user, length });
const unmap = (iova: number | string, length: number | string): Call => ({ op: 'ioas_unmap', ioas: '$ioas', iova: typeof iova === 'number' ? hex(iova) : iova, length });
const refs = (length: number, n: number, uptr = '$buf'): Call => ({ op: 'md_check_refs', uptr, length, refs: n });

for (const v of VARIANTS) {
  const tag = `ioas-${v.name}`;
  const dom = v.domains > 0;
  {
    const { calls, base } = ioasSetup(v);
    calls.push(map(base, PS), ...(dom ? [{ op: 'md_check_map', hwpt: '$dev0.hwpt_id', iova: hex(base), length: PS, uptr: '$buf' }] : []), refs(PS, dom ? 1 : 0), { op: 'destroy', id: '$ioas' });
    add(`${tag}-area-destroy`, 'ioas_area_destroy: destroying an IOAS with an area (EBUSY while a domain pins it)', calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    for (let i = 0; i < 10; i++) calls.push(map(base + i * PS, PS));
    calls.push(refs(PS, dom ? 10 : 0), { op: 'close', fd: '$fd' }, refs(PS, 0));
    add(`${tag}-area-auto-destroy`, 'ioas_area_auto_destroy: ten one-page areas, released by close', calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    for (let i = 0; i < 10; i++) calls.push(unmap(i * PS, PS));
    for (let i = 0; i < 10; i++) calls.push(map(base + i * PS, PS));
    for (let i = 0; i < 10; i++) calls.push(unmap(base + i * PS, PS));
    calls.push(map(base + 16 * PS, 2 * PS), unmap(base + 16 * PS, PS), unmap(base + 17 * PS, PS));
    for (const [len, at] of [[2, 16], [1, 16], [1, 17], [2, 15], [3, 15]]) calls.push(map(base + at * PS, len * PS));
    calls.push(unmap(0, 'U64_MAX'), unmap(0, 'U64_MAX'));
    add(`${tag}-area`, 'area: unmap of nothing, split and over-map refused, unmap all', calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    const b = base + 4 * PS;
    for (let i = 0; i < 4; i++) calls.push(map(b + i * 16 * PS, 8 * PS));
    calls.push(unmap(b - 4 * PS, 8 * PS), unmap(b + 3 * 16 * PS + 4 * PS, 8 * PS), unmap(b - 4 * PS, 3 * 16 * PS + 12 * PS));
    add(`${tag}-unmap-contained`, 'unmap_fully_contained_areas', calls);
  }
  for (let k = 1; k <= 10; k++) {
    const { calls } = ioasSetup(v);
    calls.push(mapAuto('$a', PS), mapAuto('$b', PS), unmap('$a', PS));
    calls.push(mapAuto('$c', k * PS, dom ? '$buf' : '0x80000000'), { op: 'ioas_iova_ranges', ioas: '$ioas' });
    calls.push({ op: 'add_reserved', ioas: '$ioas', start: hex(4 * PS), length: hex(100 * PS) }, mapAuto('$d', k * PS));
    calls.push({ op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [[hex(PS), hex(600 * PS)]] });
    const start = dom ? APERTURE + PS : 200 * PS;
    calls.push({ op: 'ioas_unmap', ioas: '$ioas', iova: 0, length: 'U64_MAX' }, { op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [[hex(start), hex(start + 600 * PS - 1)]] }, mapAuto('$e', k * PS), mapAuto('$f', k * PS));
    add(`${tag}-auto-iova-${k}`, `area_auto_iova: ${k}-page automatic IOVAs, around a reservation and inside an allowed range`, calls);
  }
  {
    const { calls } = ioasSetup(v);
    calls.push({ op: 'add_reserved', ioas: '$ioas', start: 6, length: '0xffffffffffff8001' }, mapAuto('$a', 0x5000));
    add(`${tag}-reserved-overflow`, 'reserved_overflow: no space and no overflow when aligning up wraps', calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    calls.push({ op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [[hex(base), hex(base + 600 * PS)]] }, { op: 'add_reserved', ioas: '$ioas', start: hex(base + PS), length: PS });
    calls.push({ op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [] }, { op: 'add_reserved', ioas: '$ioas', start: hex(base + PS), length: PS }, { op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [[hex(base), hex(base + 600 * PS)]] });
    add(`${tag}-area-allowed`, 'area_allowed: reservations and allowed ranges exclude each other', calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    calls.push(map(base, BUF), { op: 'ioas_alloc', as: '$ioas2' }, { op: 'ioas_copy', dst_ioas: '$ioas2', src_ioas: '$ioas', src_iova: hex(base), length: BUF, dst_iova: hex(base) });
    calls.push({ op: 'ioas_copy', as: '$c', dst_ioas: '$ioas2', src_ioas: '$ioas', src_iova: hex(base), length: BUF }, refs(BUF, dom ? 1 : 0));
    add(`${tag}-copy-area`, 'copy_area: copy to a second IOAS, fixed and automatic', calls);
  }
  for (const room of [0, 1, 16]) {
    const { calls, base } = ioasSetup(v);
    calls.push({ op: 'ioas_iova_ranges', ioas: '$ioas', num_iovas: room }, { op: 'add_reserved', ioas: '$ioas', start: hex(base + 16 * PS), length: PS }, { op: 'ioas_iova_ranges', ioas: '$ioas', num_iovas: room });
    calls.push({ op: 'ioas_allow_iovas', ioas: '$ioas', ranges: [[hex(base), hex(base + 8 * PS - 1)], [hex(base + 32 * PS), hex(base + 64 * PS - 1)]] }, { op: 'ioas_iova_ranges', ioas: '$ioas', num_iovas: room });
    add(`${tag}-iova-ranges-${room}`, `iova_ranges with room for ${room}`, calls);
  }
  for (let k = 1; k <= 4; k++) {
    const { calls, base } = ioasSetup(v);
    calls.push(map(base, BUF), { op: 'create_access', as: '$acc', ioas: '$ioas', flags: ['NEEDS_PIN_PAGES'] });
    calls.push({ op: 'access_pages', as: '$ap', access: '$acc', iova: hex(base + PS), length: k * PS, uptr: '$buf+4K' }, refs(k * PS, dom ? 2 : 1, '$buf+4K'));
    calls.push({ op: 'access_pages', as: '$ap2', access: '$acc', iova: hex(base + PS), length: k * PS, flags: ['WRITE'] }, { op: 'destroy_access_pages', access: '$acc', access_pages_id: '$ap' }, unmap(base, BUF), refs(BUF, 0));
    add(`${tag}-access-pin-${k}`, `access_pin / access_pin_unmap: ${k} pages pinned twice through an access, then unmapped under it`, calls);
  }
  for (const [off, len] of [[0, 1], [1, 1], [PS - 1, 2], [100, 3 * PS], [0, BUF], [PS + 7, 5 * PS - 14]]) {
    const { calls, base } = ioasSetup(v);
    calls.push(map(base, BUF), { op: 'create_access', as: '$acc', ioas: '$ioas' }, { op: 'mmap', as: '$io', length: BUF });
    calls.push({ op: 'access_rw', access: '$acc', iova: hex(base + off), length: len, uptr: '$io' }, { op: 'read_memory', addr: '$io', length: Math.min(len, 64) });
    calls.push({ op: 'write_memory', addr: '$io', fill: 0x33, length: len }, { op: 'access_rw', access: '$acc', iova: hex(base + off), length: len, uptr: '$io', flags: ['WRITE', 'SLOW_PATH'] }, { op: 'read_memory', addr: `$buf+${off}`, length: Math.min(len, 64) });
    calls.push({ op: 'access_rw', access: '$acc', iova: hex(base + BUF - 1), length: 2, uptr: '$io' });
    add(`${tag}-access-rw-${off}-${len}`, `access_rw at offset ${off} for ${len} bytes, fast and slow path`, calls);
  }
  {
    const { calls, base } = ioasSetup(v);
    calls.push({ op: 'mmap', as: '$child_buf', length: BUF }, { op: 'write_memory', addr: '$child_buf', fill: 1, length: BUF }, { op: 'fork', as: '$child' }, { op: 'exit', proc: '$child' });
    calls.push(map(base, BUF, '$child_buf'), ...(dom ? [{ op: 'md_check_map', hwpt: '$dev0.hwpt_id', iova: hex(base), length: BUF, uptr: '$child_buf' }] : []));
    add(`${tag}-fork-gone`, 'fork_gone: a private buffer mapped after the child exited', calls);
  }
  {
    const { calls } = ioasSetup(v);
    calls.push({ op: 'option', option_id: 'HUGE_PAGES', operation: 'GET', object_id: '$ioas' }, { op: 'option', option_id: 'HUGE_PAGES', operation: 'SET', object_id: '$ioas', val64: 0 });
    calls.push({ op: 'option', option_id: 'HUGE_PAGES', operation: 'GET', object_id: '$ioas' }, { op: 'option', option_id: 'HUGE_PAGES', operation: 'SET', object_id: '$ioas', val64: 2 }, { op: 'option', option_id: 'HUGE_PAGES', operation: 'SET', object_id: '$ioas', val64: 1 });
    add(`${tag}-option-huge-pages`, 'ioas_option_huge_pages', calls);
  }
  for (const k of [1, 3, 16]) {
    const { calls, base } = ioasSetup(v);
    calls.push(map(base, BUF));
    for (const src of [0, PS, 5 * PS]) calls.push({ op: 'ioas_copy', dst_ioas: '$ioas', src_ioas: '$ioas', src_iova: hex(base + src), length: k * PS > BUF - src ? BUF - src : k * PS, dst_iova: hex(base + 0x100000 + src) });
    calls.push({ op: 'ioas_copy', dst_ioas: '$ioas', src_ioas: '$ioas', src_iova: hex(base + PS / 2), length: PS, dst_iova: hex(base + 0x200000) }, unmap(0, 'U64_MAX'));
    add(`${tag}-copy-sweep-${k}`, `copy_sweep: ${k}-page copies at several source offsets`, calls);
  }
}

// iommufd fixture: size words of every command, global options
for (const [op, fields] of [
  ['ioas_alloc', {}],
  ['destroy', { id: '$ioas' }],
  ['ioas_iova_ranges', { ioas: '$ioas' }],
  ['ioas_unmap', { ioas: '$ioas', iova: 0, length: 'U64_MAX' }],
  ['option', { option_id: 'RLIMIT_MODE', operation: 'GET' }],
  ['vfio_ioas', { operation: 'GET' }],
  ['create_access', { ioas: '$ioas' }],
] as Array<[string, Record<string, unknown>]>) {
  for (const size of [0, 4, 8, 16, 24, 40, 72, 80, 4096, 4097]) {
    add(`iommufd-cmd-length-${op}-${size}`, `cmd_length: ${op} with size word ${size}`, [
      { op: 'open', as: '$fd' },
      { op: 'ioas_alloc', as: '$ioas' },
      { op: 'write_memory', addr: '$main', data: '', comment: 'no-op' },
      { op, ...fields, size },
      { op, ...fields },
    ].filter((c) => c.op !== 'write_memory') as Call[]);
  }
}
for (const caps of [[], ['CAP_SYS_RESOURCE'], ['CAP_IPC_LOCK']]) {
  add(`iommufd-global-options-${caps.length ? caps[0].toLowerCase() : 'none'}`, `global options (RLIMIT_MODE) with caps ${caps.join(',') || 'none'}`, [
    { op: 'open', as: '$fd' },
    { op: 'option', option_id: 'RLIMIT_MODE', operation: 'GET' },
    { op: 'option', option_id: 'RLIMIT_MODE', operation: 'SET', val64: 1 },
    { op: 'option', option_id: 'RLIMIT_MODE', operation: 'GET' },
    { op: 'option', option_id: 'RLIMIT_MODE', operation: 'SET', val64: 2 },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'option', option_id: 'RLIMIT_MODE', operation: 'SET', val64: 0 },
    { op: 'mmap', as: '$buf', length: '1M' },
    { op: 'mock_domain', as: '$dev', pt: '$ioas' },
    { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: '1M', iova: '0x1000000' },
    { op: 'report', title: 'charged' },
  ], { caps, memlock: '64K' });
}
// memlock accounting: a map that fits the limit and one that does not, per capability
for (const [limit, len] of [['64K', '64K'], ['64K', '128K'], ['8M', '8M'], ['8M', '16M']]) {
  for (const caps of [[], ['CAP_IPC_LOCK']]) {
    add(`memlock-${limit}-${len}${caps.length ? '-ipc-lock' : ''}`, `RLIMIT_MEMLOCK ${limit}, a ${len} map on a mock domain`, [
      { op: 'mmap', as: '$buf', length: len },
      { op: 'open', as: '$fd' },
      { op: 'ioas_alloc', as: '$ioas' },
      { op: 'mock_domain', as: '$dev', pt: '$ioas' },
      { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: len, iova: '0x1000000' },
      { op: 'create_access', as: '$acc', ioas: '$ioas', flags: ['NEEDS_PIN_PAGES'] },
      { op: 'access_pages', access: '$acc', iova: '0x1000000', length: '4K' },
    ], { caps, memlock: limit });
  }
}
// vfio_compat fixture
for (const type of [1, 3, 8]) {
  add(`vfio-compat-type-${type}`, `vfio_compat: VFIO_SET_IOMMU type ${type}, map and unmap`, [
    { op: 'mmap', as: '$buf', length: '64K' },
    { op: 'open', as: '$fd', path: '/dev/vfio/vfio' },
    { op: 'vfio_get_api_version' },
    { op: 'vfio_check_extension', extension: type },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'vfio_ioas', ioas: '$ioas', operation: 'SET' },
    { op: 'vfio_set_iommu', type },
    { op: 'vfio_map_dma', vaddr: '$buf', iova: '0x100000', size: '64K', flags: ['READ', 'WRITE'] },
    { op: 'vfio_unmap_dma', iova: '0x104000', size: '16K' },
    { op: 'vfio_unmap_dma', iova: '0x100000', size: '64K' },
    { op: 'vfio_unmap_dma', iova: 0, size: 0, flags: ['ALL'] },
  ]);
}

mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f.endsWith('.yaml')) rmSync(join(out, f));
for (const [name, p] of programs) writeFileSync(join(out, `${name}.yaml`), `# Generated by scripts/oracle/conformance-programs.ts\n${formatProgram(p, 'yaml')}`);
process.stderr.write(`${programs.size} programs in ${out}\n`);
