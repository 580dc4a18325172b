import { UsageError } from '../../errors/index.js';
import { RegistryError } from './errors.js';

/** How long a command waits for a registry host that sends nothing, unless MK_REGISTRY_TIMEOUT says otherwise. */
export const DEFAULT_SILENCE_MS = 60_000;

/** MK_REGISTRY_TIMEOUT (seconds, fractions allowed) as milliseconds; the default when unset. */
export function silenceLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.MK_REGISTRY_TIMEOUT?.trim();
  if (!v) return DEFAULT_SILENCE_MS;
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new UsageError(`MK_REGISTRY_TIMEOUT must be a number of seconds above 0, not '${v.slice(0, 40)}'`, 'unset it for the default (60 seconds)');
  return Math.round(s * 1000);
}

/** A registry host that sent nothing for the whole allowance. Not retriable: the allowance spans every try. */
export class RegistryTimeoutError extends RegistryError {
  constructor(host: string, limitMs: number, what: string) {
    const s = limitMs % 1000 === 0 ? `${limitMs / 1000}` : (limitMs / 1000).toFixed(1);
    super(
      `${what}: no answer from ${host} for ${s}s, over every try (MK_REGISTRY_TIMEOUT)`,
      { retriable: false, hint: `check that ${host} is up and reachable from here (a ModelKit may name a host you do not use); MK_REGISTRY_TIMEOUT=<seconds> waits longer` },
      'ETIMEOUT',
    );
  }
}

/** One wait on a host: its signal aborts when the host has been silent too long. */
export interface Watch {
  readonly signal: AbortSignal;
  /** The host sent something (headers, a body chunk) or took some of a body: the silence ends (or, given a time, it asked to wait until then). */
  heard(until?: number): void;
  /** The wait is over (call once). */
  done(): void;
}

interface HostState {
  waiting: number;
  /** When the host last answered, or when a wait on it began after none. */
  since: number;
  controller: AbortController;
  timer?: NodeJS.Timeout;
  /** The operation of the wait that began the silence, for the message. */
  what: string;
  failedAt?: number;
}

/**
 * The deadline of a command against registry hosts that never answer: for each host, the time
 * it has been silent while mk waited on it, across every request, every retry and every store
 * of the command, may not pass `limitMs`. A host that accepts connections and never answers
 * thus costs the command one allowance, not 60 s per try times the tries times each reference
 * that names it; a slow download that keeps sending is never cut, and time mk spends on its
 * own side (writing what it received) does not count. Once a host has used its allowance,
 * every wait on it fails at once for as long again, so the next reference to the same host
 * does not start a new wait.
 */
export class AnswerDeadline {
  private readonly hosts = new Map<string, HostState>();

  constructor(readonly limitMs: number = silenceLimitFromEnv()) {}

  watch(host: string, what: string): Watch {
    const now = Date.now();
    let s = this.hosts.get(host);
    if (!s || (s.failedAt !== undefined && now - s.failedAt >= this.limitMs)) {
      s = { waiting: 0, since: now, controller: new AbortController(), what };
      this.hosts.set(host, s);
    }
    const st = s;
    if (st.waiting++ === 0 && st.failedAt === undefined) {
      st.since = now;
      st.what = what;
      if (!st.timer) this.arm(host, st);
    }
    let ended = false;
    return {
      signal: st.controller.signal,
      heard: (until?: number) => {
        st.since = Math.max(st.since, until ?? Date.now());
      },
      done: () => {
        if (ended) return;
        ended = true;
        st.waiting--;
      },
    };
  }

  /** One timer per host: when it fires it checks the silence, and sleeps again for what is left. */
  private arm(host: string, s: HostState): void {
    const check = (): void => {
      s.timer = undefined;
      if (s.waiting === 0) return;
      const left = s.since + this.limitMs - Date.now();
      if (left > 0) {
        s.timer = setTimeout(check, left);
        s.timer.unref();
        return;
      }
      s.failedAt = Date.now();
      s.controller.abort(new RegistryTimeoutError(host, this.limitMs, s.what));
    };
    s.timer = setTimeout(check, Math.max(0, s.since + this.limitMs - Date.now()));
    s.timer.unref();
  }
}

let shared: AnswerDeadline | undefined;

/** The process's deadline (one mk command is one process): every registry store shares it unless given its own. */
export function processDeadline(): AnswerDeadline {
  shared ??= new AnswerDeadline();
  return shared;
}
