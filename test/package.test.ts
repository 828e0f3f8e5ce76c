// SPDX-License-Identifier: GPL-2.0-only
// The npm package as a dependency: pack it (npm pack), install the tarball
// in a scratch project offline (npm ci from the npm cache, with a lock file
// made from this repository's), then compile a TypeScript consumer with the
// options `tsc --init` writes (0 errors), run it, run a plain .mjs and a
// .cjs consumer, and the installed command (--version, run; selftest and
// bench say why they cannot run outside a checkout).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-pkg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env, timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every src/**.ts has its dist/**.js at least as new (what bin/iommufd-sim.js checks too). */
function distIsCurrent(): boolean {
  const walk = (rel: string): boolean =>
    readdirSync(join(ROOT, 'src', rel), { withFileTypes: true }).every((e) => {
      const r = join(rel, e.name);
      if (e.isDirectory()) return walk(r);
      if (!e.name.endsWith('.ts')) return true;
      const js = join(ROOT, 'dist', `${r.slice(0, -3)}.js`);
      return existsSync(js) && statSync(js).mtimeMs >= statSync(join(ROOT, 'src', r)).mtimeMs && existsSync(`${js.slice(0, -3)}.d.ts`);
    });
  return walk('');
}

/** A lock file for `consumer` depending on the tarball, with this repository's locked versions of the package's dependencies. */
function consumerLock(tgz: string, integrity: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: object; license: string };
  const out: Record<string, object> = {};
  const todo = Object.keys(pkg.dependencies);
  const seen = new Set<string>();
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const [k, e] of Object.entries(lock.packages)) {
      if (k !== `node_modules/${name}` && !k.startsWith(`node_modules/${name}/node_modules/`)) continue;
      out[k] = e;
      todo.push(...Object.keys(e.dependencies ?? {}), ...Object.keys(e.optionalDependencies ?? {}));
    }
  }
  const root = { name: 'consumer', version: '1.0.0', dependencies: { 'iommufd-sim': `file:${tgz}` } };
  out['node_modules/iommufd-sim'] = { version: pkg.version, resolved: `file:${tgz}`, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines };
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': root, ...out } };
}

const TS_CONSUMER = `import { ENOENT, IommufdClient, Machine, PROFILE_NAMES, exportC, parseProgram, runProgram } from 'iommufd-sim';
import { OPS } from 'iommufd-sim/program';
import { main } from 'iommufd-sim/cli';

const machine = new Machine({ profile: 'latest' });
const proc = machine.spawn({ memlock: 'unlimited' });
const iommufd = IommufdClient.open(proc);
const ioas: number = iommufd.ioasAlloc();
const parsed = parseProgram('calls:\\n  - { op: open }\\n  - { op: ioas_alloc, expect: { ioas_id: 1 } }\\n');
if (!parsed.ok) throw new Error(parsed.error);
const run = runProgram(parsed.program, { audit: true });
const c: string = exportC(parsed.program);
console.log(JSON.stringify({ ioas, ENOENT, profiles: PROFILE_NAMES.length, failed: run.failed, ops: 'check_state' in OPS, c: c.includes('IOMMU_IOAS_ALLOC'), main: typeof main }));
`;

