// SPDX-License-Identifier: GPL-2.0-only
/**
 * The oracle's initramfs: the prebuilt one of `../shared/oracle*` (busybox and
 * its /init) followed by a second gzip'd cpio (newc) archive holding our /init,
 * the multi-call program binary and the list of programs to run. The kernel
 * unpacks concatenated archives in order (init/initramfs.c: unpack_to_rootfs),
 * and a later file of the same name replaces the earlier one, so our /init wins.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

export interface CpioFile {
  /** Path inside the archive, without a leading slash ("init", "bin/x"). */
  name: string;
  /** File contents; absent for a directory. */
  data?: Uint8Array;
  /** Permission bits (default 0755 for files, 0755 for directories). */
  perm?: number;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** A cpio archive in the "newc" format (what the kernel's initramfs reader takes). */
export function cpioNewc(files: readonly CpioFile[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const entry = (name: string, mode: number, data: Uint8Array): void => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const header =
      '070701' +
      [ino++, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join('');
    parts.push(Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)));
    if (data.length) parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(pad4(data.length)));
  };
  for (const f of files) {
    const name = f.name.replace(/^\/+/, '');
    if (f.data === undefined) entry(name, S_IFDIR | (f.perm ?? 0o755), new Uint8Array(0));
    else entry(name, S_IFREG | (f.perm ?? 0o755), f.data);
  }
  entry('TRAILER!!!', 0, new Uint8Array(0));
  return Buffer.concat(parts);
}

/** The base initramfs (gzip'd cpio) with our files appended as a second gzip'd archive. */
export function extendInitramfs(basePath: string, files: readonly CpioFile[]): Buffer {
  const base = readFileSync(basePath);
  return Buffer.concat([base, gzipSync(cpioNewc(files), { level: 1 })]);
}

/**
 * The kernel release in a bzImage: the setup header's kernel_version field
 * (offset 0x20e) points, relative to 0x200, at "6.12.95 (builder@host) #1 ...".
 * Undefined when the file is not a bzImage.
 */
export function bzImageRelease(image: Uint8Array): string | undefined {
  if (image.length < 0x210) return undefined;
  const magic = Buffer.from(image.subarray(0x202, 0x206)).toString('latin1');
  if (magic !== 'HdrS') return undefined;
  const off = (image[0x20e] | (image[0x20f] << 8)) + 0x200;
  if (off >= image.length) return undefined;
  let end = off;
  while (end < image.length && end - off < 256 && image[end] !== 0) end++;
  const text = Buffer.from(image.subarray(off, end)).toString('latin1');
  const m = /^(\d+\.\d+[^\s]*)/.exec(text);
  return m ? m[1] : undefined;
}
