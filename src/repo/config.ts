import { readFileSync } from 'node:fs';
import { readYamlBounded } from '../util/yaml-bounded.js';
import { ConfigError } from '../errors/index.js';

import { LINK_TYPES, type LinkType } from '../formats/kinds.js';
import { isGitSegment } from '../formats/stored-path.js';
import { checkRoutes, parseRoutePattern } from './routes.js';
export { LINK_TYPES, type LinkType };

export interface RemoteConfig {
  name: string;
  url: string;
  insecure?: boolean;
  ca?: string;
  upload?: 'monolithic' | 'chunked' | 'auto';
  concurrency?: number;
  /** Repositories of the same registry to mount blobs from (cross-repository mount) before uploading them. */
  mountFrom?: string[];
  /**
   * Path patterns whose tracked artifacts go to this remote instead of the default one (remotes
   * by path: its own registry repository, so its permissions apply to that data alone). See
   * src/remote/routes.ts for the pattern rules.
   */
  paths?: string[];
}

/** Where a publish is announced (`notify:`): a URL that receives a JSON POST. */
export interface NotifyTarget {
  url: string;
  /** `json` (mk's own event) or `openlineage` (an OpenLineage 2-0-2 RunEvent). */
  format: 'json' | 'openlineage';
  /** The environment variable holding the secret (named MK_NOTIFY_*, never the secret itself: the config is committed). */
  secretEnv?: string;
  /** The header that carries the secret (default `Authorization`, as `Bearer <secret>`). */
  header?: string;
  /** Per attempt, in milliseconds (default 5 s). */
  timeoutMs: number;
  /** Attempts after the first one, for network errors, 408, 425, 429 and 5xx answers (default 2). */
  retries: number;
}

/** Team settings from `.mk/config.yaml` (committed), with local overrides from `.git/mk/config.yaml`. */
export interface MkConfig {
  /** Glob patterns that the pre-commit hook tracks automatically. */
  track: string[];
  /** Staged files at least this large are tracked automatically (bytes; 0 disables). */
  sizeThreshold: number;
  /** How `mk checkout` places files from the cache. */
  link: LinkType;
  /** Files at least this large inside a tracked directory get their own blob (a raw layer). */
  rawThreshold: number;
  /** Target size of the packs that group small files of a directory. */
  packTarget: number;
  remotes: RemoteConfig[];
  defaultRemote?: string;
  /** Post-checkout / post-merge hooks fetch missing data from the default remote. */
  autoFetch: boolean;
  /** OCI repository name for ModelKits on registries (default: derived from the project). */
  repository?: string;
  /** Value of org.opencontainers.image.source (default: the origin remote's URL). */
  source?: string;
  /** Publish a ModelKit for each pushed revision (default true). */
  publishModelKits: boolean;
  /** The manifest format of published ModelKits: KitOps (default) or CNCF ModelPack. */
  modelKitFormat: 'kitops' | 'modelpack';
  /** A cache folder shared by several clones (default: .git/mk/cache). */
  cacheDir?: string;
  /** Experiments: parameter files (YAML, JSON or TOML), metric files (JSON or YAML), plot series. */
  params: string[];
  metrics: string[];
  plots: PlotConfig[];
  /** The private key (PEM) that signs published ModelKits (`signing.key`; MK_SIGNING_KEY wins). */
  signingKey?: string;
  /** The public key (PEM) whose signatures pull, checkout, the hooks and unpack require (`verify_signatures.key`). */
  verifySignaturesKey?: string;
  /** Where each publish is announced (webhooks, OpenLineage endpoints). */
  notify: NotifyTarget[];
  /** Data a remote by path would not let this user read (withheld) is an error, not a warning (`access.strict`; MK_STRICT_ACCESS=1). */
  strictAccess: boolean;
}

/** A declared plot: a CSV, TSV or JSON series file, with the columns to draw. */
export interface PlotConfig {
  path: string;
  x?: string;
  y?: string;
  title?: string;
}

export const DEFAULT_CONFIG: MkConfig = {
  track: [],
  sizeThreshold: 10 * 1024 * 1024,
  link: 'copy',
  rawThreshold: 8 * 1024 * 1024,
  packTarget: 1024 * 1024,
  remotes: [],
  autoFetch: true,
  publishModelKits: true,
  modelKitFormat: 'kitops',
  params: [],
  metrics: [],
  plots: [],
  notify: [],
  strictAccess: false,
};

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

