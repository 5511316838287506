/**
 * Checkpoint files of gigabytes (issue 14: a 5M-item run's resume state is 5 GB): a file given
 * as parts is written part after part, hashed and read back in pieces, because Node refuses one
 * hash update or file read past 2 GiB. Here the pieces are made small (chunksOf's chunk size)
 * so that the splitting itself is checked on bytes a test can hold.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { chunksOf, openCheckpoint, sha256, writeCheckpointFiles } from '../../src/node/checkpoint-store.js';
import { decodeSafetensors, encodeSafetensors, safetensorsParts } from '../../src/train/checkpoint.js';
import { decodeTrainState, encodeTrainState, encodeTrainStateParts } from '../../src/train/train-state.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255);
const concat = (parts: readonly Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('checkpoint files in parts', () => {
  const parts = [bytes(5, 1), new Uint8Array(0), bytes(1, 2), bytes(12, 3)];
  const whole = concat(parts);

  test('chunksOf cuts each part into pieces of at most the chunk size, in order, without empty pieces', () => {
    const pieces = [...chunksOf(parts, 4)];
    expect(pieces.map((p) => p.byteLength)).toEqual([4, 1, 1, 4, 4, 4]);
    expect(concat(pieces)).toEqual(whole);
    expect([...chunksOf([bytes(8, 4)], 8)].map((p) => p.byteLength)).toEqual([8]);
  });

  test('the SHA-256 of parts is that of their concatenation', () => {
    const reference = createHash('sha256').update(whole).digest('hex');
    expect(sha256(parts)).toBe(reference);
    expect(sha256(whole)).toBe(reference);
  });

  test('a file given as parts is written as their concatenation, with its size and hash in the pointer', async () => {
    const out = join(dir, 'run');
    const version = await writeCheckpointFiles(out, new Map<string, string | Uint8Array | Uint8Array[]>([['big.bin', parts], ['note.txt', 'hi']]));
    expect(new Uint8Array(readFileSync(join(version, 'big.bin')))).toEqual(whole);
    const pointer = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8'));
    expect(pointer.files['big.bin']).toEqual({ bytes: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
    const checkpoint = await openCheckpoint(out);
    expect(await checkpoint.read('big.bin')).toEqual(whole);
    expect(new TextDecoder().decode(await checkpoint.read('note.txt'))).toBe('hi');
  });

  test('safetensorsParts are views of the tensors that concatenate to encodeSafetensors', () => {
    const weights = new Map([['b', Float32Array.of(1, 2, 3)], ['a', Float32Array.of(-1.5, 4)]]);
    const shapes = new Map([['b', [3]], ['a', [2, 1]]]);
    const tensorParts = safetensorsParts(weights, shapes);
    expect(tensorParts.length).toBe(3);
    // Sorted by name after the header; views of the tensors' own memory.
    expect(tensorParts[1].buffer).toBe(weights.get('a')!.buffer);
    expect(tensorParts[2].buffer).toBe(weights.get('b')!.buffer);
    const file = encodeSafetensors(weights, shapes);
    expect(concat(tensorParts)).toEqual(file);
    const decoded = decodeSafetensors(file, 'test.safetensors').weights;
    expect([...decoded.get('a')!]).toEqual([-1.5, 4]);
    expect([...decoded.get('b')!]).toEqual([1, 2, 3]);
  });

  test('readParts gives the file in parts of the size asked, checked against the pointer like read', async () => {
    const out = join(dir, 'parts');
    const version = await writeCheckpointFiles(out, new Map([['big.bin', parts]]));
    const checkpoint = await openCheckpoint(out);
    const read = await checkpoint.readParts('big.bin', 5);
    expect(read.map((p) => p.byteLength)).toEqual([5, 5, 5, 3]);
    expect(concat(read)).toEqual(whole);
    // One byte changed in the last part: the hash over the parts no longer matches.
    const changed = Uint8Array.from(whole);
    changed[whole.length - 1] ^= 1;
    writeFileSync(join(version, 'big.bin'), changed);
    await expect((await openCheckpoint(out)).readParts('big.bin', 5)).rejects.toThrow('does not match');
    writeFileSync(join(version, 'big.bin'), whole.subarray(0, 10));
    await expect((await openCheckpoint(out)).readParts('big.bin', 4)).rejects.toThrow('10 bytes, checkpoint.json says 18: truncated');
  });

  test('safetensors and training states decode from parts cut anywhere, the same as from one array', () => {
    const weights = new Map([['w', Float32Array.from({ length: 9 }, (_, i) => i - 4.5)], ['v', Float32Array.of(7)]]);
    const shapes = new Map([['w', [3, 3]], ['v', [1]]]);
    const file = encodeSafetensors(weights, shapes);
    // Cuts inside the 8-byte length, inside the header and inside a tensor.
    for (const cut of [[3], [20, 21], [file.length - 6], [1, 2, 3, 40, file.length - 1]]) {
      const pieces = [0, ...cut, file.length].slice(1).map((end, i, ends) => file.slice(i === 0 ? 0 : ends[i - 1], end));
      const decoded = decodeSafetensors(pieces, 'cut.safetensors');
      expect([...decoded.weights.get('w')!]).toEqual([...weights.get('w')!]);
      expect([...decoded.weights.get('v')!]).toEqual([7]);
      expect(decoded.shapes.get('w')).toEqual([3, 3]);
    }
    expect(() => decodeSafetensors([file.slice(0, 4), file.slice(4, 30)], 'short.safetensors')).toThrow('short.safetensors: header length');
    const state = {
      step: 3, epoch: 1, batchesDone: 3, losses: [], validation: [], bestEpoch: 0, bestScore: -Infinity,
      weights, optimizers: [{ stepCount: 3, moments: new Map([['w', { m: weights.get('w')!.map((x) => x / 2), v: weights.get('w')!.map((x) => x * x) }]]) }],
    };
    const { json, tensors } = encodeTrainStateParts(state, shapes);
    const decoded = decodeTrainState(json, tensors.flatMap((p) => [p.slice(0, 3), p.slice(3)]));
    expect(decoded).toEqual(decodeTrainState(json, encodeTrainState(state, shapes).tensors));
    expect([...decoded.optimizers[0].moments.get('w')!.v]).toEqual([...state.optimizers[0].moments.get('w')!.v]);
  });
});

