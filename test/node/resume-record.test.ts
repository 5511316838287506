/**
 * Resume records written before `--baseline NAME` say `baseline: true` (the mean-pooling
 * baseline): they still resume, read as 'meanPool'; a name that is no extractor is refused,
 * naming the file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createContext } from '../../src/autograd/context.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { openCheckpoint } from '../../src/node/checkpoint-store.js';
import { RESUME_FILE, readResumePoint, runTrainingExplained } from '../../src/node/training-run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-resume-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Replaces resume.json's settings.baseline in place, keeping the pointer's hash valid. */
function setBaseline(out: string, baseline: unknown): void {
  const pointerPath = join(out, 'checkpoint.json');
  const pointer = JSON.parse(readFileSync(pointerPath, 'utf8'));
  const path = join(out, pointer.version, RESUME_FILE);
  const record = JSON.parse(readFileSync(path, 'utf8'));
  record.settings.baseline = baseline;
  const bytes = Buffer.from(JSON.stringify(record));
  writeFileSync(path, bytes);
  pointer.files[RESUME_FILE] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(pointerPath, JSON.stringify(pointer));
}

test('baseline: true in an older resume record reads as meanPool; an unknown name is refused', async () => {
  const ctx = await createContext();
  const dataset = generateSynthetic({ seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
  const out = join(dir, 'run');
  try {
    const result = await runTrainingExplained(ctx, {
      out,
      dataset,
      data: { kind: 'synthetic', options: { seed: 3 } },
      dataFingerprint: [],
      config: resolveConfig({ dim: 8, kMax: 2, hiddenUnits: [8], numSampled: 8, seed: 5 }),
      settings: { epochs: 1, batchSize: 32, maxSteps: 1, baseline: 'comirec-sa' },
      log: () => {},
      progress: () => ({ update: () => {}, stop: () => {} }),
    });
    expect(result.stopped).toBe('maxSteps');
    expect((await readResumePoint(await openCheckpoint(out))).record.settings.baseline).toBe('comirec-sa');
    setBaseline(out, true);
    expect((await readResumePoint(await openCheckpoint(out))).record.settings.baseline).toBe('meanPool');
    setBaseline(out, 'popularity');
    await expect(readResumePoint(await openCheckpoint(out))).rejects.toThrow(/resume\.json: field "settings.baseline": baseline must be one of mind, meanPool, comirec-sa, comirec-dr, got "popularity"/);
  } finally {
    ctx.destroy();
  }
}, 300_000);
