import { test } from 'vitest';
import { createContext } from '../../src/index.js';
import { b2iRouting } from '../../src/autograd/ops/routing.js';
import { randomArray } from '../helpers/gpu.js';
test('scratch', async () => {
  let t0 = performance.now();
  const ctx = await createContext();
  console.log('ctx', performance.now() - t0);
  for (const [B, L, dIn, d, K] of [[3, 7, 5, 6, 4], [3, 7, 5, 6, 4], [3, 256, 64, 64, 16], [3, 256, 64, 64, 16], [2, 256, 256, 256, 16], [2, 256, 256, 256, 16]]) {
    const E = randomArray(B * L * dIn, 1), S = randomArray(dIn * d, 2);
    const lengths = new Int32Array(B).fill(L);
    t0 = performance.now();
    const out = b2iRouting(ctx.tensor(E, [B, L, dIn]), ctx.tensor(lengths, [B]), ctx.tensor(S, [dIn, d]), { kMax: K, seed: 1 });
    await out.read();
    console.log(B, L, d, K, performance.now() - t0);
  }
  ctx.destroy();
});
