import { describe, expect, test } from 'vitest';
import { checkWeights, decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors } from '../../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../../src/mind/config.js';

describe('checkpoint files', () => {
  test('safetensors round trip, header layout per the format', () => {
    const weights = new Map([
      ['b', Float32Array.from([1.5, -2, 3e-8])],
      ['a', Float32Array.from([0, 1, 2, 3, 4, 5])],
    ]);
    const shapes = new Map([
      ['a', [2, 3]],
      ['b', [3]],
    ]);
    const bytes = encodeSafetensors(weights, shapes);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [3], data_offsets: [24, 36] });
    expect(bytes.length).toBe(8 + headerLength + 36);
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.weights.get('a')!)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(back.weights.get('b')!)).toEqual(Array.from(weights.get('b')!));
    expect(back.shapes.get('a')).toEqual([2, 3]);
  });

  test('corrupt files give errors naming the file', () => {
    expect(() => decodeSafetensors(new Uint8Array(3), 'x.safetensors')).toThrow('x.safetensors: too short');
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 100n, true);
    expect(() => decodeSafetensors(bad, 'y.safetensors')).toThrow('y.safetensors: header length 100 runs past the end');
    expect(() => decodeManifest('{', 'c.json')).toThrow('c.json: not valid JSON');
  });

  test('the manifest keeps Infinity and typed arrays', () => {
    const text = encodeManifest({
      format: 'mind-webgpu/1',
      config: { ...DEFAULT_CONFIG, attentionPower: Infinity },
      shape: { numItems: 3, numFeatureRows: 2, profileSpaces: [], profileDense: 0 },
      itemNames: ['<pad>', 'a', 'b'],
      itemFeatures: { spaces: [], numRows: 2, offsets: Int32Array.from([0, 0, 1, 2]), values: Int32Array.from([0, 1]) },
      maxLength: 5,
      data: { kind: 'synthetic' },
    });
    const m = decodeManifest(text);
    expect(m.config.attentionPower).toBe(Infinity);
    expect(m.itemFeatures!.offsets).toBeInstanceOf(Int32Array);
    expect(Array.from(m.itemFeatures!.values)).toEqual([0, 1]);
  });
});

