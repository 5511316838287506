/**
 * A device lost mid-run (issue #10) is reported as that, with the reason and where the last
 * checkpoint is, instead of an AbortError with an empty message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createContext } from '../../src/autograd/context.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { openCheckpoint } from '../../src/node/checkpoint-store.js';
import { DeviceLostError } from '../../src/node/errors.js';
import { runTrainingExplained } from '../../src/node/training-run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a device lost in epoch 2 names the reason and the epoch-1 checkpoint, which still loads', async () => {
  const ctx = await createContext();
  const dataset = generateSynthetic({ seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
  const out = join(dir, 'lost');
  try {
    const run = runTrainingExplained(ctx, {
      out,
      dataset,
      data: { kind: 'synthetic', options: { seed: 3 } },
      dataFingerprint: [],
      config: resolveConfig({ dim: 8, kMax: 2, hiddenUnits: [8], numSampled: 8, seed: 5 }),
      settings: { epochs: 3, batchSize: 32, baseline: false },
      log: () => {},
      progress: () => ({
        update: (p) => p.phase === 'validate' && p.epoch === 2 && ctx.gpu.device.destroy(),
        stop: () => {},
      }),
    });
    const error = (await run.catch((e) => e)) as DeviceLostError;
    expect(error).toBeInstanceOf(DeviceLostError);
    expect(error.message).toMatch(/^the GPU device was lost during training \(reason: destroyed/);
    expect(error.hint).toMatch(new RegExp(`^the last checkpoint in ${out} is MIND at step \\d+; continue with: mind train --resume ${out}$`));
    const checkpoint = await openCheckpoint(out);
    expect(checkpoint.has('resume.json')).toBe(true);
  } finally {
    ctx.destroy();
  }
});
