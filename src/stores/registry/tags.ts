import type { RegistryClient } from './client.js';
import { RegistryProtocolError } from './errors.js';
import { headerValues, jsonObject, parseLocation } from './http.js';

/** Page size asked for (ECR refuses n > 1000). */
const PAGE = 1000;
const MAX_PAGES = 10_000;
const MAX_PAGE_BYTES = 64 << 20;
const HINT = 'the registry, or a proxy in front of it, answered the tag list with something else; check the registry';

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
    const here: URL = url;
    const tooLarge = () => new RegistryProtocolError(`${what}: a page of the answer is larger than ${MAX_PAGE_BYTES} bytes`, { hint: HINT });
    const got = await client.requestBody({ method: 'GET', url: here, scopes, what, ok: [200, 404], signal }, MAX_PAGE_BYTES, tooLarge, (res, body) => {
      if (res.status === 404) return undefined;
      // A page that is not JSON may have been cut short: asked for again.
      const j = jsonObject(body, what, { retriable: true, hint: HINT });
      if (j.tags !== undefined && j.tags !== null && !Array.isArray(j.tags)) throw new RegistryProtocolError(`${what}: 'tags' in the answer is not a list`, { hint: HINT });
      return { tags: (j.tags ?? []) as unknown[], next: nextLink(headerValues(res.headers, 'link'), here, what) };
    });
    if (!got) return [];
    for (const t of got.tags) if (typeof t === 'string') tags.add(t);
    url = got.next;
  }
  return [...tags].sort();
}

/** The rel="next" target of Link headers (RFC 8288), resolved and required to be same-origin. */
export function nextLink(values: string[], current: URL, what: string): URL | undefined {
  for (const v of values) {
    for (const part of v.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (!m || !/(^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) continue;
      const next = parseLocation(m[1]!, current, what, 'next-page Link');
      if (next.origin !== current.origin) throw new RegistryProtocolError(`${what}: refusing a next-page link to another origin (${next.origin})`);
      return next;
    }
  }
  return undefined;
}