/** A safetensors file with a hand-written header (for corruptions the encoder never makes). */
function withHeader(header: object, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('checkpoint files read defensively (issue #10)', () => {
  const good = () => encodeSafetensors(new Map([['w', Float32Array.from([1, 2, 3, 4, 5, 6])], ['b', Float32Array.from([7, 8])]]), new Map([['w', [3, 2]], ['b', [2]]]));

  test('offsets outside the data, negative, reversed or overlapping are refused with the tensor and value', () => {
    const cases: [object, number, string][] = [
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, 8, 'f.st: tensor "w": data_offsets [-8,0] must be two non-negative integers'],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8, 'tensor "w": data_offsets [8,0] must be'],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, 'tensor "b": data_offsets [4, 8] overlap'],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12, 'tensor "w": data_offsets [4, 12] leave bytes 0..4 unused'],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 12, '4 bytes after the last tensor'],
      [{ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, 'tensor "w": data_offsets [0, 8] hold 8 bytes, shape [3] of F32 needs 12'],
      [{ w: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, 8, 'tensor "w": dtype "F16"; only F32'],
      [{ w: { shape: [2], data_offsets: [0, 8] } }, 8, 'tensor "w": field "dtype" is missing'],
      [{ w: { dtype: 'F32', data_offsets: [0, 8] } }, 8, 'tensor "w": field "shape" is missing'],
      [{ w: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, 8, 'tensor "w": shape ["2"] is not a list of non-negative integers'],
      [{ w: 3 }, 8, 'tensor "w": expected {dtype, shape, data_offsets}, got 3'],
    ];
    for (const [header, data, message] of cases) expect(() => decodeSafetensors(withHeader(header, data), 'f.st'), message).toThrow(message);
    expect(() => decodeSafetensors(withHeader([1, 2] as unknown as object, 0), 'f.st')).toThrow('f.st: the header must be a JSON object');
  });

  test('a truncated file says truncated and names the tensor cut off', () => {
    const bytes = good();
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'm.st')).toThrow(/m\.st: truncated: tensor "w" ends at data byte 32, but the file holds only 28 data bytes/);
    expect(() => decodeSafetensors(bytes.subarray(0, 20), 'm.st')).toThrow(/m\.st: header length \d+ runs past the end of the file \(20 bytes\): truncated/);
    expect(() => decodeSafetensors(bytes.subarray(0, 5), 'm.st')).toThrow('m.st: too short to be a safetensors file (5 bytes; truncated?)');
  });

  test('shapes are checked against the configuration: a transposed table is refused; NaN weights are named', () => {
    const expected = new Map([['item_embedding', [4181, 16]]]);
    const weights = new Map([['item_embedding', new Float32Array(4181 * 16)]]);
    expect(() => checkWeights('m.st', weights, new Map([['item_embedding', [16, 4181]]]), expected)).toThrow(
      'm.st: tensor "item_embedding" has shape [16, 4181], the configuration needs [4181, 16]',
    );
    weights.get('item_embedding')![5 * 16 + 3] = Number.NaN;
    expect(() => checkWeights('m.st', weights, new Map([['item_embedding', [4181, 16]]]), expected)).toThrow('m.st: tensor "item_embedding" holds NaN at [5, 3]');
    expect(() => checkWeights('m.st', new Map(), new Map(), expected)).toThrow('m.st: no tensor "item_embedding" (the configuration needs [4181, 16])');
    const extra = new Map([...weights, ['stray', new Float32Array(1)]]);
    weights.get('item_embedding')!.fill(0);
    expect(() => checkWeights('m.st', extra, new Map([['item_embedding', [4181, 16]], ['stray', [1]]]), expected)).toThrow('m.st: tensor "stray" is not a parameter of this configuration');
  });

  test('config.json values are validated, each error naming the field and value', () => {
    const manifest = {
      format: 'mind-webgpu/1',
      config: { ...DEFAULT_CONFIG },
      shape: { numItems: 3, numFeatureRows: 0, profileSpaces: [], profileDense: 0 },
      itemNames: ['<pad>', 'a', 'b'],
      maxLength: 5,
      data: { kind: 'synthetic' },
    };
    const text = (patch: (m: Record<string, any>) => void) => {
      const m = structuredClone(manifest) as Record<string, any>;
      patch(m);
      return JSON.stringify(m);
    };
    expect(decodeManifest(text(() => {}), 'c.json').config.kMax).toBe(4);
    // A manifest from before shape.historyLength: it is the training window, maxLength.
    expect(decodeManifest(text(() => {}), 'c.json').shape.historyLength).toBe(5);
    const cases: [(m: Record<string, any>) => void, string][] = [
      [(m) => (m.config.kMax = 100), 'c.json: field "config.kMax" must be an integer in [1, 16], got 100'],
      [(m) => (m.config.iterations = 0), 'c.json: field "config.iterations" must be an integer in [1, 100], got 0'],
      [(m) => (m.config.dim = '16'), 'c.json: field "config.dim" must be an integer in [1, 256], got "16"'],
      [(m) => (m.config.hiddenUnits = '64'), 'c.json: field "config.hiddenUnits" must be a list of layer widths, got "64"'],
      [(m) => (m.config.dynamicK = 'yes'), 'c.json: field "config.dynamicK" must be true or false, got "yes"'],
      [(m) => delete m.shape, 'c.json: field "shape" must be an object, got undefined'],
      [(m) => (m.shape.numItems = -1), 'c.json: field "shape.numItems" must be an integer >= 2, got -1'],
      [(m) => (m.itemNames = ['<pad>']), 'c.json: field "itemNames" must be 3 strings (shape.numItems), got 1 entries'],
      [(m) => (m.maxLength = 0), 'c.json: field "maxLength" must be a positive integer, got 0'],
      [(m) => delete m.config, 'c.json: field "config" must be an object, got undefined'],
      [(m) => (m.shape.numFeatureRows = 2), 'c.json: shape.numFeatureRows is 2 but there is no field "itemFeatures"'],
      [(m) => (m.shape.historyLength = 7), 'c.json: field "shape.historyLength" is 7, maxLength is 5'],
      [(m) => (m.config.extractor = 'sasrec'), 'c.json: field "config.extractor" must be one of mind, meanPool, comirec-sa, comirec-dr, got "sasrec"'],
    ];
    for (const [patch, message] of cases) expect(() => decodeManifest(text(patch), 'c.json'), message).toThrow(message);
  });
});
