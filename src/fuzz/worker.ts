// SPDX-License-Identifier: GPL-2.0-only
/**
 * The tinypool worker of multi-worker fuzzing campaigns (campaign.ts): one
 * round of one fuzzer per task.
 */
import { type RoundResult, type RoundTask, runRound } from './campaign.js';

export default function fuzzRound(task: RoundTask): RoundResult {
  return runRound(task);
}
