/**
 * A training step's traffic between host and device does not grow with the catalogue (issue
 * 14): the same data set trained with 200,000 extra (never drawn) items uploads, reads back and
 * dispatches per step what it does without them. Only the per-step work counts: between the
 * progress reports of steps 2 to 5 (model creation and the end-of-run snapshot are O(N) by nature).
 * The host-side plan of the embedding backward is checked separately (transpose-bags.test.ts).
 */
import { describe, expect, test } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { train } from '../../src/train/trainer.js';
import { useContext } from '../helpers/gpu.js';

const getCtx = useContext();

const small = generateSynthetic({ seed: 4, numItems: 80, numCategories: 8, numUsers: 60, minSequenceLength: 4, maxSequenceLength: 12, maxLength: 8 });
const EXTRA = 200_000;
const large: Dataset = { ...small, numItems: small.numItems + EXTRA, itemCounts: Float64Array.from({ length: small.numItems + EXTRA }, (_, i) => small.itemCounts[i] ?? 0) };

/** Bytes uploaded, bytes read back and dispatches of each step after the first, for `dataset`. */
async function perStep(dataset: Dataset) {
  const ctx = getCtx();
  const gpu = ctx.gpu;
  const counts = { upload: 0, read: 0 };
  const upload = gpu.upload.bind(gpu);
  const read = gpu.read.bind(gpu);
  gpu.upload = (buffer, data, offset) => ((counts.upload += data.byteLength), upload(buffer, data, offset));
  gpu.read = (buffer, bytes, offset) => ((counts.read += bytes), read(buffer, bytes, offset));
  const steps: { upload: number; read: number; dispatches: number }[] = [];
  let last = { upload: 0, read: 0, dispatches: 0 };
  try {
    const result = await train(ctx, dataset, { dim: 8, kMax: 2, hiddenUnits: [8], numSampled: 16, seed: 5, sampler: 'uniform' }, {
      epochs: 1, batchSize: 16, maxSteps: 6, logEvery: 1,
      onProgress: (p) => {
        if (p.phase !== 'train') return;
        const now = { ...counts, dispatches: gpu.stats.dispatches };
        // The report of step s comes after step s + 1 was recorded: windows 2..5 each hold one step.
        if (p.step >= 2 && p.step < p.totalSteps) steps.push({ upload: now.upload - last.upload, read: now.read - last.read, dispatches: now.dispatches - last.dispatches });
        last = now;
      },
    });
    result.model.dispose();
  } finally {
    gpu.upload = upload;
    gpu.read = read;
  }
  return steps;
}

describe('per-step host work', () => {
  test('200,000 more items change no step\'s uploads, readbacks or dispatches beyond the batch\'s own variation', async () => {
    const base = await perStep(small);
    const grown = await perStep(large);
    expect(base.length).toBe(4);
    expect(grown.length).toBe(4);
    grown.forEach((step, i) => {
      // The loss, 4 bytes, is the only readback; the dispatches are the same ops.
      expect(step.read).toBe(4);
      expect(step.dispatches).toBe(base[i].dispatches);
      // Uploads (ids, bags, logQ of the step's distinct candidates) vary with the draw by a
      // few hundred bytes; anything sized by the catalogue would add ≥ 800 KB.
      expect(Math.abs(step.upload - base[i].upload)).toBeLessThan(4096);
    });
  });
});
