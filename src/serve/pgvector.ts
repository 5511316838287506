/**
 * PostgreSQL with pgvector as a VectorIndex, through the standard `pg` client: the same backend
 * serves from any Postgres with the extension (a managed one, a distributed one). Items are rows
 * `(item text primary key, embedding vector(d))` keyed by the item ids as the data names them,
 * with an HNSW index on inner product (`vector_ip_ops`); each interest is one
 * `ORDER BY embedding <#> $1 LIMIT k` query (`<#>` is the negative inner product), and the
 * queries of a request run in parallel over the pool's connections. Node-only.
 */
import pg from 'pg';
import type { TopKResult } from './topk.js';
import { type VectorIndex, checkSearchArguments } from './vector-index.js';

/** How the table and its HNSW index are laid out and searched. */
export interface PgVectorOptions {
  /** Table name (default 'mind_items'): lower-case letters, digits and '_'. */
  table?: string;
  /** HNSW graph degree `m` (default 16, pgvector's). */
  m?: number;
  /** HNSW `ef_construction` (default 128: pgvector's 64 falls short of recall 0.95 at 100k items). */
  efConstruction?: number;
  /** `hnsw.ef_search` (default 200); results past it come from pgvector 0.8's iterative scan. */
  efSearch?: number;
  /** Items per INSERT statement when upserting (default 1000). */
  batchSize?: number;
}

const DEFAULTS = { table: 'mind_items', m: 16, efConstruction: 128, efSearch: 200, batchSize: 1000 };

/** A vector as pgvector's text input `[x,y,...]`: JavaScript prints each f32 value exactly. */
function vectorLiteral(values: Float32Array): string {
  return `[${Array.from(values).join(',')}]`;
}

export class PgVectorIndex implements VectorIndex {
  readonly kind = 'pgvector-hnsw';
  private readonly options: typeof DEFAULTS;
  private readonly idOf: Map<string, number>;
  private readonly configured = new WeakSet<pg.PoolClient>();
  private ownsPool = false;

