/**
 * Vector exports other engines ingest (`mind export`): item vectors and users' interest vectors
 * with their ids, as
 *   npy      `<name>/vector.npy` (`<f4`, [R, d]) and one `<name>/<column>.npy` per id column
 *            (`<U…` strings, `<i4` integers): NumPy's own format, which FAISS users load with
 *            numpy.load and which is Milvus bulk import's NumPy layout (a folder, one file per field
 *            named after the field);
 *   fvecs    `<name>.fvecs` (per row: int32 d, then d float32, little-endian; the TEXMEX layout
 *            FAISS's benchmarks read) with `<name>.ids.txt`, one id per line in row order;
 *   parquet  `<name>.parquet`: the id columns and `vector` as list<float>, the row layout of
 *            Milvus bulk import's Parquet files (and of Qdrant/LanceDB loaders).
 * Rows are written in the order given. Node-only.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { concatBytes } from '../data/bytes.js';

export const EXPORT_FORMATS = ['npy', 'fvecs', 'parquet', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A table of vectors: `vectors` `[rows, dim]` f32 row-major and id columns of `rows` values each. */
export interface VectorTable {
  /** File stem: 'items', 'users'. */
  name: string;
  dim: number;
  vectors: Float32Array;
  /** Column name → values; the first column is the primary key (`id`). */
  columns: Record<string, string[] | Int32Array>;
}

/** The 10-byte preamble and header of a version 1.0 .npy file, padded to a 64-byte boundary. */
function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  if (header.length > 0xffff) throw new Error(`npy header of ${header.length} bytes does not fit a version 1.0 file`);
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY, version 1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/** Little-endian bytes of `values` whatever the platform's byte order: the formats fix it. */
function littleEndian(values: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  const float = values instanceof Float32Array;
  for (let i = 0; i < values.length; i++) {
    if (float) view.setFloat32(i * 4, values[i], true);
    else view.setInt32(i * 4, values[i], true);
  }
  return out;
}

/**
 * A .npy file of `values`: f32 as `<f4`, i32 as `<i4`, strings as `<U{longest}` (UTF-32LE code
 * points, NUL-padded; numpy's fixed-width unicode). `shape` defaults to `[values.length]`.
 * Throws an Error naming `shape` when its product differs from the number of values.
 */
export function encodeNpy(values: Float32Array | Int32Array | string[], shape: readonly number[] = [values.length]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== values.length) throw new Error(`encodeNpy: shape [${shape.join(', ')}] does not hold ${values.length} values`);
  if (!Array.isArray(values)) return concatBytes([npyHeader(values instanceof Float32Array ? '<f4' : '<i4', shape), littleEndian(values)]);
  const points = values.map((s) => Array.from(s, (c) => c.codePointAt(0)!));
  const width = Math.max(1, ...points.map((p) => p.length));
  const body = new Uint8Array(values.length * width * 4);
  const view = new DataView(body.buffer);
  points.forEach((p, i) => p.forEach((c, j) => view.setUint32((i * width + j) * 4, c, true)));
  return concatBytes([npyHeader(`<U${width}`, shape), body]);
}

/** A .fvecs file: each row of `vectors` (`[rows, dim]` f32) as int32 `dim` then its floats, little-endian. */
export function encodeFvecs(vectors: Float32Array, dim: number): Uint8Array {
  if (!Number.isInteger(dim) || dim < 1 || vectors.length % dim !== 0) throw new Error(`encodeFvecs: vectors has ${vectors.length} values, not rows of dim = ${dim}`);
  const rows = vectors.length / dim;
  const out = new Uint8Array(rows * (4 + 4 * dim));
  const view = new DataView(out.buffer);
  for (let r = 0; r < rows; r++) {
    const at = r * (4 + 4 * dim);
    view.setInt32(at, dim, true);
    for (let x = 0; x < dim; x++) view.setFloat32(at + 4 + 4 * x, vectors[r * dim + x], true);
  }
  return out;
}

/**
 * A Parquet file of `table`: string columns as UTF8 byte arrays, integer columns as INT32, all
 * required, and `vector` as a required 3-level LIST of required FLOAT (Parquet's standard list
 * layout, which Arrow reads as list<float32>).
 */
export function encodeParquet(table: VectorTable): Uint8Array {
  const rows = table.vectors.length / table.dim;
  const names = Object.keys(table.columns);
  const buffer = parquetWriteBuffer({
    columnData: [
      ...names.map((name) => ({ name, data: Array.isArray(table.columns[name]) ? (table.columns[name] as string[]) : Array.from(table.columns[name]) })),
      { name: 'vector', data: Array.from({ length: rows }, (_, r) => Array.from(table.vectors.subarray(r * table.dim, (r + 1) * table.dim))) },
    ],
    schema: [
      { name: 'root', num_children: names.length + 1 },
      ...names.map((name) =>
        Array.isArray(table.columns[name])
          ? { name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const }
          : { name, type: 'INT32' as const, repetition_type: 'REQUIRED' as const },
      ),
      { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    ],
    createdBy: 'mind-webgpu',
  });
  return new Uint8Array(buffer);
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

/**
 * Writes `table` into directory `dir` in each of `formats` (file names in the module comment;
 * jsonl: `<name>.jsonl`, one `{<columns>, vector}` object per line). Returns the paths written.
 * Throws an Error naming `table` when a column's length differs from the number of vectors.
 */
export async function writeVectorTable(dir: string, table: VectorTable, formats: readonly ExportFormat[]): Promise<string[]> {
  const rows = table.vectors.length / table.dim;
  for (const [name, values] of Object.entries(table.columns)) {
    if (values.length !== rows) throw new Error(`writeVectorTable: table ${table.name} column ${name} has ${values.length} values for ${rows} vectors`);
  }
  const written: string[] = [];
  const write = async (path: string, data: Uint8Array | string) => {
    await writeAtomic(path, data);
    written.push(path);
  };
  const ids = Object.values(table.columns)[0];
  for (const format of formats) {
    if (format === 'npy') {
      await write(join(dir, table.name, 'vector.npy'), encodeNpy(table.vectors, [rows, table.dim]));
      for (const [name, values] of Object.entries(table.columns)) await write(join(dir, table.name, `${name}.npy`), encodeNpy(values));
    } else if (format === 'fvecs') {
      await write(join(dir, `${table.name}.fvecs`), encodeFvecs(table.vectors, table.dim));
      await write(join(dir, `${table.name}.ids.txt`), `${Array.from(ids, String).join('\n')}\n`);
    } else if (format === 'parquet') {
      await write(join(dir, `${table.name}.parquet`), encodeParquet(table));
    } else {
      const names = Object.keys(table.columns);
      const lines = Array.from({ length: rows }, (_, r) =>
        JSON.stringify({ ...Object.fromEntries(names.map((n) => [n, table.columns[n][r]])), vector: Array.from(table.vectors.subarray(r * table.dim, (r + 1) * table.dim)) }),
      );
      await write(join(dir, `${table.name}.jsonl`), `${lines.join('\n')}\n`);
    }
  }
  return written;
}
