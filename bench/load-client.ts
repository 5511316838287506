/**
 * The load generator of bench/serving.ts, in its own process: autocannon against
 * `<url>/recommend` (127.0.0.1 only) with `connections` clients for `seconds` seconds, each
 * request the next body of the JSON array read from stdin. Prints requests/s, p50/p99 latency
 * (ms), totals and failures as one JSON line.
 *   node --import tsx bench/load-client.ts http://127.0.0.1:PORT 8 10 < bodies.json
 */
import autocannon from 'autocannon';

const [url, connections, seconds] = process.argv.slice(2);
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url ?? '')) throw new Error(`load-client: url must be http://127.0.0.1:PORT, got "${url}"`);
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const bodies = JSON.parse(Buffer.concat(chunks).toString('utf8')) as string[];
let next = 0;
const result = await autocannon({
  url: `${url}/recommend`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  connections: Number(connections),
  duration: Number(seconds),
  requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  })}\n`,
);