  /**
   * Searches table `options.table` through `pool` (the caller's: `close` leaves it open). `itemNames[id]` is the name of the model's item id (the checkpoint manifest's
   * itemNames; id 0 is the padding item). Every connection searches with `hnsw.ef_search` and
   * strict-order iterative scans, so a LIMIT above ef_search still returns that many rows in
   * order. Throws a RangeError naming the option when `table` is not a plain identifier or a
   * number is not an integer ≥ 1, and naming `dim` when it is not an integer in [1, 16000]
   * (pgvector's limit).
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly itemNames: readonly string[],
    readonly dim: number,
    options: PgVectorOptions = {},
  ) {
    const { table, m, efConstruction, efSearch, batchSize } = { ...DEFAULTS, ...options };
    this.options = { table, m, efConstruction, efSearch, batchSize };
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.options.table)) throw new RangeError(`pgvector: table must be a lower-case identifier, got "${this.options.table}"`);
    for (const name of ['m', 'efConstruction', 'efSearch', 'batchSize'] as const) {
      const value = this.options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`pgvector: ${name} must be an integer ≥ 1, got ${value}`);
    }
    if (!Number.isInteger(dim) || dim < 1 || dim > 16000) throw new RangeError(`pgvector: dim must be an integer in [1, 16000], got ${dim}`);
    this.idOf = new Map(itemNames.map((name, id) => [name, id]));
  }

  /**
   * Runs `fn` on a pooled connection, first giving a connection it has not seen its search
   * settings (session settings, so once per connection; pool clients are reused objects).
   */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      if (!this.configured.has(client)) {
        await client.query(`SET hnsw.ef_search = ${this.options.efSearch}`);
        await client.query('SET hnsw.iterative_scan = strict_order');
        this.configured.add(client);
      }
      return await fn(client);
    } finally {
      client.release();
    }
  }

  /**
   * Creates the extension (if allowed) and the table, and upserts every item of `items`
   * (`[numItems, d]` f32 row-major, row i = item id i, row 0 the padding item left out) under its
   * name, `batchSize` rows per statement; an item already there gets its new vector. Rejects with
   * an Error naming `items` when its shape is not `[itemNames.length, dim]`, and with the
   * server's error otherwise (e.g. a table of another width).
   */
  async upsert(items: Float32Array): Promise<void> {
    const { table, batchSize } = this.options;
    const d = this.dim;
    if (items.length !== this.itemNames.length * d) {
      throw new Error(`pgvector upsert: items has ${items.length} values, expected [${this.itemNames.length}, ${d}]`);
    }
    await this.pool.query('CREATE EXTENSION IF NOT EXISTS vector');
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${table} (item text PRIMARY KEY, embedding vector(${d}) NOT NULL)`);
    for (let from = 1; from < this.itemNames.length; from += batchSize) {
      const to = Math.min(this.itemNames.length, from + batchSize);
      const names = this.itemNames.slice(from, to);
      const vectors = names.map((_, i) => vectorLiteral(items.subarray((from + i) * d, (from + i + 1) * d)));
      await this.pool.query(
        `INSERT INTO ${table} (item, embedding) SELECT * FROM unnest($1::text[], $2::vector[])
         ON CONFLICT (item) DO UPDATE SET embedding = EXCLUDED.embedding`,
        [names, vectors],
      );
    }
  }

  /** Builds the HNSW inner-product index if the table has none (after `upsert`: faster than row by row). */
  async createIndex(): Promise<void> {
    const { table, m, efConstruction } = this.options;
    await this.pool.query(`CREATE INDEX IF NOT EXISTS ${table}_embedding_hnsw ON ${table} USING hnsw (embedding vector_ip_ops) WITH (m = ${m}, ef_construction = ${efConstruction})`);
  }

  /** Rows in the table. */
  async count(): Promise<number> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM ${this.options.table}`);
    return rows[0].n as number;
  }

  /**
   * `VectorIndex.search` as one query per row of `queries`, in parallel over the pool; scores
   * are the inner products (−(embedding <#> q), computed by the server). Rows whose item is not in
   * `itemNames` (another model's items left in the table) are skipped. Same errors as the
   * interface, and the server's.
   */
  async search(queries: Float32Array, k: number): Promise<TopKResult> {
    const Q = checkSearchArguments(this.kind, this.dim, queries, k);
    const ids = new Int32Array(Q * k).fill(-1);
    const scores = new Float32Array(Q * k);
    const sql = `SELECT item, (embedding <#> $1::vector) AS distance FROM ${this.options.table} ORDER BY embedding <#> $1::vector LIMIT $2`;
    await Promise.all(
      Array.from({ length: Q }, async (_, q) => {
        const { rows } = await this.withClient((client) => client.query(sql, [vectorLiteral(queries.subarray(q * this.dim, (q + 1) * this.dim)), k]));
        let r = 0;
        for (const row of rows as { item: string; distance: number }[]) {
          const id = this.idOf.get(row.item);
          if (id === undefined || id === 0) continue;
          ids[q * k + r] = id;
          scores[q * k + r] = -row.distance;
          r++;
        }
      }),
    );
    return { ids, scores };
  }

  /** Ends the pool when `connect` made it; a pool given to the constructor is the caller's to end. */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * A PgVectorIndex over its own pool of at most `connections` connections (default 4) to
   * `connectionString` (e.g. `postgres://user:pass@127.0.0.1:5432/db`); `close` ends the pool.
   * PGlite served by pglite-socket needs `connections` = 1: its single backend cannot interleave
   * two clients' extended-protocol messages. Throws a RangeError naming `connections` when it is
   * not an integer ≥ 1, and as the constructor does. Connecting happens at the first query.
   */
  static connect(connectionString: string, itemNames: readonly string[], dim: number, options: PgVectorOptions & { connections?: number } = {}): PgVectorIndex {
    const connections = options.connections ?? 4;
    if (!Number.isInteger(connections) || connections < 1) throw new RangeError(`pgvector: connections must be an integer ≥ 1, got ${connections}`);
    const index = new PgVectorIndex(new pg.Pool({ connectionString, max: connections }), itemNames, dim, options);
    index.ownsPool = true;
    return index;
  }
}
