/**
 * The checkpoint files without a GPU: a model's two files (model-files.ts) encoded and decoded
 * against tensor shapes worked out by hand from SPEC §4, the errors of each file named by the
 * caller's file names, the manifest's cross-checks (item feature table, profile shape, window),
 * and the pointer file `checkpoint.json` (checkpoint-pointer.ts) read defensively. Fast: these
 * are the tests the `checkpoint` mutation module runs against every mutant.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../../src/mind/config.js';
import { CheckpointFormatError, decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors, type CheckpointManifest } from '../../src/train/checkpoint.js';
import { CheckpointError, FILE_NAME, parsePointer, POINTER_FILE, POINTER_FORMAT, VERSION_PATTERN } from '../../src/train/checkpoint-pointer.js';
import {
  BASELINE_FILES, BASELINE_MANIFEST_FILE, BASELINE_WEIGHTS_FILE, decodeModelFiles, encodeModelFiles, expectedShapes, MANIFEST_FILE, MIND_FILES, WEIGHTS_FILE,
} from '../../src/train/model-files.js';

/**
 * A small model: d = 4, two interests, one hidden layer of 3, profile embeddings of 2; 5 item ids
 * and 2 feature rows, profile spaces of 2 and 3 values and 1 dense value.
 */
function manifest(): CheckpointManifest {
  return {
    format: 'mind-webgpu/1',
    config: resolveConfig({ dim: 4, kMax: 2, hiddenUnits: [3], profileDim: 2, seed: 1 }),
    shape: { numItems: 5, numFeatureRows: 2, profileSpaces: [2, 3], profileDense: 1, historyLength: 6 },
    itemNames: ['<pad>', 'a', 'b', 'c', 'd'],
    itemFeatures: { spaces: [{ name: 'genre', size: 2, offset: 0, values: ['x', 'y'] }], numRows: 2, offsets: Int32Array.from([0, 0, 1, 1, 3, 3]), values: Int32Array.from([1, 0, 1]) },
    userFeatures: { categorical: [{ name: 'p', size: 2, values: ['?', 'u'] }, { name: 'q', size: 3, values: ['?', 'v', 'w'] }], dense: ['age'] },
    maxLength: 6,
    data: { kind: 'test' },
  };
}

/**
 * SPEC §4's tensors for manifest(), by hand: the item table holds the 5 ids and 2 feature rows;
 * the routing map is d × d; the profile table has 2 + 3 rows of profileDim 2; the DNN's input is
 * the interest (4) and the profile (2 spaces × 2 + 1 dense = 5): 9 → 3 → d = 4.
 */
const SHAPES: [string, number[]][] = [
  ['item_embedding', [7, 4]],
  ['routing.bilinear', [4, 4]],
  ['profile_embedding', [5, 2]],
  ['dnn.0.weight', [9, 3]],
  ['dnn.0.bias', [3]],
  ['dnn.1.weight', [3, 4]],
  ['dnn.1.bias', [4]],
];

/** Distinct values everywhere (an index error moves a value somewhere it does not belong). */
function weights(): Map<string, Float32Array> {
  let next = 0;
  return new Map(SHAPES.map(([name, shape]) => [name, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.25 + next++ / 8)]));
}

