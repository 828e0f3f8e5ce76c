// SPDX-License-Identifier: GPL-2.0-only
/**
 * The image a static, non-PIE x86-64 binary gets at exec with randomization
 * off, read from its ELF program headers, for the model's side of an oracle
 * comparison: the VM runs a batch of programs as one multicall binary, whose
 * text and bss are far larger than the one-program image the model lays out
 * by default (EXEC_IMAGE, which ends at 0x4da000; a batch of 400 reaches
 * past 0x1300000), so a call naming an address in between would meet the
 * binary on the kernel and nothing in the model.
 *
 * What load_elf_binary() and the static glibc start-up leave, as EXEC_IMAGE
 * describes it: each PT_LOAD a private file mapping of its pages (the file
 * offset page-aligned), its bss past the file anonymous, the PT_GNU_RELRO
 * pages of the data made read-only by _dl_protect_relro() (both ends aligned
 * down), and the brk [heap] right after the bss; and the file's bytes, so
 * that a read of its text or rodata finds what the kernel's process does.
 */
import { readFileSync } from 'node:fs';
import { EXEC_HEAP_BYTES, type ExecImage, type ExecImageMapping } from '../mm/address-space.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/constants.js';

const PAGE = 4096;
const PT_LOAD = 1;
const PT_GNU_RELRO = 0x6474e552;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

const down = (v: number): number => Math.floor(v / PAGE) * PAGE;
const up = (v: number): number => Math.ceil(v / PAGE) * PAGE;

interface Phdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** The program headers of an ELF64 little-endian executable, or undefined for anything else. */
function programHeaders(b: Buffer): Phdr[] | undefined {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return undefined;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  if (phentsize < 56 || phoff + phnum * phentsize > b.length) return undefined;
  const out: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    out.push({
      type: b.readUInt32LE(o),
      flags: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 8)),
      vaddr: Number(b.readBigUInt64LE(o + 16)),
      filesz: Number(b.readBigUInt64LE(o + 32)),
      memsz: Number(b.readBigUInt64LE(o + 40)),
    });
  }
  return out;
}

/** The exec image of the static binary in `bytes` (undefined: not a static ELF64 executable the model can lay out). */
export function execImageOfElf(bytes: Buffer): ExecImage | undefined {
  const ph = programHeaders(bytes);
  if (ph === undefined) return undefined;
  const loads = ph.filter((p) => p.type === PT_LOAD).sort((a, b) => a.vaddr - b.vaddr);
  if (loads.length === 0 || loads.some((p) => p.vaddr % PAGE !== p.offset % PAGE || !Number.isSafeInteger(p.vaddr + p.memsz))) return undefined;
  const relro = ph.find((p) => p.type === PT_GNU_RELRO);
  const mappings: ExecImageMapping[] = [];
  let fileBytes = 0;
  let brk = 0;
  for (const p of loads) {
    const prot = (p.flags & PF_R ? PROT_READ : 0) | (p.flags & PF_W ? PROT_WRITE : 0) | (p.flags & PF_X ? PROT_EXEC : 0);
    const start = down(p.vaddr);
    const fileEnd = up(p.vaddr + p.filesz);
    const memEnd = up(p.vaddr + p.memsz);
    const off = down(p.offset);
    const writable = (prot & PROT_WRITE) !== 0;
    let at = start;
    if (writable && relro !== undefined && relro.vaddr >= start && relro.vaddr < fileEnd) {
      // _dl_protect_relro(): both ends aligned down, nothing when they meet
      const rStart = down(relro.vaddr);
      const rEnd = Math.min(down(relro.vaddr + relro.memsz), fileEnd);
      if (rEnd > rStart) {
        if (rStart > start) mappings.push({ start, end: rStart, prot, offset: off, accounted: true });
        mappings.push({ start: rStart, end: rEnd, prot: prot & ~PROT_WRITE, offset: off + (rStart - start), accounted: true });
        at = rEnd;
      }
    }
    if (fileEnd > at) mappings.push({ start: at, end: fileEnd, prot, offset: off + (at - start), ...(writable ? { accounted: true } : {}) });
    if (memEnd > fileEnd) mappings.push({ start: fileEnd, end: memEnd, prot, offset: null, accounted: true });
    fileBytes = Math.max(fileBytes, off + (fileEnd - start));
    brk = Math.max(brk, memEnd);
  }
  mappings.push({ start: brk, end: brk + EXEC_HEAP_BYTES, prot: PROT_READ | PROT_WRITE, offset: null, name: '[heap]', accounted: true });
  // the bytes too: a read of the text or rodata finds the binary's own (its data and bss the program changes as it runs)
  return { mappings, fileBytes, contents: new Uint8Array(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, fileBytes)) };
}

/** execImageOfElf() of a file. */
export function execImageOfFile(path: string): ExecImage | undefined {
  return execImageOfElf(readFileSync(path));
}
