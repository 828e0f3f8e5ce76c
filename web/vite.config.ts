// SPDX-License-Identifier: GPL-2.0-only
// The explorer page: one self-contained HTML file (scripts and styles inlined),
// web/template/explorer.html (committed: the project ignores dist/), into which `iommufd-sim explore` puts the data.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  build: {
    outDir: resolve(here, 'template'),
    emptyOutDir: false,
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: { input: resolve(here, 'explorer.html') },
  },
});
