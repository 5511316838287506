/**
 * The HTTP service: the happy path, every bad input answered with a JSON 4xx naming the problem
 * (never a crash), concurrent requests over real sockets on 127.0.0.1 each answered with its own
 * list, and a short bounded load run (autocannon) with no failed request and flat GPU memory.
 */
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel, modelShapeOf } from '../../src/mind/model.js';
import { buildService } from '../../src/serve/http.js';
import { Recommender } from '../../src/serve/recommender.js';
import { useContext } from '../helpers/gpu.js';

const L = 10;
const dataset = generateSynthetic({ seed: 5, numItems: 300, numCategories: 8, numUsers: 40, minSequenceLength: 5, maxSequenceLength: 30, maxLength: L });
const config = resolveConfig({ dim: 16, kMax: 4, hiddenUnits: [16], profileDim: 4, seed: 3 });
// A profile of one categorical feature (3 values, 0 = unknown) and one dense feature.
const shape = { ...modelShapeOf(dataset), profileSpaces: [3], profileDense: 1 };
const userFeatures = { categorical: [{ name: 'gender', size: 3, values: ['', 'F', 'M'] }], dense: ['age'] };
// Numeric item ids, as MovieLens writes them, so that a client may send them as JSON numbers.
const names = dataset.itemNames.map((name, id) => (id === 0 ? name : String(1000 + id)));
const history = Array.from(dataset.users[0].items, (id) => names[id]);

describe('mind serve', () => {
  const getCtx = useContext();
  let model: MindModel;
  let recommender: Recommender;
  let app: FastifyInstance;

  beforeAll(() => {
    model = new MindModel(getCtx(), config, shape, dataset.itemFeatures);
    recommender = new Recommender(model, L);
    app = buildService({ recommender, itemNames: names, userFeatures, limits: { bodyBytes: 4096, historyItems: 50 } });
  });
  afterAll(async () => {
    await app.close();
    recommender.dispose();
    model.dispose();
  });

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/recommend', payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });

  test('POST /recommend returns the top n with ids, scores and interests, as Recommender does', async () => {
    const res = await post({ history, n: 7, profile: { gender: 'F', age: 31 }, perInterest: true });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const direct = await recommender.recommend(dataset.users[0].items, 7, { categorical: Int32Array.of(1), dense: Float32Array.of(31) });
    expect(body.items).toEqual(direct.ids.map((id, r) => ({ id: names[id], score: direct.scores[r], interest: direct.interest[r] })));
    expect(body.activeInterests).toBe(direct.activeK);
    expect(body.search).toBe('exact-gpu');
    expect(body.perInterest).toHaveLength(direct.activeK);
    expect(body.perInterest[0].items.map((i: { id: string }) => i.id)).toEqual(direct.perInterest[0].ids.map((id) => names[id]));
    // The history's last L items (the window) are excluded by default; numeric ids are read as the data's names.
    for (const item of body.items) expect(history.slice(-L)).not.toContain(item.id);
    const numeric = await post({ history: history.map(Number), n: 7, profile: { gender: 'F', age: 31 } });
    expect(numeric.json().items).toEqual(body.items);
    const plain = await post({ history });
    expect(plain.json().items).toHaveLength(20);
    expect(plain.json().perInterest).toBeUndefined();
  });

  test('GET /health reports the model and the memory in use', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    // 4 capsules and the global interest (the default).
    expect(res.json()).toMatchObject({ status: 'ok', items: names.length - 1, search: 'exact-gpu', historyWindow: L, interests: 5 });
    expect(res.json().memory.gpuPoolBytes).toBeGreaterThan(0);
  });

  test.each([
    ['no history', { n: 5 }, /must have required property 'history'/],
    ['an empty history', { history: [] }, /must NOT have fewer than 1 items/],
    ['a history over the limit', { history: Array(51).fill(history[0]) }, /must NOT have more than 50 items/],
    ['a history item of the wrong type', { history: [history[0], { id: 1 }] }, /history\/1 must be string,integer/],
    ['n = 0', { history, n: 0 }, /n must be >= 1/],
    ['n over 256', { history, n: 257 }, /n must be <= 256/],
    ['a fractional n', { history, n: 2.5 }, /n must be integer/],
    ['n as a string', { history, n: '20' }, /n must be integer/],
    ['an unknown field', { history, count: 3 }, /must NOT have additional properties/],
    ['a profile that is not an object', { history, profile: [1] }, /profile must be object/],
  ])('400 for %s', async (_name, payload, message) => {
    const res = await post(payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  test('400 listing every unknown item id', async () => {
    const res = await post({ history: [history[0], 'no-such-item', 'nor-this', 'no-such-item', names[0]] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "history: 3 item id(s) not in the model's catalogue", unknownItems: ['no-such-item', 'nor-this', '<pad>'] });
  });

  test('400 for unknown profile features and values, and a dense feature that is not a number', async () => {
    const feature = await post({ history, profile: { height: 180 } });
    expect(feature.statusCode).toBe(400);
    expect(feature.json()).toMatchObject({ unknownFeatures: ['height'] });
    expect(feature.json().error).toContain('the model knows "gender", "age"');
    const value = await post({ history, profile: { gender: 'X' } });
    expect(value.statusCode).toBe(400);
    expect(value.json()).toMatchObject({ unknownValues: [{ feature: 'gender', value: 'X' }] });
    const dense = await post({ history, profile: { age: 'old' } });
    expect(dense.statusCode).toBe(400);
    expect(dense.json().error).toBe('profile.age must be a number, got "old"');
  });

  test('400 for malformed JSON, 413 for a body over the limit, 415 for a body that is not JSON, 404 elsewhere', async () => {
    const malformed = await post('{"history": [');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/JSON/);
    const large = await post({ history, padding: 'x'.repeat(5000) });
    expect(large.statusCode).toBe(413);
    expect(large.json().error).toMatch(/body is too large/i);
    const text = await post('<history/>', { 'content-type': 'application/xml' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toMatch(/Unsupported Media Type/i);
    const missing = await app.inject({ method: 'GET', url: '/recommend' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatch(/no route GET \/recommend/);
  });

  test('concurrent requests over 127.0.0.1 each get their own list; a bounded load run fails none and keeps GPU memory flat', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const users = dataset.users.slice(0, 16);
    const sequential = [];
    for (const user of users) sequential.push((await post({ history: Array.from(user.items, (id) => names[id]), n: 10 })).json());
    const concurrent = await Promise.all(
      users.map(async (user) => {
        const res = await fetch(`${address}/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history: Array.from(user.items, (id) => names[id]), n: 10 }) });
        expect(res.status).toBe(200);
        return res.json();
      }),
    );
    expect(concurrent).toEqual(sequential);

    const body = JSON.stringify({ history, n: 10 });
    const load = () => autocannon({ url: `${address}/recommend`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 8, duration: 2 });
    // Under 8 clients a GPU call answers 1 to 8 requests; once each of those batch sizes has run
    // (direct calls queued together form exactly one batch), the buffer pool has every size it needs.
    for (let size = 1; size <= 8; size++) await Promise.all(Array.from({ length: size }, () => recommender.recommend(dataset.users[0].items, 10)));
    // Which batch sizes follow each other under load varies run to run, and a buffer released by
    // one GPU call is reusable only after the next submit completes: two warm-up runs let the pool
    // reach the buffers the steady state needs before it is measured.
    await load();
    await load();
    const before = getCtx().gpu.pool.stats().allocatedBytes;
    const result = await load();
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests.total).toBeGreaterThan(0);
    expect(getCtx().gpu.pool.stats().allocatedBytes).toBe(before);
  });
});