describe('a model\'s two files (model-files.ts)', () => {
  test('file names and the tensors a configuration needs', () => {
    expect([MANIFEST_FILE, WEIGHTS_FILE, BASELINE_MANIFEST_FILE, BASELINE_WEIGHTS_FILE]).toEqual(['config.json', 'model.safetensors', 'baseline.json', 'baseline.safetensors']);
    expect(MIND_FILES).toEqual({ manifest: 'config.json', weights: 'model.safetensors' });
    expect(BASELINE_FILES).toEqual({ manifest: 'baseline.json', weights: 'baseline.safetensors' });
    expect([...expectedShapes(manifest())]).toEqual(SHAPES);
  });

  test('encoded and decoded: the manifest\'s fields and every tensor bit for bit, with the shapes SPEC §4 gives', () => {
    for (const names of [MIND_FILES, BASELINE_FILES]) {
      const files = encodeModelFiles(manifest(), weights(), names);
      expect(files.map(([name]) => name)).toEqual([names.manifest, names.weights]);
      const [[, text], [, bytes]] = files as [[string, string], [string, Uint8Array]];
      expect(text).toBe(encodeManifest(manifest()));
      // The safetensors header records each tensor's shape from the configuration.
      const { shapes } = decodeSafetensors(bytes);
      expect([...shapes].sort()).toEqual([...SHAPES].sort());
      for (const manifestBytes of [text, new TextEncoder().encode(text)]) {
        const back = decodeModelFiles(manifestBytes, bytes, names);
        expect(back.manifest.config).toEqual(manifest().config);
        expect(back.manifest.shape).toEqual(manifest().shape);
        expect(back.manifest.itemNames).toEqual(manifest().itemNames);
        expect(back.manifest.userFeatures).toEqual(manifest().userFeatures);
        expect(Array.from(back.manifest.itemFeatures!.offsets)).toEqual([0, 0, 1, 1, 3, 3]);
        expect([...back.weights.keys()].sort()).toEqual(SHAPES.map(([name]) => name).sort());
        for (const [name, w] of weights()) expect(Array.from(back.weights.get(name)!), name).toEqual(Array.from(w));
      }
    }
  });

  test('errors name the files as the caller names them; the defaults are config.json and model.safetensors', () => {
    const [[, text], [, bytes]] = encodeModelFiles(manifest(), weights()) as [[string, string], [string, Uint8Array]];
    const where = { manifest: 'https://x/c.json', weights: 'https://x/w.st' };
    expect(() => decodeModelFiles('{', bytes, where)).toThrow('https://x/c.json: not valid JSON');
    expect(() => decodeModelFiles('{', bytes)).toThrow('config.json: not valid JSON');
    expect(() => decodeModelFiles(text, bytes.subarray(0, 4), where)).toThrow('https://x/w.st: too short');
    expect(() => decodeModelFiles(text, bytes.subarray(0, 4))).toThrow('model.safetensors: too short');
    // Weights of another configuration (hidden layer of 5, not 3): the shape check names the tensor.
    const other = { ...manifest(), config: resolveConfig({ ...manifest().config, hiddenUnits: [5] }) };
    const otherWeights = new Map([...expectedShapes(other)].map(([name, shape]) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1))]));
    const otherBytes = encodeSafetensors(otherWeights, expectedShapes(other));
    expect(() => decodeModelFiles(text, otherBytes, where)).toThrow(CheckpointFormatError);
    expect(() => decodeModelFiles(text, otherBytes, where)).toThrow('https://x/w.st: tensor "dnn.0.weight" has shape [9, 5], the configuration needs [9, 3]');
    // A non-finite weight.
    const bad = weights();
    bad.get('dnn.1.weight')![2 * 4 + 1] = Number.POSITIVE_INFINITY;
    const badBytes = encodeSafetensors(bad, expectedShapes(manifest()));
    expect(() => decodeModelFiles(text, badBytes, where)).toThrow('https://x/w.st: tensor "dnn.1.weight" holds Infinity at [2, 1]; weights must be finite');
    // A tensor missing.
    const missing = weights();
    missing.delete('profile_embedding');
    const missingBytes = encodeSafetensors(missing, expectedShapes(manifest()));
    expect(() => decodeModelFiles(text, missingBytes)).toThrow('model.safetensors: no tensor "profile_embedding" (the configuration needs [5, 2])');
  });
});

