#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// The iommufd-sim command. In a source checkout (tsx installed) it runs
// src/cli/main.ts through tsx's loader, so no build step is needed; in an
// installed package it runs the compiled dist/cli/main.js.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'cli', 'main.ts');
const dist = join(root, 'dist', 'cli', 'main.js');

async function load() {
  if (existsSync(src) && process.env.IOMMUFD_SIM_DIST !== '1') {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(pathToFileURL(src).href);
    } catch (e) {
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(dist)) throw e;
    }
  }
  return import(pathToFileURL(dist).href);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
