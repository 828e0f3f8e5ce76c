// SPDX-License-Identifier: GPL-2.0-only
// The run report's helpers: values in the expectation's units, line
// wrapping, and wide tables (coloured or not) turned into one line per row.
import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { fitTables, valueLike, wrapLine } from '../../src/cli/run-view.js';

describe('run-view', () => {
  it('writes got values the way the expectation is written', () => {
    expect(valueLike('64M', 64 << 20)).toBe('64M');
    expect(valueLike('64M', 3 << 20)).toBe('3M');
    expect(valueLike('1G', 2 << 20)).toBe('2M');
    expect(valueLike('4K', 4097)).toBe('4097');
    expect(valueLike('0x1000', 8192)).toBe('0x2000');
    expect(valueLike('16384', 4096n)).toBe('4096');
    expect(valueLike(16384, 16384)).toBe('0x4000');
    expect(valueLike(7, 1)).toBe('1');
    expect(valueLike('$dev.hwpt_id', 4)).toBe('4');
  });

  it('wraps at spaces with an indent, and cuts words longer than a line', () => {
    expect(wrapLine('aaa bbb ccc ddd', 8, 2)).toEqual(['aaa bbb', '  ccc', '  ddd']);
    expect(wrapLine('short', 80, 4)).toEqual(['short']);
    expect(wrapLine('x'.repeat(20), 8, 0)).toEqual(['xxxxxxxx', 'xxxxxxxx', 'xxxx']);
  });

  it('leaves tables that fit and turns wider ones, coloured or not, into one line per row', () => {
    const narrow = new Table({ head: ['a', 'b'], style: { head: [], border: [] } });
    narrow.push(['1', '2']);
    expect(fitTables(`title\n${narrow.toString()}\nafter`, 40)).toBe(`title\n${narrow.toString()}\nafter`);
    for (const style of [{ head: [], border: [] }, { head: ['cyan'], border: ['grey'] }]) {
      const t = new Table({ head: ['pages', 'user VA', 'npages', 'empty', 'account'], style });
      t.push(['#0', '0x7ffff3e00000', '16384', '', 'user']);
      t.push(['#1', '0x1000', '1', '', 'mm']);
      expect(fitTables(`Pages\n${t.toString()}\nend`, 40)).toBe(['Pages', '  pages #0: user VA 0x7ffff3e00000,', '    npages 16384, account user', '  pages #1: user VA 0x1000, npages 1,', '    account mm', 'end'].join('\n'));
    }
  });
});