describe('config.json cross-checks', () => {
  const text = (patch: (m: Record<string, any>) => void) => {
    const m = JSON.parse(encodeManifest(manifest())) as Record<string, any>;
    patch(m);
    return JSON.stringify(m);
  };

  test('a valid manifest decodes; the item feature table comes back as Int32Arrays', () => {
    const m = decodeManifest(text(() => {}), 'c.json');
    expect(m.itemFeatures!.offsets).toEqual(Int32Array.from([0, 0, 1, 1, 3, 3]));
    expect(m.itemFeatures!.values).toEqual(Int32Array.from([1, 0, 1]));
    expect(m.shape.historyLength).toBe(6);
    // attentionPower written as the string "Infinity" (JSON has no Infinity) comes back as the number.
    expect(decodeManifest(text((m) => (m.config.attentionPower = 'Infinity')), 'c.json').config.attentionPower).toBe(Infinity);
    // Edge values that are legal: no features, a window of 1, two items.
    const minimal = text((m) => {
      delete m.itemFeatures;
      m.shape = { numItems: 2, numFeatureRows: 0, profileSpaces: [], profileDense: 0 };
      m.itemNames = ['<pad>', 'a'];
      m.maxLength = 1;
    });
    expect(decodeManifest(minimal, 'c.json').shape).toEqual({ numItems: 2, numFeatureRows: 0, profileSpaces: [], profileDense: 0, historyLength: 1 });
  });

  test('each bad field is refused with the field and the value', () => {
    const cases: [(m: Record<string, any>) => void, string][] = [
      [(m) => (m.format = 'mind-webgpu/2'), 'c.json: unknown checkpoint format "mind-webgpu/2"'],
      [(m) => (m.config = [1]), 'c.json: field "config" must be an object, got [1]'],
      [(m) => (m.config = null), 'c.json: field "config" must be an object, got null'],
      [(m) => (m.shape = null), 'c.json: field "shape" must be an object, got null'],
      [(m) => (m.shape.numItems = 1), 'c.json: field "shape.numItems" must be an integer >= 2, got 1'],
      [(m) => (m.shape.numItems = 2.5), 'c.json: field "shape.numItems" must be an integer >= 2, got 2.5'],
      [(m) => (m.shape.numFeatureRows = -1), 'c.json: field "shape.numFeatureRows" must be an integer >= 0, got -1'],
      [(m) => (m.shape.profileSpaces = [2, 0]), 'c.json: field "shape.profileSpaces" must be a list of positive integers, got [2,0]'],
      [(m) => (m.shape.profileSpaces = 2), 'c.json: field "shape.profileSpaces" must be a list of positive integers, got 2'],
      [(m) => (m.shape.profileDense = -1), 'c.json: field "shape.profileDense" must be an integer >= 0, got -1'],
      [(m) => (m.shape.profileDense = '1'), 'c.json: field "shape.profileDense" must be an integer >= 0, got "1"'],
      [(m) => (m.itemNames = ['<pad>', 'a', 'b', 'c', 4]), 'c.json: field "itemNames" must be 5 strings (shape.numItems), got 5 entries'],
      [(m) => (m.itemNames = 'abc'), 'c.json: field "itemNames" must be 5 strings (shape.numItems), got "abc"'],
      [(m) => (m.maxLength = 2.5), 'c.json: field "maxLength" must be a positive integer, got 2.5'],
      [(m) => (m.data = null), 'c.json: field "data" must be an object describing the data set, got null'],
      [(m) => (m.data = 3), 'c.json: field "data" must be an object describing the data set, got 3'],
      [(m) => (m.itemFeatures.numRows = 3), 'c.json: field "itemFeatures.numRows" is 3, shape.numFeatureRows is 2'],
      [(m) => (m.itemFeatures.offsets = [0, 0, 1, 1, 3]), 'c.json: field "itemFeatures.offsets" must be 6 non-decreasing integers >= 0'],
      [(m) => (m.itemFeatures.offsets = [0, 1, 0, 1, 3, 3]), 'c.json: field "itemFeatures.offsets" must be 6 non-decreasing integers >= 0'],
      [(m) => (m.itemFeatures.offsets = [-1, 0, 1, 1, 3, 3]), 'c.json: field "itemFeatures.offsets" must be 6 non-decreasing integers >= 0'],
      [(m) => (m.itemFeatures.offsets = 'x'), 'c.json: field "itemFeatures.offsets" must be 6 non-decreasing integers >= 0'],
      [(m) => (m.itemFeatures.values = [1, 0]), 'c.json: field "itemFeatures.values" must be 3 feature rows in [0, 2)'],
      [(m) => (m.itemFeatures.values = [1, 2, 1]), 'c.json: field "itemFeatures.values" must be 3 feature rows in [0, 2)'],
      [(m) => (m.itemFeatures.values = [1, -1, 1]), 'c.json: field "itemFeatures.values" must be 3 feature rows in [0, 2)'],
      [(m) => (m.itemFeatures.values = null), 'c.json: field "itemFeatures.values" must be 3 feature rows in [0, 2)'],
      [(m) => (m.itemFeatures.spaces = 'genre'), 'c.json: field "itemFeatures.spaces" must be a list, got "genre"'],
      [(m) => (m.shape.historyLength = 5), 'c.json: field "shape.historyLength" is 5, maxLength is 6'],
    ];
    for (const [patch, message] of cases) expect(() => decodeManifest(text(patch), 'c.json'), message).toThrow(message);
    for (const top of ['null', '[1]', '"x"', '3']) expect(() => decodeManifest(top, 'c.json'), top).toThrow(`c.json: expected a JSON object, got ${top}`);
    // A long array is quoted to 80 characters.
    const long = JSON.stringify(Array.from({ length: 60 }, (_, i) => i));
    let message = '';
    try {
      decodeManifest(long, 'c.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`c.json: expected a JSON object, got ${long.slice(0, 80)}`);
    // Errors are CheckpointFormatError, so callers can tell a bad file from a bug.
    expect(() => decodeManifest('{', 'c.json')).toThrow(CheckpointFormatError);
  });

  test('a config error names the config field and keeps resolveConfig\'s reason', () => {
    expect(() => decodeManifest(text((m) => (m.config.dim = 0)), 'c.json')).toThrow('c.json: field "config.dim" must be an integer in [1, 256], got 0');
    expect(() => decodeManifest(text((m) => (m.config.attentionPower = 'Inf')), 'c.json')).toThrow(/^c\.json: field "config\.attentionPower" /);
  });
});

describe('safetensors details', () => {
  test('the header is padded with spaces to 8 bytes, the metadata names the producer, and an empty map is a valid file', () => {
    for (const count of [1, 2, 3, 5, 8]) {
      const bytes = encodeSafetensors(new Map([['t'.repeat(count), new Float32Array(count)]]), new Map([['t'.repeat(count), [count]]]));
      const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect((8 + length) % 8, `name length ${count}`).toBe(0);
      const json = new TextDecoder().decode(bytes.subarray(8, 8 + length));
      expect(json.trimEnd().length).toBeGreaterThan(length - 8);
      expect(JSON.parse(json).__metadata__).toEqual({ format: 'pt', producer: 'mind-webgpu' });
      expect(decodeSafetensors(bytes).shapes.get('t'.repeat(count))).toEqual([count]);
    }
    const empty = decodeSafetensors(encodeSafetensors(new Map(), new Map()));
    expect(empty.weights.size).toBe(0);
  });

  test('tensors read at any byte offset and in any header order; values bit for bit (NaN payloads, -0, subnormals)', () => {
    const w = Float32Array.from([-0, 1.4e-45, 3.4e38, -7.5]);
    const bytes = encodeSafetensors(new Map([['z', w], ['a', Float32Array.from([9])]]), new Map([['z', [2, 2]], ['a', [1]]]));
    // The same file inside a larger buffer at an odd offset.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const back = decodeSafetensors(shifted.subarray(3));
    expect(Array.from(back.weights.get('z')!)).toEqual(Array.from(w));
    expect(Object.is(back.weights.get('z')![0], -0)).toBe(true);
    expect(Array.from(back.weights.get('a')!)).toEqual([9]);
    // Names are stored sorted: 'a' first in the data section.
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(new Float32Array(bytes.slice(8 + length, 8 + length + 4).buffer)[0]).toBe(9);
  });

  test('a 3-D tensor\'s bad value is named by its full index', () => {
    // Through decodeModelFiles' check: a hand-made expectation of one [2, 3, 4] tensor.
    const data = new Float32Array(24);
    data[1 * 12 + 2 * 4 + 3] = Number.NaN;
    const bytes = encodeSafetensors(new Map([['t', data]]), new Map([['t', [2, 3, 4]]]));
    const { weights: w, shapes } = decodeSafetensors(bytes);
    return import('../../src/train/checkpoint.js').then(({ checkWeights }) => {
      expect(() => checkWeights('f', w, shapes, new Map([['t', [2, 3, 4]]]))).toThrow('f: tensor "t" holds NaN at [1, 2, 3]');
      expect(() => checkWeights('f', w, shapes, new Map([['t', [2, 12]]]))).toThrow('f: tensor "t" has shape [2, 3, 4], the configuration needs [2, 12]');
      expect(() => checkWeights('f', w, new Map([['t', [4, 3, 2]]]), new Map([['t', [2, 3, 4]]]))).toThrow('f: tensor "t" has shape [4, 3, 2]');
      expect(() => checkWeights('f', new Map(), new Map(), new Map([['t', [2, 3, 4]]]))).toThrow('f: no tensor "t" (the configuration needs [2, 3, 4]); it has none');
      expect(() => checkWeights('f', w, shapes, new Map([['u', [24]]]))).toThrow('f: no tensor "u" (the configuration needs [24]); it has t');
    });
  });

  test('a header that is not UTF-8 or not JSON, and an implausible header length, are named', () => {
    const bytes = new Uint8Array(8 + 4);
    new DataView(bytes.buffer).setBigUint64(0, 4n, true);
    bytes.set([0xff, 0xfe, 0x7b, 0x7d], 8);
    expect(() => decodeSafetensors(bytes, 'h.st')).toThrow('h.st: the header is not valid JSON');
    const huge = new Uint8Array(8 + 100 * 1024 * 1024 + 1);
    new DataView(huge.buffer).setBigUint64(0, BigInt(100 * 1024 * 1024 + 1), true);
    expect(() => decodeSafetensors(huge, 'h.st')).toThrow(`h.st: header length ${100 * 1024 * 1024 + 1} is implausibly large`);
    // Exactly 8 bytes: a header of length 0 is not JSON.
    expect(() => decodeSafetensors(new Uint8Array(8), 'h.st')).toThrow('h.st: the header is not valid JSON');
    // A header of `null`.
    const nul = new TextEncoder().encode('null');
    const withNull = new Uint8Array(8 + nul.length);
    new DataView(withNull.buffer).setBigUint64(0, BigInt(nul.length), true);
    withNull.set(nul, 8);
    expect(() => decodeSafetensors(withNull, 'h.st')).toThrow('h.st: the header must be a JSON object, got null');
  });
});

/** A safetensors file with a hand-written header text and `dataBytes` zero bytes of data. */
function rawFile(header: string | object, dataBytes: number): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/** The message of what `run` throws (to compare whole messages, not a substring). */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('safetensors layouts the encoder never writes', () => {
  test('tensors listed out of offset order, and an empty tensor sharing its offset with the next, decode', () => {
    // Header order w, e, v; data order v [0, 8), e [8, 8) (shape [0]), w [8, 16).
    const header = {
      w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
      v: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
    };
    const bytes = rawFile(header, 16);
    const data = new Float32Array(bytes.buffer.slice(bytes.length - 16));
    data.set([1, 2, 3, 4]);
    bytes.set(new Uint8Array(data.buffer), bytes.length - 16);
    const { weights, shapes } = decodeSafetensors(bytes);
    expect(Array.from(weights.get('v')!)).toEqual([1, 2]);
    expect(Array.from(weights.get('w')!)).toEqual([3, 4]);
    expect(weights.get('e')!.length).toBe(0);
    expect(shapes.get('e')).toEqual([0]);
    expect(shapes.get('v')).toEqual([1, 2]);
  });

  test('each malformed entry is named precisely', () => {
    const at = (header: object, data: number) => messageOf(() => decodeSafetensors(rawFile(header, data), 'f.st'));
    expect(at({ w: null }, 0)).toBe('f.st: tensor "w": expected {dtype, shape, data_offsets}, got null');
    expect(at({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8)).toBe('f.st: tensor "w": shape [2,-1] is not a list of non-negative integers');
    expect(at({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 6)).toBe('f.st: tensor "w": shape [1.5] is not a list of non-negative integers');
    expect(at({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8, 16] } }, 16)).toBe('f.st: tensor "w": data_offsets [0,8,16] must be two non-negative integers [begin, end] with begin <= end');
    expect(at({ w: { dtype: 'F32', shape: [2], data_offsets: 'ab' } }, 8)).toBe('f.st: tensor "w": data_offsets "ab" must be two non-negative integers [begin, end] with begin <= end');
    expect(at({ w: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8.5] } }, 9)).toBe('f.st: tensor "w": data_offsets [0.5,8.5] must be two non-negative integers [begin, end] with begin <= end');
    // The size check names the bytes a tensor holds, for one that does not start at 0.
    expect(at({ v: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, w: { dtype: 'F32', shape: [2], data_offsets: [8, 12] } }, 12)).toBe('f.st: tensor "w": data_offsets [8, 12] hold 4 bytes, shape [2] of F32 needs 8');
    // A header that is a JSON number, or a long array: the message quotes at most 80 characters.
    expect(messageOf(() => decodeSafetensors(rawFile('3', 0), 'f.st'))).toBe('f.st: the header must be a JSON object, got 3');
    const long = JSON.stringify(Array.from({ length: 60 }, (_, i) => i));
    expect(messageOf(() => decodeSafetensors(rawFile(long, 0), 'f.st'))).toBe(`f.st: the header must be a JSON object, got ${long.slice(0, 80)}`);
  });

  test('a header length just past the end of the file is refused as such; invalid UTF-8 inside a JSON string is refused', () => {
    // 20 bytes: 12 after the length field; a header declared 13 bytes long runs past the end.
    const bytes = rawFile('{"a":1,"b":2}', 0).subarray(0, 20);
    expect(messageOf(() => decodeSafetensors(bytes, 'f.st'))).toBe('f.st: header length 13 runs past the end of the file (20 bytes): truncated, or not a safetensors file');
    // Bytes 0xff 0xfe inside a string: a lenient decoder would read U+FFFD and accept the header.
    const text = new TextEncoder().encode('{"__metadata__":{"x":"??"}}');
    const invalid = rawFile('{"__metadata__":{"x":"??"}}', 0);
    invalid.set([0xff, 0xfe], 8 + text.indexOf(0x3f));
    expect(() => decodeSafetensors(invalid, 'f.st')).toThrow('f.st: the header is not valid JSON');
  });

  test('a header of exactly 100 MiB is allowed (one byte more is refused: the test above)', () => {
    const limit = 100 * 1024 * 1024;
    const bytes = new Uint8Array(8 + limit).fill(0x20);
    bytes.set(new TextEncoder().encode('{}'), 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(limit), true);
    expect(decodeSafetensors(bytes).weights.size).toBe(0);
  });

  test('checkWeights: a NaN at the first element, a shape with an extra axis of 1, and the list of expected tensors', async () => {
    const { checkWeights } = await import('../../src/train/checkpoint.js');
    const data = new Float32Array(6);
    data[0] = Number.NaN;
    expect(() => checkWeights('f', new Map([['t', data]]), new Map([['t', [2, 3]]]), new Map([['t', [2, 3]]]))).toThrow('f: tensor "t" holds NaN at [0, 0]; weights must be finite');
    // The same element count in another rank is refused.
    const ok = new Float32Array(6);
    expect(() => checkWeights('f', new Map([['t', ok]]), new Map([['t', [2, 3]]]), new Map([['t', [2, 3, 1]]]))).toThrow('f: tensor "t" has shape [2, 3], the configuration needs [2, 3, 1]');
    const extra = new Map([['t', ok], ['u', ok]]);
    expect(messageOf(() => checkWeights('f', extra, new Map([['t', [6]], ['u', [6]]]), new Map([['t', [6]]])))).toBe('f: tensor "u" is not a parameter of this configuration (expected t)');
  });
});

