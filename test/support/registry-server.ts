/**
 * Starts a real CNCF distribution registry for tests: Debian's `docker-registry` (2.8.x) by
 * default, or distribution v3 (`distribution-registry`, built by install-peers.sh) with
 * `version: 'v3'`; a free 127.0.0.1 port, a temporary root directory, deletes enabled, and
 * optionally htpasswd (bcrypt) or token auth, or TLS. `stop()` kills it and removes the
 * directory. Both read the same config (format `version: 0.1`: v3 kept its keys).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peer } from './peers.js';

export const REGISTRY_BIN = process.env.MK_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

/** The registries the interoperability tests run against. */
export const REGISTRY_VERSIONS = [
  { version: 'v2', name: 'docker-registry 2.8' },
  { version: 'v3', name: 'distribution v3' },
] as const;
export type RegistryVersion = (typeof REGISTRY_VERSIONS)[number]['version'];

/** The registry binary of a version: a missing one fails the test that asks for it (peer says how to install it). */
function registryBin(version: RegistryVersion | undefined): string {
  return version === 'v3' ? peer('distribution-registry') : REGISTRY_BIN;
}

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

export interface StartRegistryOptions {
  /** htpasswd users (bcrypt via `htpasswd -Bbn`). */
  htpasswd?: Array<{ username: string; password: string }>;
  /** Token auth against a token issuer (see token-issuer.ts). */
  token?: TokenAuthConfig;
  /** Serve TLS with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** Location headers relative (`http.relativeurls`). */
  relativeUrls?: boolean;
  /** Which distribution: 'v2' (Debian's docker-registry 2.8, the default) or 'v3'. */
  version?: RegistryVersion;
}

export interface RunningRegistry {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  port: number;
  rootDir: string;
  /** What the registry printed (for debugging failures). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** The registry's config.yml for storage under `dir`, listening on 127.0.0.1:`port`. */
export function registryConfig(dir: string, port: number, o: StartRegistryOptions = {}): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${yamlString(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: mk-test-secret',
  ];
  if (o.relativeUrls) lines.push('  relativeurls: true');
  if (o.tls) lines.push('  tls:', `    certificate: ${yamlString(o.tls.certFile)}`, `    key: ${yamlString(o.tls.keyFile)}`);
  if (o.htpasswd) {
    const file = join(dir, 'htpasswd');
    const entries = o.htpasswd.map((u) => execFileSync('htpasswd', ['-Bbn', u.username, u.password], { encoding: 'utf8' }).trim());
    writeFileSync(file, entries.join('\n') + '\n', { mode: 0o600 });
    lines.push('auth:', '  htpasswd:', '    realm: mk-test', `    path: ${yamlString(file)}`);
  } else if (o.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${yamlString(o.token.realm)}`,
      `    service: ${yamlString(o.token.service)}`,
      `    issuer: ${yamlString(o.token.issuer)}`,
      `    rootcertbundle: ${yamlString(o.token.rootCertBundle)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Resolves with the status of GET /v2/, or undefined when nothing answers. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/v2/`, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

async function startOnce(o: StartRegistryOptions): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'mk-registry-'));
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, registryConfig(dir, port, o));
  // The registry writes to a file, not a pipe: a test blocked in a synchronous spawn (mkRun)
  // would stop draining a pipe, and the registry would hang once its buffer filled.
  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'a');
  const bin = registryBin(o.version);
  // v3 exports OpenTelemetry traces (OTLP to localhost) unless told not to.
  const child: ChildProcess = spawn(bin, ['serve', cfg], { stdio: ['ignore', logFd, logFd], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
  closeSync(logFd);
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let exited = false;
  child.on('exit', () => (exited = true));
  const scheme = o.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000; // a hang guard: a loaded machine starts it slowly
  for (;;) {
    if (exited) {
      const log = readLog();
      await stop();
      throw new Error(`${bin} exited before answering:\n${log}`);
    }
    const status = await probe(url);
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) {
      const log = readLog();
      await stop();
      throw new Error(`${bin} did not answer on ${url} within 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, host: `127.0.0.1:${port}`, port, rootDir: dir, log: readLog, stop };
}

/** Starts a registry; retries on another port if the first one was taken meanwhile. */
export async function startRegistry(o: StartRegistryOptions = {}): Promise<RunningRegistry> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await startOnce(o);
    } catch (e) {
      last = e;
      if (!/address already in use/i.test(String(e))) throw e;
    }
  }
  throw last;
}
