// SPDX-License-Identifier: GPL-2.0-only
// The exec image of the oracle's batch binary from its ELF program headers
// (src/oracle/elf-image.ts), and the model laying it out: a call naming an
// address past the one-program image but inside the batch's binary answers
// as the kernel did (7.2.13: an mremap of 0x524000 was EPERM there, EFAULT
// in the model's smaller image).
import { describe, expect, it } from 'vitest';
import { runModel } from '../../src/fuzz/export-c.js';
import type { Program } from '../../src/fuzz/program.js';
import { DEFAULT_EXEC_IMAGE, EXEC_HEAP_BYTES } from '../../src/mm/address-space.js';
import { execImageOfElf } from '../../src/oracle/elf-image.js';

/** An ELF64 header and program headers (type, flags, offset, vaddr, filesz, memsz), as a static x86-64 binary has them. */
function elf(phdrs: Array<[number, number, number, number, number, number]>): Buffer {
  const b = Buffer.alloc(64 + 56 * phdrs.length);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeBigUInt64LE(64n, 0x20);
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(phdrs.length, 0x38);
  phdrs.forEach(([type, flags, offset, vaddr, filesz, memsz], i) => {
    const o = 64 + 56 * i;
    b.writeUInt32LE(type, o);
    b.writeUInt32LE(flags, o + 4);
    b.writeBigUInt64LE(BigInt(offset), o + 8);
    b.writeBigUInt64LE(BigInt(vaddr), o + 16);
    b.writeBigUInt64LE(BigInt(filesz), o + 32);
    b.writeBigUInt64LE(BigInt(memsz), o + 40);
  });
  return b;
}

// readelf -l of a 400-program oracle binary (cc -static)
const BATCH = elf([
  [1, 4, 0, 0x400000, 0x518, 0x518],
  [1, 5, 0x1000, 0x401000, 0x676ae1, 0x676ae1],
  [1, 4, 0x678000, 0xa78000, 0x21bc52, 0x21bc52],
  [1, 6, 0x894418, 0xc94418, 0x11138, 0x69d268],
  [0x6474e552, 4, 0x894418, 0xc94418, 0xdbe8, 0xdbe8],
]);

describe('exec image of an ELF binary', () => {
  it('each PT_LOAD a file mapping, RELRO read-only, the bss anonymous, the [heap] after it', () => {
    const im = execImageOfElf(BATCH);
    expect(im?.mappings.map((m) => [m.start.toString(16), m.end.toString(16), m.prot, m.offset === null ? null : m.offset.toString(16), m.name ?? '', m.accounted === true])).toEqual([
      ['400000', '401000', 1, '0', '', false],
      ['401000', 'a78000', 5, '1000', '', false],
      ['a78000', 'c94000', 1, '678000', '', false],
      ['c94000', 'ca2000', 1, '894000', '', true],
      ['ca2000', 'ca6000', 3, '8a2000', '', true],
      ['ca6000', '1332000', 3, null, '', true],
      ['1332000', (0x1332000 + EXEC_HEAP_BYTES).toString(16), 3, null, '[heap]', true],
    ]);
    expect(im?.fileBytes).toBe(0x8a6000);
    // the default image is laid out the same way
    expect(DEFAULT_EXEC_IMAGE.mappings.map((m) => m.prot)).toEqual(im?.mappings.map((m) => m.prot));
  });

  it("the image file holds the binary's bytes: a read of its text finds them (7.2.13: a generated program read 0x48 at 0x401000)", () => {
    const small = Buffer.alloc(0x2000);
    elf([[1, 5, 0, 0x400000, 0x2000, 0x2000]]).copy(small);
    small[0x1000] = 0x48;
    const im = execImageOfElf(small);
    expect(im?.contents?.length).toBe(0x2000);
    const p: Program = { name: 'text', calls: [{ op: 'read_memory', addr: 0x401000, length: 1 }] };
    expect(runModel(p, 'latest', { processLayout: 'exec', execImage: im }).results[0].outputs.data).toBe('48');
    // the default image has only an ELF header: zeros there
    expect(runModel(p, 'latest', { processLayout: 'exec' }).results[0].outputs.data).toBe('00');
  });

  it('RELRO that starts past the first page of the data segment leaves the pages before it writable', () => {
    const im = execImageOfElf(
      elf([
        [1, 5, 0, 0x400000, 0x1000, 0x1000],
        [1, 6, 0x1000, 0x401000, 0x3000, 0x5000],
        [0x6474e552, 4, 0x2000, 0x402000, 0x1800, 0x1800],
      ]),
    );
    expect(im?.mappings.map((m) => [m.start.toString(16), m.end.toString(16), m.prot, m.offset === null ? null : m.offset.toString(16)])).toEqual([
      ['400000', '401000', 5, '0'],
      ['401000', '402000', 3, '1000'],
      ['402000', '403000', 1, '2000'],
      ['403000', '404000', 3, '3000'],
      ['404000', '406000', 3, null],
      ['406000', (0x406000 + EXEC_HEAP_BYTES).toString(16), 3, null],
    ]);
  });

  it('refuses what is not an ELF64 little-endian executable', () => {
    expect(execImageOfElf(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
    const be = Buffer.from(BATCH);
    be[5] = 2;
    expect(execImageOfElf(be)).toBeUndefined();
  });

  it('the model lays the batch image out: an mremap of a page of its text is EPERM to 0, EFAULT in the one-program image', () => {
    const p: Program = { name: 'img', calls: [{ op: 'mremap', addr: 0x524000, old_length: 0x8000, new_length: 0x8000, flags: ['MAYMOVE', 'FIXED'], new_addr: 0 }] };
    expect(runModel(p, 'latest', { processLayout: 'exec' }).results[0].errno).toBe('EFAULT');
    const im = execImageOfElf(BATCH);
    expect(runModel(p, 'latest', { processLayout: 'exec', execImage: im }).results[0].errno).toBe('EPERM');
  });
});
