import type { Document, LineCounter } from 'yaml';
import { yamlLib } from './yaml-lazy.js';

/** Bounds for a YAML document from outside (a pointer, a config, a Kitfile, a params file). */
export interface YamlBounds {
  /** Alias expansions allowed when the document is turned into values (yaml's maxAliasCount; 0 = none). Default 100. */
  maxAliases?: number;
  /** Values (map entries and list items, at any depth) allowed. Default 100,000. */
  maxValues?: number;
  /** Keep dates as Date objects (otherwise values are as JSON gives them). */
  dates?: boolean;
}

/** The values, or the one-line problem (with its line when known). `lines` maps offsets to lines. */
export type YamlRead = { ok: true; value: unknown; doc: Document; lines: LineCounter } | { ok: false; problem: string; line?: number; bound?: boolean };

/**
 * Parses YAML from outside within bounds, in time linear in its size: a document whose aliases
 * multiply it (a "billion laughs"), one with more values than allowed, or one with a repeated
 * key is refused with a one-line problem (and its line, when known) instead of an exception
 * from the parser. Repeated keys are found with one set per mapping (the parser's own
 * uniqueKeys check compares each key with every other: quadratic).
 */
export function readYamlBounded(text: string, bounds: YamlBounds = {}): YamlRead {
  const maxValues = bounds.maxValues ?? 100_000;
  // The parser costs about 30 µs a value: a document far over the bound is refused before it.
  if (roughValueCount(text, 4 * maxValues) > 4 * maxValues) return { ok: false, problem: `more than ${maxValues} values`, bound: true };
  const { parseDocument, isAlias, isMap, isScalar, isSeq, isPair, LineCounter } = yamlLib();
  const lc = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lc });
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lc.linePos(offset).line);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    return { ok: false, problem: e.message.split('\n')[0]!.replace(/ at line \d+.*$/, ''), line: e.linePos?.[0]?.line ?? lineAt(e.pos?.[0]) };
  }
  const maxAliases = bounds.maxAliases ?? 100;
  let values = 0;
  let aliases = 0;
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (isAlias(n)) {
      if (++aliases > maxAliases)
        return { ok: false, problem: maxAliases === 0 ? 'YAML aliases are not allowed here' : `more than ${maxAliases} YAML aliases`, line: lineAt(n.range?.[0]), bound: true };
      continue;
    }
    if (isMap(n)) {
      const seen = new Set<string>();
      for (const it of n.items) {
        if (++values > maxValues) return { ok: false, problem: `more than ${maxValues} values`, bound: true };
        const k = isScalar(it.key) ? String(it.key.value) : isPair(it) && it.key !== null ? JSON.stringify(it.key) : '';
        if (seen.has(k)) return { ok: false, problem: `map keys must be unique: '${k.slice(0, 80)}' appears twice`, line: lineAt((it.key as { range?: number[] } | null)?.range?.[0]) };
        seen.add(k);
        stack.push(it.value);
        if (!isScalar(it.key)) stack.push(it.key);
      }
    } else if (isSeq(n)) {
      for (const it of n.items) {
        if (++values > maxValues) return { ok: false, problem: `more than ${maxValues} values`, bound: true };
        stack.push(it);
      }
    }
  }
  try {
    const value = doc.toJS(bounds.dates ? { maxAliasCount: maxAliases } : { json: true, jsonArg: '', mapAsMap: false, maxAliasCount: maxAliases });
    return { ok: true, value, doc, lines: lc };
  } catch (e) {
    // yaml counts each alias by the size of what it repeats: the sign of a document built to multiply itself.
    if (e instanceof ReferenceError) return { ok: false, problem: 'YAML aliases that expand too far (a document built to multiply itself)', bound: true };
    return { ok: false, problem: (e as Error).message.split('\n')[0]! };
  }
}

/**
 * An overestimate of the values in a YAML (or JSON, or TOML) text, counted up to `stop`: every
 * `key: `, list dash and flow comma is one (so is a colon or comma inside a text value: a document
 * is refused on this count only when it is several times over its bound).
 */
export function roughValueCount(text: string, stop: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n <= stop; i++) {
    const c = text.charCodeAt(i);
    if (c === 44 /* , */ || c === 61 /* = (TOML) */) n++;
    else if (c === 58 /* : */) {
      const next = text.charCodeAt(i + 1);
      if (next === 32 || next === 10 || next === 13 || Number.isNaN(next)) n++;
    } else if (c === 45 /* - */ && text.charCodeAt(i + 1) === 32) n++;
  }
  return n;
}