describe('the npm package as a dependency', () => {
  it('packs, installs offline, and works from TypeScript, .mjs, .cjs and its command', { timeout: 300_000 }, () => {
    // 1. The package contents: this checkout's files, dist/ built from src/ (or the current build).
    const stage = join(tmp, 'stage');
    mkdirSync(stage);
    // Everything package.json's `files` names, as it is in the checkout, but dist/ (built below).
    const shipped = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
    for (const f of ['package.json', ...shipped.filter((x) => x !== 'dist')]) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
    if (distIsCurrent()) cpSync(join(ROOT, 'dist'), join(stage, 'dist'), { recursive: true });
    else sh(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], ROOT);
    expect(existsSync(join(stage, 'dist', 'index.d.ts'))).toBe(true);

    const packed = sh('npm', ['pack', '--ignore-scripts', '--json'], stage);
    expect(packed.status, packed.stderr).toBe(0);
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info[0].files.map((f) => f.path);
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('bin/iommufd-sim.js');
    expect(files).toContain('examples/vm-boot.yaml');
    expect(files).toContain('web/template/explorer.html');
    expect(files.some((f) => f.startsWith('src/'))).toBe(false);
    const pj = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as { types: string; exports: Record<string, Record<string, string> | string> };
    expect(pj.types).toBe('./dist/index.d.ts');
    for (const cond of ['types', 'import', 'require', 'default']) expect(Object.keys(pj.exports['.'])).toContain(cond);
    for (const [sub, e] of Object.entries(pj.exports)) {
      const targets = typeof e === 'string' ? [e] : Object.values(e);
      for (const t of targets) expect(files, `${sub} → ${t}`).toContain(t.slice(2));
    }

    // 2. A scratch project installs the tarball without the network.
    const tgz = join(stage, info[0].filename);
    const consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { 'iommufd-sim': `file:${tgz}` } }));
    writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(tgz, integrity)));
    const ci = sh('npm', ['ci', '--offline', '--ignore-scripts'], consumer);
    expect(ci.status, ci.stderr).toBe(0);

    // 3. TypeScript with `tsc --init`'s options: 0 errors, and it runs.
    expect(sh(process.execPath, [TSC, '--init'], consumer).status).toBe(0);
    const tsconfig = readFileSync(join(consumer, 'tsconfig.json'), 'utf8');
    expect(tsconfig).toMatch(/"module": "nodenext"/);
    writeFileSync(join(consumer, 'tsconfig.json'), tsconfig.replace('"compilerOptions": {', '"compilerOptions": {\n    "outDir": "out",'));
    writeFileSync(join(consumer, 'index.ts'), TS_CONSUMER);
    const tsc = sh(process.execPath, [TSC, '-p', consumer], consumer);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const ts = sh(process.execPath, [join(consumer, 'out', 'index.js')], consumer);
    expect(ts.stderr).toBe('');
    expect(JSON.parse(ts.stdout)).toEqual({ ioas: 1, ENOENT: 2, profiles: 4, failed: false, ops: true, c: true, main: 'function' });

    // 4. Plain JavaScript, as ES module and as CommonJS.
    writeFileSync(
      join(consumer, 'plain.mjs'),
      "import { Machine, IommufdClient } from 'iommufd-sim';\nconst p = new Machine({}).spawn({ memlock: '8M' });\nconsole.log(IommufdClient.open(p).ioasAlloc());\n",
    );
    const mjs = sh(process.execPath, ['plain.mjs'], consumer);
    expect(mjs.stderr).toBe('');
    expect(mjs.stdout).toBe('1\n');
    writeFileSync(join(consumer, 'plain.cjs'), "const { Machine, IommufdClient } = require('iommufd-sim');\nconst p = new Machine({}).spawn({ memlock: '8M' });\nconsole.log(IommufdClient.open(p).ioasAlloc());\n");
    const cjs = sh(process.execPath, ['plain.cjs'], consumer);
    expect(cjs.stderr).toBe('');
    expect(cjs.stdout).toBe('1\n');

    // 5. The installed command.
    const bin = join(consumer, 'node_modules', '.bin', 'iommufd-sim');
    const version = sh(bin, ['--version'], consumer);
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
    const run = sh(bin, ['run', '-q', 'node_modules/iommufd-sim/examples/vm-boot.yaml'], consumer);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/result: PASS\n$/);
    // The explorer's page template ships with the package (web/template).
    const page = sh(bin, ['explore', 'node_modules/iommufd-sim/examples/access-rw.yaml', '-o', 'page.html'], consumer);
    expect(page.status, page.stderr).toBe(0);
    const html = readFileSync(join(consumer, 'page.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('ioas_alloc');
    for (const cmd of ['selftest', 'bench']) {
      const r = sh(bin, [cmd], consumer);
      expect(r.status, cmd).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`part of the source repository, not of the npm package; run \`iommufd-sim ${cmd}\` in a clone`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
