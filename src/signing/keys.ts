import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { MkError } from '../errors/index.js';

/** A signing key, read from a PEM file: the private key never leaves this object (no output, log or error shows it). */
export interface SigningKey {
  /** The file it came from (shown in messages; the key itself never is). */
  path: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Its public key as PEM (SubjectPublicKeyInfo). */
  publicPem: string;
  /** sha256 (hex) of `publicPem`: the key hint written into bundles, as model_signing writes it. */
  hint: string;
  /** Set when others on this machine can read the file (as ssh refuses such a key, mk says so). */
  warning?: string;
}

export interface PublicKey {
  path: string;
  key: KeyObject;
  publicPem: string;
  hint: string;
}

/** A new ECDSA P-256 key pair, both PEM (private: PKCS#8, unencrypted; public: SubjectPublicKeyInfo). */
export function generateSigningKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

export function keyHint(publicPem: string): string {
  return createHash('sha256').update(publicPem, 'utf8').digest('hex');
}

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MkError('EKEY', `cannot read the ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable'}`, {
      hint: what === 'signing key' ? "create one with 'mk keygen', or point signing.key / MK_SIGNING_KEY at it" : 'give the public key (PEM) of the key that signed',
    });
  }
}

/** Only P-256/384/521 ECDSA keys: what Sigstore bundles and model_signing accept. */
function checkCurve(k: KeyObject, path: string, what: string): void {
  const curve = k.asymmetricKeyType === 'ec' ? k.asymmetricKeyDetails?.namedCurve : undefined;
  if (!curve || !['prime256v1', 'secp384r1', 'secp521r1'].includes(curve))
    throw new MkError('EKEY', `the ${what} ${path} is not an ECDSA P-256, P-384 or P-521 key`, { hint: "create a P-256 key pair with 'mk keygen'" });
}

/** Reads a private key (PEM). Errors name the file, never its content. */
export function readSigningKey(path: string): SigningKey {
  const bytes = readKeyFile(path, 'signing key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: bytes, format: 'pem' });
  } catch (e) {
    const encrypted = /passphrase|encrypted/i.test((e as Error).message);
    throw new MkError('EKEY', `${path} is not ${encrypted ? 'an unencrypted' : 'a'} PEM private key`, { hint: "create one with 'mk keygen'" });
  } finally {
    bytes.fill(0);
  }
  if (privateKey.type !== 'private') throw new MkError('EKEY', `${path} is not a private key`, { hint: "signing.key / MK_SIGNING_KEY names the .key file 'mk keygen' wrote, not the .pub" });
  checkCurve(privateKey, path, 'signing key');
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const warning = exposure(path);
  return { path, privateKey, publicKey, publicPem, hint: keyHint(publicPem), ...(warning ? { warning } : {}) };
}

/** What is wrong with a private key file others can open (ssh's rule: no bits for group or others). */
function exposure(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  const who = mode & 0o004 ? 'every user of this machine' : mode & 0o040 ? 'its group' : 'others';
  return `the signing key ${path} is open to ${who} (mode ${mode.toString(8).padStart(4, '0')}): whoever reads it can sign as you; keep it to yourself with 'chmod 600 ${path}'`;
}

/** Reads a public key (PEM; a private key file is refused: it is not something to pass around). */
export function readPublicKey(path: string): PublicKey {
  const bytes = readKeyFile(path, 'public key');
  const text = bytes.toString('utf8');
  if (/PRIVATE KEY/.test(text)) throw new MkError('EKEY', `${path} holds a private key; verify with the public key`, { hint: "the .pub file that 'mk keygen' wrote next to it" });
  let key: KeyObject;
  try {
    key = createPublicKey({ key: bytes, format: 'pem' });
  } catch {
    throw new MkError('EKEY', `${path} is not a PEM public key`);
  }
  checkCurve(key, path, 'public key');
  const publicPem = key.export({ type: 'spki', format: 'pem' }) as string;
  return { path, key, publicPem, hint: keyHint(publicPem) };
}
