import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { MkError } from '../errors/index.js';
import type { PublicKey, SigningKey } from './keys.js';

/** The payload type of an in-toto statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The Sigstore bundle version cosign v3 and model_signing write. */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface InTotoStatement {
  _type: 'https://in-toto.io/Statement/v1';
  subject: Array<{ name?: string; digest: Record<string, string>; annotations?: Record<string, unknown> }>;
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** A CommonJS package imported from ESM (bundled or not): its exports, wherever the loader put them. */
async function cjs<T>(load: Promise<T>): Promise<T> {
  const m = (await load) as T & { default?: T };
  return m.default && typeof m.default === 'object' ? { ...m.default, ...m } : m;
}

/** The hash ECDSA uses with a key of this curve (as Sigstore and model_signing pair them). */
function hashOf(curve: string | undefined): string {
  return curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
}

/**
 * Signs an in-toto statement with a local key: a DSSE envelope in a Sigstore bundle (v0.3,
 * public-key hint, no certificate, no transparency log entry), built by @sigstore/sign's
 * DSSEBundleBuilder with a signer for the key. Returns the bundle's JSON bytes.
 */
export async function signStatement(statement: InTotoStatement, key: SigningKey): Promise<Buffer> {
  const [{ DSSEBundleBuilder }, { bundleToJSON }] = await Promise.all([cjs(import('@sigstore/sign')), cjs(import('@sigstore/bundle'))]);
  const hash = hashOf(key.privateKey.asymmetricKeyDetails?.namedCurve);
  const signer = {
    sign: async (data: Buffer) => ({ signature: cryptoSign(hash, data, key.privateKey), key: { $case: 'publicKey' as const, publicKey: key.publicPem, hint: key.hint } }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  // The key is named once, by the hint in the verification material. An envelope signature's
  // keyid stays empty, as cosign and model_signing write it: a verifier whose own key id
  // differs (cosign's) would otherwise skip the signature.
  if (bundle.content.$case === 'dsseEnvelope') for (const s of bundle.content.dsseEnvelope.signatures) s.keyid = '';
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)), 'utf8');
}

export type OpenedBundle =
  | { ok: true; statement: InTotoStatement; hint?: string }
  /** `otherKey`: the bundle names another key (its hint), or none it can be told by, so it is not this key's to judge. */
  | { ok: false; problem: string; otherKey?: boolean; hint?: string };

/**
 * Checks a Sigstore bundle (JSON bytes, from outside: hostile) holding a DSSE envelope
 * against a public key, and returns its in-toto statement. The DSSE pre-authentication
 * encoding comes from @sigstore/core; the signature is checked with node:crypto.
 */
export async function openBundle(bytes: Buffer, pub: PublicKey): Promise<OpenedBundle> {
  const [{ bundleFromJSON }, { dsse }] = await Promise.all([cjs(import('@sigstore/bundle')), cjs(import('@sigstore/core'))]);
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  } catch (e) {
    // Nobody's signature: anyone may attach referrers, so it refuses nothing by itself.
    return { ok: false, problem: `not a Sigstore bundle (${(e as Error).message.split('\n')[0]})`, otherKey: true };
  }
  const content = bundle.content;
  if (content.$case !== 'dsseEnvelope') return { ok: false, problem: 'the bundle holds a message signature, not a DSSE envelope' };
  const vm = bundle.verificationMaterial.content;
  const hint = vm?.$case === 'publicKey' ? vm.publicKey.hint || undefined : undefined;
  if (hint !== undefined && hint !== pub.hint) return { ok: false, problem: 'signed with another key', otherKey: true, hint };
  const env = content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { ok: false, problem: `the envelope's payload type is ${JSON.stringify(env.payloadType)}, not an in-toto statement`, hint };
  const pae = dsse.preAuthEncoding(env.payloadType, env.payload);
  const hash = hashOf(pub.key.asymmetricKeyDetails?.namedCurve);
  const good = env.signatures.some((s) => {
    try {
      return cryptoVerify(hash, pae, pub.key, s.sig);
    } catch {
      return false;
    }
  });
  if (!good)
    return hint === undefined ? { ok: false, problem: 'not signed by this key', otherKey: true } : { ok: false, problem: 'the signature does not match (the bundle was changed after signing)', hint };
  let statement: InTotoStatement;
  try {
    statement = JSON.parse(env.payload.toString('utf8')) as InTotoStatement;
  } catch {
    return { ok: false, problem: 'the signed payload is not JSON', hint };
  }
  if (!statement || statement._type !== 'https://in-toto.io/Statement/v1' || !Array.isArray(statement.subject) || typeof statement.predicateType !== 'string')
    return { ok: false, problem: 'the signed payload is not an in-toto v1 statement', hint };
  return { ok: true, statement, hint };
}

/** The statement of a bundle, without checking its signature (to write a file, or to say what it claims). */
export function statementOf(bytes: Buffer): InTotoStatement | undefined {
  try {
    const b = JSON.parse(bytes.toString('utf8')) as { dsseEnvelope?: { payload?: string } };
    return JSON.parse(Buffer.from(b.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as InTotoStatement;
  } catch {
    return undefined;
  }
}

export function signingError(message: string, hint?: string): MkError {
  return new MkError('ESIGNATURE', message, { hint });
}
