import type { RegistryClient } from './client.js';
import { RegistryProtocolError } from './errors.js';
import { headerValues, readText } from './http.js';

/** Page size asked for (ECR refuses n > 1000). */
const PAGE = 1000;
const MAX_PAGES = 10_000;

/**
 * Every tag of the repository, sorted. Follows `Link: <…>; rel="next"` pages (same origin
 * only); registries that ignore paging (distribution 2.8) answer everything at once, in
 * directory order, hence the client-side sort. A repository that does not exist has no tags.
 */
export async function listTags(client: RegistryClient, scopes: string[], signal?: AbortSignal): Promise<string[]> {
  const what = `list tags of ${client.name}`;
  const seen = new Set<string>();
  const tags = new Set<string>();
  let url: URL | undefined = client.url(`tags/list?n=${PAGE}`);
  for (let page = 0; url && page < MAX_PAGES; page++) {
    if (seen.has(url.href)) break;
    seen.add(url.href);
    const res = await client.request({ method: 'GET', url, scopes, what, ok: [200, 404], signal });
    const text = await readText(res.body, 64 << 20);
    if (res.status === 404) return [];
    let j: { tags?: unknown };
    try {
      j = JSON.parse(text) as typeof j;
    } catch {
      throw new RegistryProtocolError(`${what}: the answer is not JSON`);
    }
    if (Array.isArray(j.tags)) for (const t of j.tags) if (typeof t === 'string') tags.add(t);
    url = nextLink(headerValues(res.headers, 'link'), url, what);
  }
  return [...tags].sort();
}

/** The rel="next" target of Link headers (RFC 8288), resolved and required to be same-origin. */
export function nextLink(values: string[], current: URL, what: string): URL | undefined {
  for (const v of values) {
    for (const part of v.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (!m || !/(^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) continue;
      const next = new URL(m[1]!, current);
      if (next.origin !== current.origin) throw new RegistryProtocolError(`${what}: refusing a next-page link to another origin (${next.origin})`);
      return next;
    }
  }
  return undefined;
}
