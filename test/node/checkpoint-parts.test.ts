/**
 * Checkpoint files of gigabytes (issue 14: a 5M-item run's resume state is 5 GB): a file given
 * as parts is written part after part, hashed and read back in pieces, because Node refuses one
 * hash update or file read past 2 GiB. Here the pieces are made small (chunksOf's chunk size)
 * so that the splitting itself is checked on bytes a test can hold.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { chunksOf, openCheckpoint, sha256, writeCheckpointFiles } from '../../src/node/checkpoint-store.js';
import { decodeSafetensors, encodeSafetensors, safetensorsParts } from '../../src/train/checkpoint.js';

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
});
