/**
 * WWW-Authenticate parsing (RFC 7235 §4.1, RFC 6750 §3): one header may hold several
 * challenges, each a scheme followed by comma-separated `name=value` parameters whose
 * values are tokens or quoted strings with backslash escapes.
 */
export interface Challenge {
  /** Lowercased scheme: 'bearer', 'basic', ... */
  scheme: string;
  /** Parameters by lowercased name. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    let s = '';
    i++; // opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      s += header[i];
      i++;
    }
    i++; // closing quote
    return s;
  };

  while (i < n) {
    while (i < n && (header[i] === ',' || header[i] === ' ' || header[i] === '\t')) i++;
    const scheme = readToken();
    if (!scheme) {
      i++; // skip a stray character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skipWs();
      const save = i;
      const name = readToken();
      skipWs();
      if (!name || header[i] !== '=') {
        // Not a parameter: either token68 (ignored) or the next challenge's scheme.
        if (name && /^=*\s*(,|$)/.test(header.slice(i))) {
          while (i < n && header[i] !== ',') i++;
          continue;
        }
        i = save;
        break;
      }
      i++; // '='
      skipWs();
      const value = header[i] === '"' ? readQuoted() : readToken();
      challenge.params[name.toLowerCase()] = value;
      skipWs();
      if (header[i] === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  return out;
}
