#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// The iommufd-sim command. It starts from the compiled dist/cli/main.js
// whenever that is current: always in an installed package (no src/), and in
// a checkout when every src/**/*.ts has its dist/**/*.js at least as new
// (`npm run build`). Otherwise, in a checkout with tsx, it runs
// src/cli/main.ts through tsx, so an edited source never runs as older
// compiled code. IOMMUFD_SIM_DIST=1 forces dist/, IOMMUFD_SIM_DIST=0 forces src/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');
const distDir = join(root, 'dist');
const src = join(srcDir, 'cli', 'main.ts');
const dist = join(distDir, 'cli', 'main.js');

/** Every .ts under src/ has a .js under dist/ no older than it. */
function distIsCurrent() {
  if (!existsSync(dist)) return false;
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop();
    for (const e of readdirSync(join(srcDir, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) stack.push(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const js = join(distDir, r.slice(0, -3) + '.js');
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(srcDir, r)).mtimeMs) return false;
      }
    }
  }
  return true;
}

async function load() {
  const force = process.env.IOMMUFD_SIM_DIST;
  const useSrc = existsSync(src) && force !== '1' && (force === '0' || !distIsCurrent());
  if (useSrc) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(pathToFileURL(src).href);
    } catch (e) {
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes("'tsx'") || !existsSync(dist)) throw e;
      process.stderr.write('iommufd-sim: tsx is not installed; running dist/, which is older than src/ (run `npm run build`)\n');
    }
  }
  return import(pathToFileURL(dist).href);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
