import { describe, expect, test } from 'vitest';
import { decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors } from '../../src/train/checkpoint.js';
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
