// SPDX-License-Identifier: GPL-2.0-only
/**
 * Build the LD_PRELOAD shim from its C source with the system compiler ($CC
 * or `cc`) into node_modules/.cache/iommufd-sim/, keyed by a hash of the
 * sources and the compiler command, so it is compiled once per change.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The shim's sources (src/bridge/shim). */
export const SHIM_DIR = resolve(HERE, '../../src/bridge/shim');
const SOURCES = ['shim.c', 'protocol.h'];
const CFLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror=implicit-function-declaration', '-Wl,-z,defs'];
const LIBS = ['-ldl', '-lpthread'];

/** A missing or failing compiler, or missing sources. */
export class ShimBuildError extends Error {}

/** The project's cache directory (node_modules/.cache/iommufd-sim). */
export function cacheDir(): string {
  return resolve(HERE, '../../node_modules/.cache/iommufd-sim');
}

/** Path of the compiled shim, building it first when the cache has none for these sources. */
export function buildShim(opts: { cc?: string; cacheDir?: string } = {}): string {
  const cc = opts.cc ?? process.env.CC ?? 'cc';
  const h = createHash('sha256');
  for (const f of SOURCES) {
    const p = join(SHIM_DIR, f);
    if (!existsSync(p)) throw new ShimBuildError(`shim source missing: ${p}`);
    h.update(f).update(readFileSync(p));
  }
  h.update([cc, ...CFLAGS, ...LIBS].join(' '));
  const dir = opts.cacheDir ?? cacheDir();
  const out = join(dir, `shim-${h.digest('hex').slice(0, 16)}.so`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, [...CFLAGS, '-o', tmp, join(SHIM_DIR, 'shim.c'), ...LIBS], { encoding: 'utf8' });
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ShimBuildError(`C compiler '${cc}' not found: iommufd-sim exec compiles its LD_PRELOAD shim with it (install a C compiler, e.g. gcc, or set CC)`);
    throw new ShimBuildError(`cannot run C compiler '${cc}': ${r.error.message}`);
  }
  if (r.status !== 0) throw new ShimBuildError(`C compiler '${cc}' failed building the shim:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}
