// SPDX-License-Identifier: GPL-2.0-only
/** `iommufd-sim exec` on the command line: usage errors give 2, otherwise the program's status. */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function quiet(argv: string[]): Promise<number> {
  const w = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await main(argv);
  } finally {
    process.stderr.write = w;
  }
}

describe('iommufd-sim exec', () => {
  it('exits with the program status', async () => {
    expect(await quiet(['exec', '--', '/bin/sh', '-c', 'exit 3'])).toBe(3);
    expect(await quiet(['exec', '--profile', 'v6.12', '--', '/bin/true'])).toBe(0);
    expect(await quiet(['exec', '--caps', 'none', '--', '/bin/true'])).toBe(0);
  });

  it('bad usage is status 2', async () => {
    expect(await quiet(['exec'])).toBe(2);
    expect(await quiet(['exec', '--profile', 'v9.9', '--', '/bin/true'])).toBe(2);
    expect(await quiet(['exec', '--caps', 'CAP_NOPE', '--', '/bin/true'])).toBe(2);
    expect(await quiet(['exec', '--thp', 'sometimes', '--', '/bin/true'])).toBe(2);
  });

  it("--thp sets the mode the program reads (default always, as the oracle VMs boot)", async () => {
    const knob = '/sys/kernel/mm/transparent_hugepage/enabled';
    const is = (want: string): string[] => ['--', '/bin/sh', '-c', `test "$(cat ${knob})" = '${want}'`];
    expect(await quiet(['exec', ...is('[always] madvise never')])).toBe(0);
    expect(await quiet(['exec', '--thp', 'madvise', ...is('always [madvise] never')])).toBe(0);
    expect(await quiet(['exec', '--thp', 'never', ...is('always madvise [never]')])).toBe(0);
    expect(await quiet(['exec', '--thp', 'never', ...is('[always] madvise never')])).toBe(1);
  });

  it('--no-aslr runs the program with its stack at the top of user space, as the oracle VMs do', async () => {
    const top = ['/bin/sh', '-c', 'grep -q -- "-7ffffffff000 .*\\[stack\\]" /proc/self/maps'];
    expect(await quiet(['exec', '--no-aslr', '--', ...top])).toBe(0);
  });

  it('a program that cannot be started is 127', async () => {
    expect(await quiet(['exec', '--', '/nonexistent/prog'])).toBe(127);
  });
});
