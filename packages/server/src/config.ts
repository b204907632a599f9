// Configuration from environment variables, validated once at startup. A bad value stops
// startup with a message naming the variable.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DatabaseTarget } from './db/database.ts';

const DEFAULT_CATALOG_DIR = fileURLToPath(new URL('../catalog', import.meta.url));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** Every environment variable Atelier reads, with its default. */
export const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(4000),
  ATELIER_HOME: z.string().min(1).default('./.atelier'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  STORAGE_URL: url(['file:', 's3:'])
    .superRefine((value, ctx) => {
      // Unparsable URLs are reported once, by url() above.
      const s3 = value.startsWith('s3:') && URL.canParse(value) ? parseS3Url(value) : null;
      if (typeof s3 === 'string') ctx.addIssue({ code: 'custom', message: s3 });
    })
    .optional(),
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  // Read only with an s3:// STORAGE_URL. Without a key pair the SDK's default chain applies
  // (shared config and profiles, SSO, container and instance roles).
  AWS_REGION: z.string().min(1).optional(),
  AWS_DEFAULT_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  CATALOG_DIR: z.string().min(1).default(DEFAULT_CATALOG_DIR),
  UPLOAD_MAX_FILE_BYTES: int(1).default(25 * 1024 * 1024),
  UPLOAD_MAX_FILES: int(1, 100).default(4),
  UPLOAD_MAX_PIXELS: int(1).default(64_000_000),
  IMAGE_MAX_EDGE: int(64, 16384).default(2048),
  THUMBNAIL_EDGE: int(16, 1024).default(256),
  STORAGE_SWEEP_MINUTES: int(0, 7 * 24 * 60).default(60),
  OUTPUT_METADATA: z
    .enum(['strip', 'keep'], { error: 'must be "strip" or "keep"' })
    .default('strip'),
  COMFYUI_URLS: z
    .string()
    .optional()
    .refine(
      (v) =>
        !v ||
        v.split(',').every((u) => {
          try {
            return ['http:', 'https:'].includes(new URL(u.trim()).protocol);
          } catch {
            return false;
          }
        }),
      { error: 'must be comma-separated http:// or https:// URLs' },
    ),
  SANDBOX_STEP_DELAY_MS: int(0, 60_000).default(60),
  QUEUE_TIMEOUT_MS: int(1000).default(30 * 60 * 1000),
  STALL_TIMEOUT_MS: int(1000).default(5 * 60 * 1000),
  CANCEL_CONFIRM_TIMEOUT_MS: int(100).default(10 * 60 * 1000),
  COMFYUI_SLOTS_PER_WORKER: int(1, 16).default(2),
  DISPATCH_AHEAD: int(0, 256).optional(),
  PROGRESS_EVENTS_PER_SECOND: int(1, 100).default(10),
  WORKER_RETRIES: int(0, 10).default(2),
  WORKER_HEARTBEAT_MS: int(100, 600_000).default(5_000),
  RUN_LEASE_MS: int(300, 3_600_000).default(30_000),
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false'),
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(5_000),
  PERSISTED_ONLY: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  PERSISTED_DOCUMENTS: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  BACKGROUND_REMOVAL_MODEL: z.string().min(1).default('birefnet.safetensors'),
  LLM_URL: url(['http:', 'https:']).optional(),
  LLM_MODEL: z.string().min(1).optional(),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_TIMEOUT_MS: int(100).default(30_000),
  LLM_VISION: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  CONTENT_BLOCKLIST: z.string().optional(),
  CONTENT_BLOCKLIST_FILE: z.string().min(1).optional(),
  AUTH_MODE: z.enum(['local', 'keys'], { error: 'must be "local" or "keys"' }).default('local'),
  METRICS_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  METRICS_PORT: int(0, 65535).optional(),
  MEDIA_URL_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  MEDIA_URL_TTL: int(10, 7 * 24 * 3600).default(3600),
  CORS_ORIGINS: z
    .string()
    .optional()
    .refine(
      (v) =>
        !v ||
        v === '*' ||
        v.split(',').every((o) => {
          try {
            const u = new URL(o.trim());
            return ['http:', 'https:'].includes(u.protocol) && u.origin === o.trim();
          } catch {
            return false;
          }
        }),
      { error: 'must be "*" or comma-separated origins such as https://app.example.com' },
    ),
  RATE_LIMIT_PER_MINUTE: int(0).default(600),
  MAX_QUEUED_RUNS_PER_ACCOUNT: int(1).default(100),
  MAX_REQUEST_BYTES: int(1024).default(1024 * 1024),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$/, { error: 'must be 1-64 letters, digits, : _ . -' })
    .default('atelier'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['http:', 'https:']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('atelier'),
  NODE_ENV: z.string().default('development'),
});

