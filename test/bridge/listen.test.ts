// SPDX-License-Identifier: GPL-2.0-only
/**
 * BridgeServer.listen() ends only once its tick worker runs: a new thread's
 * V8 setup reads /proc/self/maps through descriptors opened without
 * O_CLOEXEC, and a program spawned during that setup inherited one (1 run in
 * about 30 of a 3000-call sweep gave every later model descriptor one number
 * higher than the kernel did).
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BridgeServer } from '../../src/bridge/server.js';

/** This process's descriptors without O_CLOEXEC that name a /proc/PID/maps file. */
function inheritableMaps(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (/^\/proc\/\d+\/maps$/.test(link) && flags !== null && (Number.parseInt(flags[1], 8) & 0o2000000) === 0) out.push(`${fd} ${link}`);
    } catch {
      // closed meanwhile (readdir's own descriptor)
    }
  }
  return out;
}

describe('bridge server: listen', () => {
  it('ends once the tick worker runs, with no inheritable /proc/PID/maps descriptor left by its setup', async () => {
    for (let i = 0; i < 5; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-listen-'));
      const server = new BridgeServer({ memory: '64M' });
      try {
        await server.listen(join(dir, 'sock'));
        expect(server.tickerRunning).toBe(true);
        expect(inheritableMaps()).toEqual([]);
      } finally {
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
