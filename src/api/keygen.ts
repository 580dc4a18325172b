import { closeSync, existsSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MkError } from '../errors/index.js';
import { generateSigningKeys, keyHint } from '../signing/keys.js';

export interface KeygenResult {
  /** The private key file (PEM, mode 0600). */
  key: string;
  /** The public key file (PEM). */
  pub: string;
  /** sha256 of the public key PEM: how bundles name the key. */
  hint: string;
  /** The Git work tree the private key was written into, if any (it must stay out of Git). */
  workTree?: string;
}

/** The Git work tree (a folder with `.git`) that holds `dir`, if any. */
function workTreeOf(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Writes a new ECDSA P-256 key pair: `<out>.key` (private, PKCS#8 PEM, readable by the owner
 * only) and `<out>.pub` (public, PEM). Refuses to replace either file. The private key is
 * never printed.
 */
export function keygen(opts: { out?: string; cwd?: string } = {}): KeygenResult {
  const prefix = resolve(opts.cwd ?? process.cwd(), opts.out ?? 'mk');
  const key = `${prefix}.key`;
  const pub = `${prefix}.pub`;
  const { privatePem, publicPem } = generateSigningKeys();
  // A folder for keys (e.g. ~/.config/mk) is made when missing, readable by its owner only.
  mkdirSync(dirname(prefix), { recursive: true, mode: 0o700 });
  const written: string[] = [];
  try {
    for (const [file, text, mode] of [
      [key, privatePem, 0o600],
      [pub, publicPem, 0o644],
    ] as const) {
      let fd: number;
      try {
        fd = openSync(file, 'wx', mode);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new MkError('EEXIST', `${file} already exists`, { hint: 'choose another --out prefix, or remove the old key pair first' });
        if (code === 'ENOENT') throw new MkError('ENOENT', `cannot write ${file}: no such directory`);
        throw e;
      }
      written.push(file);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    for (const f of written) unlinkSync(f); // nothing half-written
    throw e;
  }
  const workTree = workTreeOf(dirname(key));
  return { key, pub, hint: keyHint(publicPem), ...(workTree ? { workTree } : {}) };
}
