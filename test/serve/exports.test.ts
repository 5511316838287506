/**
 * Vector exports read back by readers that share no code with the writers: .npy and .fvecs
 * parsed by hand here from their published layouts (header bytes checked), Parquet through
 * parquet-wasm (the Rust arrow-rs reader) into Apache Arrow, the column types Milvus bulk import
 * maps to VarChar / Int32 / FloatVector.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, describe, expect, test } from 'vitest';
import { type VectorTable, encodeNpy, writeVectorTable } from '../../src/node/exports.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const d = 3;
const users: VectorTable = {
  name: 'users',
  dim: d,
  vectors: Float32Array.from([0.5, -1.25, 3e-8, 1e20, -0, 7, 0.1, 0.2, 0.3]),
  columns: { id: ['u1#0', 'u1#1', 'ü2€#0'], user: ['u1', 'u1', 'ü2€'], interest: Int32Array.from([0, 1, 0]) },
};

/** A .npy file parsed from NumPy's format description: magic, version, header dict, data. */
function parseNpy(bytes: Buffer): { descr: string; shape: number[]; fortran: boolean; data: Buffer; headerEnd: number } {
  expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  expect([bytes[6], bytes[7]]).toEqual([1, 0]);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  expect(header.endsWith('\n')).toBe(true);
  expect((10 + headerLength) % 64).toBe(0);
  const descr = /'descr': '([^']+)'/.exec(header)![1];
  const fortran = /'fortran_order': (True|False)/.exec(header)![1] === 'True';
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, fortran, data: bytes.subarray(10 + headerLength), headerEnd: 10 + headerLength };
}

describe('exports read back', () => {
  test('npy: vector.npy is <f4 [rows, d] C order; id and user are <U strings; interest <i4 (Milvus NumPy layout)', async () => {
    await writeVectorTable(dir, users, ['npy']);
    const vector = parseNpy(readFileSync(join(dir, 'users', 'vector.npy')));
    expect(vector).toMatchObject({ descr: '<f4', shape: [3, d], fortran: false });
    expect(vector.data.length).toBe(9 * 4);
    expect(Array.from({ length: 9 }, (_, i) => vector.data.readFloatLE(i * 4))).toEqual(Array.from(users.vectors));

    const id = parseNpy(readFileSync(join(dir, 'users', 'id.npy')));
    expect(id.descr).toBe('<U5'); // the longest id, 'ü2€#0', has 5 code points
    expect(id.shape).toEqual([3]);
    const strings = Array.from({ length: 3 }, (_, r) =>
      String.fromCodePoint(...Array.from({ length: 5 }, (_, j) => id.data.readUInt32LE((r * 5 + j) * 4)).filter((c) => c !== 0)),
    );
    expect(strings).toEqual(users.columns.id);

    const interest = parseNpy(readFileSync(join(dir, 'users', 'interest.npy')));
    expect(interest).toMatchObject({ descr: '<i4', shape: [3] });
    expect([0, 1, 2].map((i) => interest.data.readInt32LE(i * 4))).toEqual([0, 1, 0]);
  });

  test('npy: a one-element string array and an empty one keep valid headers', () => {
    const one = parseNpy(Buffer.from(encodeNpy(['x'])));
    expect(one).toMatchObject({ descr: '<U1', shape: [1] });
    const empty = parseNpy(Buffer.from(encodeNpy(new Float32Array(0), [0, 4])));
    expect(empty).toMatchObject({ descr: '<f4', shape: [0, 4] });
    expect(() => encodeNpy(new Float32Array(6), [4, 2])).toThrow(/shape \[4, 2\] does not hold 6 values/);
  });

  test('fvecs: per row an int32 d then d float32, and the ids file in row order', async () => {
    await writeVectorTable(dir, users, ['fvecs']);
    const bytes = readFileSync(join(dir, 'users.fvecs'));
    expect(bytes.length).toBe(3 * (4 + 4 * d));
    for (let r = 0; r < 3; r++) {
      const at = r * (4 + 4 * d);
      expect(bytes.readInt32LE(at)).toBe(d);
      expect(Array.from({ length: d }, (_, x) => bytes.readFloatLE(at + 4 + 4 * x))).toEqual(Array.from(users.vectors.subarray(r * d, (r + 1) * d)));
    }
    expect(readFileSync(join(dir, 'users.ids.txt'), 'utf8')).toBe('u1#0\nu1#1\nü2€#0\n');
  });

  test('parquet: arrow-rs reads id/user as Utf8, interest as Int32, vector as List<Float32>, values exact', async () => {
    await writeVectorTable(dir, users, ['parquet']);
    const table = tableFromIPC(readParquet(new Uint8Array(readFileSync(join(dir, 'users.parquet')))).intoIPCStream());
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual(['id: Utf8', 'user: Utf8', 'interest: Int32', 'vector: List<Float32>']);
    expect(table.schema.fields.map((f) => f.nullable)).toEqual([false, false, false, false]);
    expect(table.getChild('id')!.toArray()).toEqual(users.columns.id);
    expect(Array.from(table.getChild('interest')!.toArray() as Int32Array)).toEqual([0, 1, 0]);
    for (let r = 0; r < 3; r++) expect(Array.from(table.getChild('vector')!.get(r)!.toArray() as Float32Array)).toEqual(Array.from(users.vectors.subarray(r * d, (r + 1) * d)));
  });

  test('jsonl: one object per row with the id columns and the vector', async () => {
    await writeVectorTable(dir, users, ['jsonl']);
    const rows = readFileSync(join(dir, 'users.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows[2]).toEqual({ id: 'ü2€#0', user: 'ü2€', interest: 0, vector: Array.from(users.vectors.subarray(6, 9)) });
  });

  test('a column of the wrong length is named', async () => {
    await expect(writeVectorTable(dir, { ...users, columns: { id: ['a'] } }, ['npy'])).rejects.toThrow(/table users column id has 1 values for 3 vectors/);
  });
});