export function parseSize(v: unknown, file: string, key: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(file, `${key}: expected a size such as 10MiB, got ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * unit);
}

type Raw = Record<string, unknown>;

/** A config file is a few dozen lines; anything this large is not one. */
const MAX_CONFIG_BYTES = 1 << 20;

export function readYamlFile(file: string): Raw | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(file, `larger than ${MAX_CONFIG_BYTES >> 20} MiB: not an mk config`);
  const r = readYamlBounded(text);
  if (!r.ok) throw new ConfigError(file, `${r.line ? `line ${r.line}: ` : ''}${r.problem}`);
  const v = r.value;
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(file, 'expected a YAML mapping');
  return v as Raw;
}

const KNOWN = new Set([
  'version',
  'track',
  'size_threshold',
  'checkout',
  'storage',
  'remotes',
  'default_remote',
  'auto_fetch',
  'repository',
  'source',
  'modelkits',
  'cache',
  'signing',
  'verify_signatures',
  'notify',
  'access',
]);
for (const k of ['params', 'metrics', 'plots']) KNOWN.add(k); // experiments

/** A section of the config that must be a mapping with only the given keys. */
function section(raw: unknown, file: string, key: string, known: string[]): Raw {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, `${key}: expected a mapping (${known.join(', ')})`);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new ConfigError(file, `unknown setting '${key}.${k}' (known: ${known.join(', ')})`);
  return raw as Raw;
}

/** A path inside the work tree, relative, without `..`, not in `.git`. */
function repoPath(v: unknown, file: string, key: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(file, `${key}: expected a file path, got ${JSON.stringify(v)}`);
  const parts = v.replace(/^\.\//, '').split('/');
  if (v.startsWith('/') || v.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..' || isGitSegment(p)))
    throw new ConfigError(file, `${key}: '${v}' must be a relative path inside the repository (no '..', not in .git)`);
  return parts.join('/');
}

function pathList(v: unknown, file: string, key: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw new ConfigError(file, `${key}: expected a list of file paths`);
  return list.map((x, i) => repoPath(x, file, `${key}[${i}]`));
}

function plotList(v: unknown, file: string): PlotConfig[] {
  const list = typeof v === 'string' || (v !== null && typeof v === 'object' && !Array.isArray(v)) ? [v] : v;
  if (!Array.isArray(list)) throw new ConfigError(file, 'plots: expected a list of paths or {path, x, y, title}');
  return list.map((x, i) => {
    const key = `plots[${i}]`;
    if (typeof x === 'string') return { path: repoPath(x, file, key) };
    const e = section(x, file, key, ['path', 'x', 'y', 'title']);
    const p: PlotConfig = { path: repoPath(e.path, file, `${key}.path`) };
    for (const k of ['x', 'y', 'title'] as const) if (e[k] !== undefined) p[k] = text(e[k], file, `${key}.${k}`);
    return p;
  });
}

/**
 * The experiment keys of a config (`params`, `metrics`, `plots`), alone: a commit's ModelKit
 * reads them from that commit's own `.mk/config.yaml`.
 */
export function experimentKeys(raw: Raw, file: string): Partial<Pick<MkConfig, 'params' | 'metrics' | 'plots'>> {
  const c: Partial<Pick<MkConfig, 'params' | 'metrics' | 'plots'>> = {};
  if (raw.params !== undefined) c.params = pathList(raw.params, file, 'params');
  if (raw.metrics !== undefined) c.metrics = pathList(raw.metrics, file, 'metrics');
  if (raw.plots !== undefined) c.plots = plotList(raw.plots, file);
  return c;
}

function bool(v: unknown, file: string, key: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(file, `${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function text(v: unknown, file: string, key: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(file, `${key}: expected text, got ${JSON.stringify(v)}`);
  return v;
}

const NOTIFY_KEYS = ['url', 'format', 'secret_env', 'header', 'timeout', 'retries'];

/** `notify:` — one target (a URL or a mapping) or a list of them. */
function notifyList(v: unknown, file: string): NotifyTarget[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    const key = Array.isArray(v) ? `notify[${i}]` : 'notify';
    const e = typeof x === 'string' ? { url: x } : section(x, file, key, NOTIFY_KEYS);
    const url = text(e.url, file, `${key}.url`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(file, `${key}.url: '${url}' is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError(file, `${key}.url: expected an http(s) URL, got '${parsed.protocol}'`);
    if (parsed.username || parsed.password) throw new ConfigError(file, `${key}.url: no credentials in the URL (the config is committed); name an environment variable with secret_env`);
    const t: NotifyTarget = { url, format: 'json', timeoutMs: 5_000, retries: 2 };
    if (e.format !== undefined) {
      if (e.format !== 'json' && e.format !== 'openlineage') throw new ConfigError(file, `${key}.format: expected json or openlineage, got ${JSON.stringify(e.format)}`);
      t.format = e.format;
    }
    if (e.secret_env !== undefined) {
      const name = text(e.secret_env, file, `${key}.secret_env`);
      // Only variables meant for this: a committed config must not be able to send any other secret of the environment away.
      if (!/^MK_NOTIFY_[A-Z0-9_]+$/.test(name)) throw new ConfigError(file, `${key}.secret_env: '${name}' must be an environment variable named MK_NOTIFY_<NAME>`);
      t.secretEnv = name;
    }
    if (e.header !== undefined) {
      const h = text(e.header, file, `${key}.header`);
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h)) throw new ConfigError(file, `${key}.header: '${h}' is not an HTTP header name`);
      t.header = h;
    }
    if (e.timeout !== undefined) {
      if (typeof e.timeout !== 'number' || !(e.timeout > 0) || e.timeout > 600)
        throw new ConfigError(file, `${key}.timeout: expected seconds, more than 0 and at most 600, got ${JSON.stringify(e.timeout)}`);
      t.timeoutMs = Math.round(e.timeout * 1000);
    }
    if (e.retries !== undefined) {
      if (!Number.isInteger(e.retries) || (e.retries as number) < 0 || (e.retries as number) > 10)
        throw new ConfigError(file, `${key}.retries: expected a whole number from 0 to 10, got ${JSON.stringify(e.retries)}`);
      t.retries = e.retries as number;
    }
    return t;
  });
}

/** Applies one config file (team or local) over `base`. */
export function applyConfig(base: MkConfig, raw: Raw, file: string): MkConfig {
  const c: MkConfig = { ...base, remotes: [...base.remotes] };
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) throw new ConfigError(file, `unknown setting '${k}' (known: ${[...KNOWN].join(', ')})`);
  if (raw.version !== undefined && raw.version !== 1) throw new ConfigError(file, `unsupported config version ${JSON.stringify(raw.version)}`);
  if (raw.track !== undefined) {
    if (!Array.isArray(raw.track) || raw.track.some((t) => typeof t !== 'string')) throw new ConfigError(file, 'track: expected a list of glob patterns');
    c.track = raw.track as string[];
  }
  if (raw.size_threshold !== undefined) c.sizeThreshold = parseSize(raw.size_threshold, file, 'size_threshold');
  if (raw.checkout !== undefined) {
    const co = section(raw.checkout, file, 'checkout', ['link']);
    if (co.link !== undefined) {
      if (!LINK_TYPES.includes(co.link as LinkType)) throw new ConfigError(file, `checkout.link: expected one of ${LINK_TYPES.join(', ')}, got ${JSON.stringify(co.link)}`);
      c.link = co.link as LinkType;
    }
  }
  if (raw.storage !== undefined) {
    const st = section(raw.storage, file, 'storage', ['raw_threshold', 'pack_target']);
    if (st.raw_threshold !== undefined) c.rawThreshold = parseSize(st.raw_threshold, file, 'storage.raw_threshold');
    if (st.pack_target !== undefined) c.packTarget = Math.max(64 * 1024, parseSize(st.pack_target, file, 'storage.pack_target'));
  }
  if (raw.remotes !== undefined) {
    if (typeof raw.remotes !== 'object' || raw.remotes === null || Array.isArray(raw.remotes)) throw new ConfigError(file, 'remotes: expected a mapping of name to settings');
    for (const [name, v] of Object.entries(raw.remotes as Raw)) {
      const key = `remotes.${name}`;
      const r = typeof v === 'string' ? { url: v } : section(v, file, key, ['url', 'insecure', 'ca', 'upload', 'concurrency', 'mount_from', 'paths']);
      if (typeof r.url !== 'string') throw new ConfigError(file, `${key}.url: expected a URL or path`);
      const rc: RemoteConfig = { name, url: r.url };
      if (r.insecure !== undefined) rc.insecure = bool(r.insecure, file, `${key}.insecure`);
      if (r.ca !== undefined) rc.ca = text(r.ca, file, `${key}.ca`);
      if (r.upload !== undefined) {
        if (r.upload !== 'monolithic' && r.upload !== 'chunked' && r.upload !== 'auto')
          throw new ConfigError(file, `${key}.upload: expected monolithic, chunked or auto, got ${JSON.stringify(r.upload)}`);
        rc.upload = r.upload;
      }
      if (r.concurrency !== undefined) {
        if (!Number.isInteger(r.concurrency) || (r.concurrency as number) < 1 || (r.concurrency as number) > 256)
          throw new ConfigError(file, `${key}.concurrency: expected a whole number from 1 to 256, got ${JSON.stringify(r.concurrency)}`);
        rc.concurrency = r.concurrency as number;
      }
      if (r.mount_from !== undefined) {
        const list = typeof r.mount_from === 'string' ? [r.mount_from] : r.mount_from;
        if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(x)))
          throw new ConfigError(file, `${key}.mount_from: expected repository names of the same registry (e.g. [team/base-models]), got ${JSON.stringify(r.mount_from)}`);
        rc.mountFrom = list as string[];
      }
      if (r.paths !== undefined) {
        const list = typeof r.paths === 'string' ? [r.paths] : r.paths;
        if (!Array.isArray(list) || list.length === 0) throw new ConfigError(file, `${key}.paths: expected a list of path patterns (e.g. [data/clinical/**])`);
        rc.paths = [...new Set(list.map((x, i) => parseRoutePattern(x, file, `${key}.paths[${i}]`)))];
      } else {
        // A local redefinition (another URL, a mirror) keeps the team's routes: data routed away
        // from the shared repository must not go back to it because a URL was overridden.
        const before = c.remotes.find((x) => x.name === name)?.paths;
        if (before) rc.paths = before;
      }
      c.remotes = c.remotes.filter((x) => x.name !== name);
      c.remotes.push(rc);
    }
  }
  if (raw.default_remote !== undefined) c.defaultRemote = text(raw.default_remote, file, 'default_remote');
  if (raw.auto_fetch !== undefined) c.autoFetch = bool(raw.auto_fetch, file, 'auto_fetch');
  if (raw.repository !== undefined) c.repository = text(raw.repository, file, 'repository');
  if (raw.source !== undefined) c.source = text(raw.source, file, 'source');
  if (raw.cache !== undefined) {
    const cc = raw.cache === null || typeof raw.cache !== 'object' ? ({ dir: undefined } as Raw) : section(raw.cache, file, 'cache', ['dir']);
    if (typeof cc.dir !== 'string') throw new ConfigError(file, 'cache.dir: expected a folder path');
    c.cacheDir = cc.dir;
  }
  Object.assign(c, experimentKeys(raw, file));
  if (raw.signing !== undefined) c.signingKey = text(section(raw.signing, file, 'signing', ['key']).key, file, 'signing.key');
  if (raw.notify !== undefined) c.notify = raw.notify === null ? [] : notifyList(raw.notify, file);
  if (raw.verify_signatures !== undefined) c.verifySignaturesKey = text(section(raw.verify_signatures, file, 'verify_signatures', ['key']).key, file, 'verify_signatures.key');
  if (raw.access !== undefined) {
    const a = section(raw.access, file, 'access', ['strict']);
    if (a.strict !== undefined) c.strictAccess = bool(a.strict, file, 'access.strict');
  }
  if (raw.modelkits !== undefined) {
    const mk = section(raw.modelkits, file, 'modelkits', ['publish', 'format']);
    if (mk.publish !== undefined) c.publishModelKits = bool(mk.publish, file, 'modelkits.publish');
    if (mk.format !== undefined) {
      if (mk.format !== 'kitops' && mk.format !== 'modelpack') throw new ConfigError(file, `modelkits.format: expected kitops or modelpack, not ${JSON.stringify(mk.format)}`);
      c.modelKitFormat = mk.format;
    }
  }
  checkRoutes(c, file);
  return c;
}
