/**
 * The HTTP recommendation service (`mind serve`), on fastify:
 *   POST /recommend  {"history": ["318", "296"], "n": 20, "profile": {...}, "perInterest": true}
 *   GET  /health
 * Item ids are the data's own names (the checkpoint manifest's itemNames). Every bad input is a
 * JSON 4xx naming what was wrong, never a crash: unknown item ids and profile values are listed,
 * and the body size, history length and n are bounded. Requests that arrive together share one
 * GPU call (Recommender batches them). Node-only.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { CheckpointManifest } from '../train/checkpoint.js';
import type { Recommender, UserProfileInput } from './recommender.js';
import { MAX_TOP_K } from './topk.js';

export interface ServiceLimits {
  /** Largest request body in bytes (default 64 KiB): a history of 1000 long ids fits. */
  bodyBytes: number;
  /** Most history items per request (default 1000); only the last L (the training window) count. */
  historyItems: number;
}

export const DEFAULT_LIMITS: ServiceLimits = { bodyBytes: 64 * 1024, historyItems: 1000 };

export interface ServiceOptions {
  recommender: Recommender;
  /** `itemNames[id]`: the data's id of each model item id (0 is the padding item). */
  itemNames: readonly string[];
  /** The checkpoint's user feature vocabularies, to read `profile`; none when trained without. */
  userFeatures?: CheckpointManifest['userFeatures'];
  limits?: Partial<ServiceLimits>;
  /** fastify's request log on stderr (default off: the service is quiet unless asked). */
  logger?: boolean;
}

/** The request body of POST /recommend. */
interface RecommendBody {
  history: (string | number)[];
  n?: number;
  profile?: Record<string, string | number>;
  perInterest?: boolean;
  excludeHistory?: boolean;
}

/** A 4xx the client can act on: `status`, a message, and details such as the unknown ids. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function bodySchema(limits: ServiceLimits) {
  return {
    type: 'object',
    required: ['history'],
    additionalProperties: false,
    properties: {
      history: { type: 'array', minItems: 1, maxItems: limits.historyItems, items: { type: ['string', 'integer'] } },
      n: { type: 'integer', minimum: 1, maximum: MAX_TOP_K },
      profile: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
      perInterest: { type: 'boolean' },
      excludeHistory: { type: 'boolean' },
    },
  } as const;
}

/** Maps a request's profile (feature name → value as the data writes it) to the model's inputs. */
function profileInput(profile: Record<string, string | number>, features: ServiceOptions['userFeatures']): UserProfileInput {
  const categorical = features?.categorical ?? [];
  const dense = features?.dense ?? [];
  const known = new Set([...categorical.map((f) => f.name), ...dense]);
  const unknownFeatures = Object.keys(profile).filter((name) => !known.has(name));
  if (unknownFeatures.length > 0) {
    throw new RequestError(400, `profile: unknown features ${unknownFeatures.map((n) => `"${n}"`).join(', ')}; the model knows ${[...known].map((n) => `"${n}"`).join(', ') || 'none'}`, { unknownFeatures });
  }
  const unknownValues: { feature: string; value: string | number }[] = [];
  const categoricalIds = Int32Array.from(categorical, (space) => {
    const value = profile[space.name];
    if (value === undefined) return 0; // an absent feature is the model's "unknown" value, as in training
    const id = space.values.indexOf(String(value));
    if (id < 1) unknownValues.push({ feature: space.name, value });
    return Math.max(id, 0);
  });
  if (unknownValues.length > 0) {
    throw new RequestError(400, `profile: values the model was not trained with: ${unknownValues.map((u) => `${u.feature}="${u.value}"`).join(', ')}`, { unknownValues });
  }
  // Without vocabularies every profile input is the model's "unknown" (Recommender's zeros).
  if (!features) return {};
  const denseValues = Float32Array.from(dense, (name) => {
    const value = profile[name] ?? 0;
    if (typeof value !== 'number') throw new RequestError(400, `profile.${name} must be a number, got "${value}"`);
    return value;
  });
  return { categorical: categoricalIds, dense: denseValues };
}

