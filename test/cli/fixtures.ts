/** Small interaction files for the command's tests: a synthetic log written as CSV. */
import { writeFileSync } from 'node:fs';
import { generateSynthetic } from '../../src/data/synthetic.js';

/** Writes `numUsers` synthetic users' interactions to `path` as `userId,itemId,timestamp`. */
export function writeInteractions(path: string, numUsers = 60, seed = 4): void {
  const source = generateSynthetic({ seed, numItems: 80, numCategories: 6, numUsers, minSequenceLength: 4, maxSequenceLength: 12 });
  const rows = ['userId,itemId,timestamp'];
  source.users.forEach((user) => user.items.forEach((id, t) => rows.push(`${user.name},${source.itemNames[id]},${t}`)));
  writeFileSync(path, `${rows.join('\n')}\n`);
}

/** Model settings small enough for a CLI test to train in seconds. */
export const TINY = ['--seq-len', '8', '--dim', '8', '--k', '2', '--hidden', '8', '--num-sampled', '8'];
