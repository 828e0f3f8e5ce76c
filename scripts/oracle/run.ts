// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim oracle` without the main CLI (the same command, registered on
 * its own): `npx tsx scripts/oracle/run.ts --kernel BZIMAGE PROGRAMS...`.
 */
import { Command } from 'commander';
import { register } from '../../src/cli/oracle.js';
import { UsageError } from '../../src/cli/errors.js';

async function main(): Promise<void> {
  const program = new Command('iommufd-sim');
  program.exitOverride();
  register(program);
  try {
    await program.parseAsync(['node', 'iommufd-sim', 'oracle', ...process.argv.slice(2)]);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`iommufd-sim oracle: ${e.message}\n`);
      process.exitCode = 2;
    } else if (e && typeof e === 'object' && 'exitCode' in e) {
      process.exitCode = (e as { exitCode: number }).exitCode === 0 ? 0 : 2;
    } else throw e;
  }
}

void main();