/**
 * The service as a fastify instance, not yet listening (`app.listen` or `app.inject` next).
 * Responses: 200 `{items: [{id, score, interest}], activeInterests, search, perInterest?}`; 400
 * for a body that breaks the schema (missing or empty history, a non-integer n or one outside
 * [1, 256], an unknown field), for unknown item ids (`unknownItems`), unknown profile features
 * (`unknownFeatures`) or values (`unknownValues`), and for malformed JSON; 413 for a body over
 * `limits.bodyBytes`; 415 for a body that is not JSON; 404 elsewhere; 503 when the search
 * backend fails; every error as `{error, ...details}`. Throws a RangeError naming a limit that is
 * not an integer ≥ 1.
 */
export function buildService(options: ServiceOptions): FastifyInstance {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`buildService: limits.${name} must be an integer ≥ 1, got ${value}`);
  }
  const { recommender, itemNames } = options;
  const idOf = new Map(itemNames.map((name, id) => [name, id]));
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyBytes,
    // Strict validation: a wrong type or an unknown field is the client's bug, said back to it.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, allowUnionTypes: true } },
  });

  app.setErrorHandler((err: FastifyError | RequestError, request, reply) => {
    if (err instanceof RequestError) return reply.code(err.status).send({ error: err.message, ...err.details });
    if (err.validation) return reply.code(400).send({ error: `invalid request: ${err.message}` });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    request.log.error(err);
    // A failed search backend (e.g. Postgres unreachable) is a temporary refusal, not a crash.
    return reply.code(503).send({ error: `recommendation failed: ${err.message}` });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}; use POST /recommend or GET /health` }));

  app.get('/health', async () => {
    const memory = process.memoryUsage();
    return {
      status: 'ok',
      items: itemNames.length - 1,
      search: recommender.searchKind,
      historyWindow: recommender.historyWindow,
      interests: recommender.model.numInterests,
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, gpuPoolBytes: recommender.model.ctx.gpu.pool.stats().allocatedBytes },
    };
  });

  app.post<{ Body: RecommendBody }>('/recommend', { schema: { body: bodySchema(limits) } }, async (request) => {
    const body = request.body;
    const names = body.history.map(String);
    const unknownItems = [...new Set(names.filter((name) => !idOf.has(name) || idOf.get(name) === 0))];
    if (unknownItems.length > 0) {
      throw new RequestError(400, `history: ${unknownItems.length} item id(s) not in the model's catalogue`, { unknownItems });
    }
    const profile = profileInput(body.profile ?? {}, options.userFeatures);
    const history = names.map((name) => idOf.get(name)!);
    const rec = await recommender.recommend(history, body.n ?? 20, profile, body.excludeHistory ?? true);
    return {
      items: rec.ids.map((id, r) => ({ id: itemNames[id], score: rec.scores[r], interest: rec.interest[r] })),
      activeInterests: rec.activeK,
      search: recommender.searchKind,
      ...(body.perInterest
        ? { perInterest: rec.perInterest.map((list) => ({ items: list.ids.map((id, r) => ({ id: itemNames[id], score: list.scores[r] })) })) }
        : {}),
    };
  });
  return app;
}

/**
 * Listens on 127.0.0.1:`port` (0 picks a free port) and closes gracefully on SIGTERM or SIGINT:
 * no new connections, requests in flight answered, then `cleanup` (release the GPU, the index,
 * database pools). Resolves with the bound address once listening; `closed` settles when the
 * shutdown is done. Rejects as `app.listen` does (e.g. the port is taken).
 */
export async function listenUntilSignal(app: FastifyInstance, port: number, cleanup: () => Promise<void>): Promise<{ address: string; closed: Promise<void> }> {
  const address = await app.listen({ host: '127.0.0.1', port });
  const closed = new Promise<void>((resolve, reject) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      app.close().then(cleanup).then(resolve, reject);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return { address, closed };
}