describe('the pointer file checkpoint.json (checkpoint-pointer.ts)', () => {
  const sha = 'ab'.repeat(32);
  const good = { format: POINTER_FORMAT, version: 'run-m3k9z-0f3a', files: { 'config.json': { bytes: 120, sha256: sha }, 'model.safetensors': { bytes: 0, sha256: sha } } };
  const text = (patch: (p: Record<string, any>) => void) => {
    const p = structuredClone(good) as Record<string, any>;
    patch(p);
    return JSON.stringify(p);
  };

  test('a valid pointer is returned as written', () => {
    expect(POINTER_FILE).toBe('checkpoint.json');
    expect(POINTER_FORMAT).toBe('mind-webgpu-checkpoint/2');
    expect(parsePointer(JSON.stringify(good), 'd/checkpoint.json')).toEqual(good);
    expect(parsePointer(text((p) => (p.files = {})), 'd/checkpoint.json').files).toEqual({});
    for (const name of ['a', 'A.b_c-1', '0x']) expect(FILE_NAME.test(name), name).toBe(true);
    for (const version of ['run-0-0', 'run-abc123-deadbeef']) expect(VERSION_PATTERN.test(version), version).toBe(true);
  });

  test('each bad field is refused with the path, the field and the value', () => {
    const at = 'd/checkpoint.json';
    const cases: [string, string][] = [
      ['{', `${at}: not valid JSON`],
      ['null', `${at}: expected a JSON object, got null`],
      ['7', `${at}: expected a JSON object, got 7`],
      [text((p) => (p.format = 'mind-webgpu-checkpoint/1')), `${at}: field "format" is "mind-webgpu-checkpoint/1", expected "mind-webgpu-checkpoint/2"`],
      [text((p) => delete p.format), `${at}: field "format" is undefined, expected`],
      [text((p) => (p.version = 3)), `${at}: field "version" is 3, not a version directory name`],
      [text((p) => (p.version = '../run-a-1')), `${at}: field "version" is "../run-a-1", not a version directory name`],
      [text((p) => (p.version = 'run-a-1/..')), `${at}: field "version" is "run-a-1/..", not a version directory name`],
      [text((p) => (p.version = 'run-A-1')), `${at}: field "version" is "run-A-1", not a version directory name`],
      [text((p) => (p.version = 'run-a-xyz')), `${at}: field "version" is "run-a-xyz", not a version directory name`],
      [text((p) => (p.version = 'run--1')), `${at}: field "version" is "run--1", not a version directory name`],
      // Not strings, though their text would match.
      [text((p) => (p.version = ['run-a-1'])), `${at}: field "version" is ["run-a-1"], not a version directory name`],
      [text((p) => (p.files.x = { bytes: 1, sha256: [sha] })), `${at}: files["x"] must be {bytes, sha256}, got {"bytes":1,"sha256":["`],
      [text((p) => (p.files = null)), `${at}: field "files" must be an object of name → {bytes, sha256}, got null`],
      [text((p) => (p.files = [])), `${at}: field "files" must be an object of name → {bytes, sha256}, got []`],
      [text((p) => (p.files = 'x')), `${at}: field "files" must be an object of name → {bytes, sha256}, got "x"`],
      [text((p) => (p.files['../config.json'] = { bytes: 1, sha256: sha })), `${at}: file name "../config.json" is not a plain file name`],
      [text((p) => (p.files['.hidden'] = { bytes: 1, sha256: sha })), `${at}: file name ".hidden" is not a plain file name`],
      [text((p) => (p.files['a/b'] = { bytes: 1, sha256: sha })), `${at}: file name "a/b" is not a plain file name`],
      [text((p) => (p.files[''] = { bytes: 1, sha256: sha })), `${at}: file name "" is not a plain file name`],
      [text((p) => (p.files['a b'] = { bytes: 1, sha256: sha })), `${at}: file name "a b" is not a plain file name`],
      [text((p) => (p.files.x = null)), `${at}: files["x"] must be {bytes, sha256}, got null`],
      [text((p) => (p.files.x = 5)), `${at}: files["x"] must be {bytes, sha256}, got 5`],
      [text((p) => (p.files.x = { bytes: -1, sha256: sha })), `${at}: files["x"] must be {bytes, sha256}, got {"bytes":-1,`],
      [text((p) => (p.files.x = { bytes: 1.5, sha256: sha })), `${at}: files["x"] must be {bytes, sha256}, got {"bytes":1.5,`],
      [text((p) => (p.files.x = { bytes: '1', sha256: sha })), `${at}: files["x"] must be {bytes, sha256}, got {"bytes":"1",`],
      [text((p) => (p.files.x = { sha256: sha })), `${at}: files["x"] must be {bytes, sha256}, got {"sha256"`],
      [text((p) => (p.files.x = { bytes: 1, sha256: sha.toUpperCase() })), `${at}: files["x"] must be {bytes, sha256}`],
      [text((p) => (p.files.x = { bytes: 1, sha256: sha.slice(1) })), `${at}: files["x"] must be {bytes, sha256}`],
      [text((p) => (p.files.x = { bytes: 1, sha256: `${sha}0` })), `${at}: files["x"] must be {bytes, sha256}`],
      [text((p) => (p.files.x = { bytes: 1, sha256: `${sha.slice(2)}zz` })), `${at}: files["x"] must be {bytes, sha256}`],
      [text((p) => (p.files.x = { bytes: 1 })), `${at}: files["x"] must be {bytes, sha256}, got {"bytes":1}`],
    ];
    for (const [input, message] of cases) {
      expect(() => parsePointer(input, at), input).toThrow(CheckpointError);
      expect(() => parsePointer(input, at), input).toThrow(message);
    }
  });
});

describe('DEFAULT_CONFIG survives the manifest', () => {
  test('every field of the default configuration comes back equal', () => {
    const m = { ...manifest(), config: { ...DEFAULT_CONFIG } };
    expect(decodeManifest(encodeManifest(m)).config).toEqual(DEFAULT_CONFIG);
  });
});
