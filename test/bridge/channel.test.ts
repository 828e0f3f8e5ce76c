// SPDX-License-Identifier: GPL-2.0-only
/**
 * The reply channel (server side): a reply lands in the process's channel
 * page before its seq moves; a shim that said OP.SLEEP gets exactly one
 * wake-up byte on its FIFO, at once when the seq it waits past has moved
 * already, else with the next reply; a reply too big for the page goes on
 * the FIFO after its mark, with the seq's bit 0 telling the shim so; HELLO's
 * reply always on the FIFO. The C side (shim.c chan_wait) is exercised by
 * every exec test, the sleeping path always by the one with `spin: { us: 0 }`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHAN_MARK, CHAN_REPLY, CHAN_SIZE, CHAN_WAKE, REP_HEADER, encodeReply } from '../../src/bridge/protocol.js';
import { sendReply, sleepUntilPast } from '../../src/bridge/server.js';

let dir: string;
let chan: number;
let fifoR: number;
let fifoW: number;
let b: { chanFd: number; chanSeq: number; replyFd: number; sleeper: boolean };

function seq(): number {
  const w = Buffer.alloc(4);
  readSync(chan, w, 0, 4, 0);
  return w.readUInt32LE(0);
}

function fifoBytes(): Buffer {
  const out = Buffer.alloc(CHAN_SIZE * 2);
  try {
    return out.subarray(0, readSync(fifoR, out, 0, out.length, null));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return Buffer.alloc(0);
    throw e;
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-chan-'));
  writeFileSync(join(dir, 'm'), Buffer.alloc(CHAN_SIZE));
  chan = openSync(join(dir, 'm'), 'r+');
  execFileSync('mkfifo', [join(dir, 'r')]);
  fifoR = openSync(join(dir, 'r'), constants.O_RDONLY | constants.O_NONBLOCK);
  fifoW = openSync(join(dir, 'r'), constants.O_WRONLY | constants.O_NONBLOCK);
  b = { chanFd: chan, chanSeq: 0, replyFd: fifoW, sleeper: false };
});

afterEach(() => {
  for (const fd of [chan, fifoR, fifoW]) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe('bridge reply channel', () => {
  it('puts the reply in the page, then moves seq by 2; no FIFO bytes while the shim waits awake', () => {
    expect(sendReply(b, encodeReply({ ret: -22, s: 'abc' }, 50))).toBe(false);
    expect(seq()).toBe(2);
    const page = Buffer.alloc(REP_HEADER + 3);
    readSync(chan, page, 0, page.length, CHAN_REPLY);
    expect(page.readBigInt64LE(0)).toBe(-22n);
    expect(page.readUInt32LE(24)).toBe(3);
    expect(page.readUInt32LE(28)).toBe(50);
    expect(page.subarray(REP_HEADER).toString()).toBe('abc');
    expect(fifoBytes().length).toBe(0);
    sendReply(b, encodeReply({ ret: 7 }));
    expect(seq()).toBe(4);
  });

  it('wakes a shim that said it sleeps with one byte, with the reply it waits for', () => {
    sleepUntilPast(b, 0);
    expect(fifoBytes().length).toBe(0);
    expect(sendReply(b, encodeReply({ ret: 0 }))).toBe(true);
    expect(seq()).toBe(2);
    expect([...fifoBytes()]).toEqual([CHAN_WAKE]);
    // one byte per OP.SLEEP: the next reply wakes nobody
    expect(sendReply(b, encodeReply({ ret: 0 }))).toBe(false);
    expect(fifoBytes().length).toBe(0);
  });

  it('wakes at once a shim whose reply was out before its OP.SLEEP came', () => {
    sendReply(b, encodeReply({ ret: 0 }));
    sleepUntilPast(b, 0);
    expect([...fifoBytes()]).toEqual([CHAN_WAKE]);
    expect(b.sleeper).toBe(false);
  });

  it('sends a reply bigger than the page on the FIFO after its mark, seq bit 0 set', async () => {
    const big = 'x'.repeat(CHAN_SIZE);
    const r = Buffer.from(encodeReply({ ret: 1, s: big }));
    // more than a pipe holds: a reader drains it meanwhile, as the shim does
    const out = join(dir, 'out');
    const reader = spawn('sh', ['-c', `head -c ${r.length + 1} ${join(dir, 'r')} > ${out}`]);
    const done = new Promise((resolve) => reader.on('exit', resolve));
    expect(sendReply(b, r)).toBe(false);
    expect(seq()).toBe(3);
    await done;
    const got = readFileSync(out);
    expect(got[0]).toBe(CHAN_MARK);
    expect(got.subarray(1).equals(r)).toBe(true);
    // a shim asleep for a big reply wakes on its mark: no extra wake-up byte after it
    b.sleeper = true;
    const reader2 = spawn('sh', ['-c', `head -c ${r.length + 1} ${join(dir, 'r')} > ${out}`]);
    const done2 = new Promise((resolve) => reader2.on('exit', resolve));
    expect(sendReply(b, r)).toBe(false);
    await done2;
    expect(b.sleeper).toBe(false);
    expect(seq()).toBe(5);
    expect(fifoBytes().length).toBe(0);
    // the next small reply is in the page again, seq even and past the odd one
    sendReply(b, encodeReply({ ret: 2 }));
    expect(seq()).toBe(6);
  });

  it("answers HELLO on the FIFO (the shim's channel is not known to be read yet)", () => {
    const r = Buffer.from(encodeReply({ ret: 0, b1: 9, s: '3:1' }));
    sendReply(b, r, true);
    expect(seq()).toBe(0);
    expect(fifoBytes().equals(r)).toBe(true);
  });
});
