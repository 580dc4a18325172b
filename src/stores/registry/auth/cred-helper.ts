import { spawn } from 'node:child_process';
import type { Credential } from './credentials.js';
import { RegistryAuthError, oneLine, redact } from '../errors.js';

/**
 * The docker credential helper protocol (docker/docker-credential-helpers): run
 * `docker-credential-<suffix> get|store|erase`, the input on stdin, JSON on stdout.
 */
const NOT_FOUND = /credentials not found/i;
const SUFFIX = /^[A-Za-z0-9._-]+$/;

export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

interface HelperResult {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function run(suffix: string, action: string, input: string, opts: HelperOptions): Promise<HelperResult> {
  if (!SUFFIX.test(suffix)) return Promise.reject(new RegistryAuthError(`invalid credential helper name '${suffix}'`));
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${suffix}`, [action], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') resolve({ code: null, stdout: '', stderr: '', missing: true });
      else reject(new RegistryAuthError(`credential helper docker-credential-${suffix} could not start (${e.code ?? e.message})`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, missing: false });
    });
    child.stdin.end(input);
  });
}

function failure(suffix: string, action: string, r: HelperResult, secrets: Array<string | undefined>): RegistryAuthError {
  const said = oneLine(redact(r.stderr || r.stdout, secrets));
  return new RegistryAuthError(`credential helper docker-credential-${suffix} ${action} failed${r.code === null ? '' : ` (exit ${r.code})`}${said ? `: ${said}` : ''}`, {
    hint: `check that docker-credential-${suffix} works, or remove it from the docker config`,
  });
}

/** Gets the credential stored for `serverUrl`; undefined when the helper has none or is not installed. */
export async function helperGet(suffix: string, serverUrl: string, opts: HelperOptions = {}): Promise<Credential | undefined> {
  const r = await run(suffix, 'get', serverUrl, opts);
  if (r.missing) return undefined;
  if (r.code !== 0) {
    if (NOT_FOUND.test(r.stdout + r.stderr)) return undefined;
    throw failure(suffix, 'get', r, []);
  }
  let j: { Username?: unknown; Secret?: unknown };
  try {
    j = JSON.parse(r.stdout) as typeof j;
  } catch {
    throw new RegistryAuthError(`credential helper docker-credential-${suffix} get printed no JSON`);
  }
  const user = typeof j.Username === 'string' ? j.Username : '';
  const secret = typeof j.Secret === 'string' ? j.Secret : '';
  if (!secret) return undefined;
  if (user === '<token>') return { identityToken: secret };
  return { username: user, password: secret };
}

export async function helperStore(suffix: string, serverUrl: string, username: string, secret: string, opts: HelperOptions = {}): Promise<void> {
  const r = await run(suffix, 'store', JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }), opts);
  if (r.missing) {
    throw new RegistryAuthError(`credential helper docker-credential-${suffix} is not installed`, {
      hint: `install it, or remove credsStore/credHelpers from the docker config`,
    });
  }
  if (r.code !== 0) throw failure(suffix, 'store', r, [secret, username]);
}

export async function helperErase(suffix: string, serverUrl: string, opts: HelperOptions = {}): Promise<void> {
  const r = await run(suffix, 'erase', serverUrl, opts);
  if (r.missing) return;
  if (r.code !== 0 && !NOT_FOUND.test(r.stdout + r.stderr)) throw failure(suffix, 'erase', r, []);
}