export type Env = z.infer<typeof envSchema>;

/** Where media bytes live: a folder, or a bucket (keys under `prefix`) of S3 or a compatible server. */
export type StorageConfig =
  | { kind: 'file'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix without surrounding slashes; '' for the bucket's root. */
      prefix: string;
      /** S3_ENDPOINT (addressed path-style); null: AWS itself. */
      endpoint: string | null;
      region: string;
      /** AWS_ACCESS_KEY_ID and friends; null: the SDK's default credential chain. */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
    };

// S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and
// ending with a letter or digit, no "..", not shaped like an IP address.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Splits s3://bucket[/prefix] into its parts, or returns what is wrong with it. */
export function parseS3Url(value: string): { bucket: string; prefix: string } | string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be a URL such as s3://bucket/prefix';
  }
  if (u.username || u.password || u.port || u.search || u.hash) {
    return 'must be s3://bucket or s3://bucket/prefix (no credentials, port, query or fragment; use S3_ENDPOINT and the AWS_* variables)';
  }
  const bucket = u.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    return `"${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)`;
  }
  let prefix: string;
  try {
    // From the text as written: URL parsing would quietly resolve "a/../b" to "b".
    const rawPath = value.replace(/^s3:\/\/[^/]*/i, '');
    prefix = decodeURIComponent(rawPath).replace(/^\/+|\/+$/g, '');
  } catch {
    return 'has a badly encoded prefix';
  }
  if (
    prefix !== '' &&
    prefix.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    return 'has an empty, "." or ".." segment in its prefix';
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(prefix)) return 'has a control character in its prefix';
  return { bucket, prefix };
}

