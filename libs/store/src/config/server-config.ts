import path from 'node:path';
import { z } from 'zod';

/** Typed server configuration, validated once at start from the environment. */
export interface ServerConfig {
  /** External PostgreSQL; undefined → embedded PostgreSQL in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Redis for BullMQ; undefined → BullMQ's PostgreSQL backend in the same database. */
  readonly redisUrl: string | undefined;
  readonly port: number;
  readonly host: string;
  /** Absolute path of the data directory (content-addressed inputs, embedded database). */
  readonly dataDir: string;
  readonly workerConcurrency: number;
  /** Largest accepted upload (one request), in bytes. */
  readonly uploadLimitBytes: number;
  /** Port of the embedded PostgreSQL when it is used. */
  readonly embeddedPgPort: number;
  /** BullMQ job lock: a worker that dies is detected as stalled after about this long. */
  readonly jobLockMs: number;
  /** Prefix of queue names, so test runs and deployments can share a Redis or database. */
  readonly queuePrefix: string;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** Parses `512mb`, `2g`, `1048576` into bytes; null when malformed. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const url = (protocols: string[], example: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `expected a URL like ${example}`);

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected a whole number from ${min} to ${max}`);

const schema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db').optional(),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://host:6379').optional(),
  PORT: int(1, 65535).default(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().trim().min(1).default('.threadreel'),
  WORKER_CONCURRENCY: int(1, 256).default(2),
  UPLOAD_LIMIT: z
    .string()
    .transform((v, ctx) => {
      const n = parseByteSize(v);
      if (n === null) {
        ctx.addIssue({ code: 'custom', message: 'expected a size like 1073741824, 512mb or 2g' });
        return z.NEVER;
      }
      return n;
    })
    .default(2 * 1024 ** 3),
  EMBEDDED_PG_PORT: int(1, 65535).default(54329),
  JOB_LOCK_MS: int(1000, 3_600_000).default(30_000),
  QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, 'expected lower-case letters, digits and _ (starting with a letter)')
    .default('threadreel'),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The configuration, or — when a variable is bad — its message on stderr and exit
 * code 2, before anything starts.
 */
export function loadServerConfigOrExit(): ServerConfig {
  try {
    return loadServerConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * Reads and validates the configuration. Empty variables count as unset. Throws a
 * ConfigError naming every bad variable and what it expects.
 */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServerConfig {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') raw[key] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join('.');
        return `${name}=${JSON.stringify(raw[name] ?? '')}: ${i.message}`;
      }),
    );
  }
  const c = parsed.data;
  return {
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    port: c.PORT,
    host: c.HOST,
    dataDir: path.resolve(cwd, c.DATA_DIR),
    workerConcurrency: c.WORKER_CONCURRENCY,
    uploadLimitBytes: c.UPLOAD_LIMIT,
    embeddedPgPort: c.EMBEDDED_PG_PORT,
    jobLockMs: c.JOB_LOCK_MS,
    queuePrefix: c.QUEUE_PREFIX,
  };
}