export interface Config {
  host: string;
  port: number;
  home: string;
  database: DatabaseTarget;
  storage: StorageConfig;
  /**
   * How often an executing process deletes the media files no Media row names, and how old
   * they must be (ms); 0 never.
   */
  storageSweepMs: number;
  catalogDir: string;
  uploads: {
    maxFileBytes: number;
    maxFiles: number;
    maxPixels: number;
    maxEdge: number;
    thumbnailEdge: number;
    /** ComfyUI's metadata in output images: stripped (default) or kept as written. */
    outputMetadata: 'strip' | 'keep';
  };
  /** ComfyUI workers; empty means "start the bundled sandbox". */
  comfyuiUrls: string[];
  sandboxStepDelayMs: number;
  queueTimeoutMs: number;
  stallTimeoutMs: number;
  /**
   * How long a cancel waits for ComfyUI to confirm a running prompt stopped; past it the run
   * ends CANCELED unconfirmed and the worker's slot stays taken until ComfyUI is done with it.
   */
  cancelConfirmTimeoutMs: number;
  /** Prompts per ComfyUI server: one running plus extras queued there (the GPU never idles). */
  comfyuiSlotsPerWorker: number;
  /**
   * Runs a process prepares beyond its ComfyUI slots (prompt stages and inputs done, waiting
   * for the next free slot); null: one per healthy ComfyUI server.
   */
  dispatchAhead: number | null;
  /** Most progress events per second per run (the sampler's rate up to this). */
  progressEventsPerSecond: number;
  workerRetries: number;
  /** How often an executing process renews its registration (WorkerProcess). */
  workerHeartbeatMs: number;
  /** How long a claimed run stays its process's without a renewal (kill -9 → taken over after). */
  runLeaseMs: number;
  /** The base URL clients reach this API at (links in webhook bodies); null: its own. */
  publicUrl: string | null;
  webhooks: { allowPrivate: boolean; retryBaseMs: number; timeoutMs: number };
  /**
   * Persisted documents: besides the SDK's own (always known), the manifests in `files`
   * (graphql-codegen's persisted-documents.json format); `only` refuses any other document.
   */
  persistedDocuments: { only: boolean; files: string[] };
  backgroundRemovalModel: string;
  llm: {
    url: string;
    model: string;
    apiKey: string | null;
    timeoutMs: number;
    /** The model takes images (`image_url` parts): DESCRIBE uses it for IMAGE_TO_AUDIO. */
    vision: boolean;
  } | null;
  /** CONTENT_BLOCKLIST as given: replaces the built-in list; "none" turns it off. */
  blocklist: string | null;
  blocklistFile: string | null;
  logLevel: Env['LOG_LEVEL'];
  /** `auto`: pretty (pino-pretty) when stderr is a terminal, JSON lines otherwise. */
  logFormat: Env['LOG_FORMAT'];
  /**
   * OpenTelemetry traces over OTLP/HTTP to `url` (the traces endpoint: `<base>/v1/traces`);
   * null: no tracing, and the SDK is not even loaded.
   */
  tracing: { url: string; serviceName: string } | null;
  /** `atelier worker` (no API) serves GET /metrics on this port at HOST; null: not at all. */
  metricsPort: number | null;
  production: boolean;
  auth: {
    /** local: requests without credentials act as the local account; keys: a key is required. */
    mode: 'local' | 'keys';
    /** Bearer token accepted by GET /metrics besides admin keys. */
    metricsToken: string | null;
    /** HMAC secret of signed media URLs; null: generated and kept under ATELIER_HOME. */
    mediaUrlSecret: string | null;
    mediaUrlTtlSeconds: number;
    /** Requests per minute per API key; 0 turns the limit off. */
    rateLimitPerMinute: number;
  };
  /** Redis for pub/sub between processes; null keeps everything in this process. */
  redis: { url: string; prefix: string } | null;
  limits: {
    /** Browser origins allowed to call the API besides its own ("*": any). */
    corsOrigins: string[] | '*';
    /** QUEUED runs one account may have at once. */
    maxQueuedRunsPerAccount: number;
    /** Largest non-multipart request body. */
    maxRequestBytes: number;
  };
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Thrown for an invalid environment; the message names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]?.variable}: ${problems[0]?.message}`
        : `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration from an environment (usually process.env). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in envSchema.shape && value !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '?'),
        message: issue.message,
      })),
    );
  }
  const e = parsed.data;
  if (e.AUTH_MODE === 'local' && !isLoopbackHost(e.HOST)) {
    throw new ConfigError([
      {
        variable: 'HOST',
        message: `${e.HOST} is not a loopback address, and AUTH_MODE=local lets every request act as the local account; set AUTH_MODE=keys to listen there`,
      },
    ]);
  }
  const home = path.resolve(e.ATELIER_HOME);
  const storage = storageConfig(e, home);
  return {
    host: e.HOST,
    port: e.PORT,
    home,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'pglite', dataDir: path.join(home, 'db') },
    storage,
    storageSweepMs: e.STORAGE_SWEEP_MINUTES * 60_000,
    catalogDir: path.resolve(e.CATALOG_DIR),
    uploads: {
      maxFileBytes: e.UPLOAD_MAX_FILE_BYTES,
      maxFiles: e.UPLOAD_MAX_FILES,
      maxPixels: e.UPLOAD_MAX_PIXELS,
      maxEdge: e.IMAGE_MAX_EDGE,
      thumbnailEdge: e.THUMBNAIL_EDGE,
      outputMetadata: e.OUTPUT_METADATA,
    },
    comfyuiUrls: (e.COMFYUI_URLS ?? '')
      .split(',')
      .map((u) => u.trim().replace(/\/+$/, ''))
      .filter(Boolean),
    sandboxStepDelayMs: e.SANDBOX_STEP_DELAY_MS,
    queueTimeoutMs: e.QUEUE_TIMEOUT_MS,
    stallTimeoutMs: e.STALL_TIMEOUT_MS,
    cancelConfirmTimeoutMs: e.CANCEL_CONFIRM_TIMEOUT_MS,
    comfyuiSlotsPerWorker: e.COMFYUI_SLOTS_PER_WORKER,
    dispatchAhead: e.DISPATCH_AHEAD ?? null,
    progressEventsPerSecond: e.PROGRESS_EVENTS_PER_SECOND,
    workerRetries: e.WORKER_RETRIES,
    workerHeartbeatMs: e.WORKER_HEARTBEAT_MS,
    runLeaseMs: e.RUN_LEASE_MS,
    publicUrl: e.PUBLIC_URL ?? null,
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
    persistedDocuments: {
      only: e.PERSISTED_ONLY === 'true',
      files: (e.PERSISTED_DOCUMENTS ?? '')
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
    },
    backgroundRemovalModel: e.BACKGROUND_REMOVAL_MODEL,
    llm: e.LLM_URL
      ? {
          url: e.LLM_URL,
          model: e.LLM_MODEL ?? 'default',
          apiKey: e.LLM_API_KEY ?? null,
          timeoutMs: e.LLM_TIMEOUT_MS,
          vision: e.LLM_VISION === 'true',
        }
      : null,
    blocklist: e.CONTENT_BLOCKLIST ?? null,
    blocklistFile: e.CONTENT_BLOCKLIST_FILE ?? null,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    metricsPort: e.METRICS_PORT ?? null,
    tracing:
      e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_EXPORTER_OTLP_ENDPOINT
        ? {
            url:
              e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
              `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/+$/, '')}/v1/traces`,
            serviceName: e.OTEL_SERVICE_NAME,
          }
        : null,
    production: e.NODE_ENV === 'production',
    auth: {
      mode: e.AUTH_MODE,
      metricsToken: e.METRICS_TOKEN ?? null,
      mediaUrlSecret: e.MEDIA_URL_SECRET ?? null,
      mediaUrlTtlSeconds: e.MEDIA_URL_TTL,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.REDIS_PREFIX } : null,
    limits: {
      corsOrigins:
        e.CORS_ORIGINS === '*'
          ? '*'
          : (e.CORS_ORIGINS ?? '')
              .split(',')
              .map((o) => o.trim())
              .filter(Boolean),
      maxQueuedRunsPerAccount: e.MAX_QUEUED_RUNS_PER_ACCOUNT,
      maxRequestBytes: e.MAX_REQUEST_BYTES,
    },
  };
}

/** STORAGE_URL with its S3 settings; throws a ConfigError for inconsistent ones. */
function storageConfig(e: Env, home: string): StorageConfig {
  const s3 = e.STORAGE_URL?.startsWith('s3:') ? parseS3Url(e.STORAGE_URL) : null;
  if (!s3 || typeof s3 === 'string') {
    // An endpoint without an s3:// URL would silently keep media on this host's disk.
    if (e.S3_ENDPOINT) {
      throw new ConfigError([
        { variable: 'S3_ENDPOINT', message: 'is set, but STORAGE_URL is not an s3:// URL' },
      ]);
    }
    return {
      kind: 'file',
      dir: e.STORAGE_URL ? fileURLToPath(e.STORAGE_URL) : path.join(home, 'media'),
    };
  }
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError([
      {
        variable: e.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID',
        message: 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together',
      },
    ]);
  }
  return {
    kind: 's3',
    bucket: s3.bucket,
    prefix: s3.prefix,
    endpoint: e.S3_ENDPOINT ?? null,
    region: e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials:
      e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: e.AWS_ACCESS_KEY_ID,
            secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
            ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}),
          }
        : null,
  };
}
