/**
 * The library is the product's API: every verb the CLI offers is exported from src/index.ts,
 * and the list of exports is pinned here, so a change to the public surface is a visible,
 * reviewed change (as isomorphic-git pins its own).
 */
import { describe, expect, it } from 'vitest';
import * as api from '../../../src/index.js';
import { buildProgram } from '../../../src/cli/main.js';

const SURFACE = [
  // verbs
  'add',
  'checkout',
  'checkoutSide',
  'clone',
  'diff',
  'fetchData',
  'filterProcess',
  'gc',
  'get',
  'init',
  'install',
  'keygen',
  'login',
  'logout',
  'ls',
  'mergePointers',
  'migrate',
  'modelkitBuild',
  'modelkitCopy',
  'modelkitInspect',
  'modelkitList',
  'modelkitUnpack',
  'move',
  'pull',
  'push',
  'remoteAdd',
  'remoteDefault',
  'remoteList',
  'remoteRemove',
  'remoteStatus',
  'remove',
  'resolveModelKit',
  'runHook',
  'setupWarning',
  'sign',
  'status',
  'uninstall',
  'verify',
  // experiments
  'expShow',
  'metricsDiff',
  'metricsShow',
  'paramsDiff',
  'plotsDiff',
  'promote',
  'report',
  'verifySignatures',
  // errors
  'ConfigError',
  'DigestMismatchError',
  'ERROR_CODES',
  'GitError',
  'GraphIncompleteError',
  'LockedError',
  'MkError',
  'NotARepositoryError',
  'NotFoundError',
  'PointerConflictError',
  'PointerError',
  'UnsafePathError',
  'UnsavedChangesError',
  'UsageError',
  'WrongSizeError',
  'fromSystemError',
  'isErrorCode',
  'isMkError',
  // content, stores, pointers
  'KINDS',
  'LINK_TYPES',
  'MediaType',
  'MemoryStore',
  'POINTER_SUFFIX',
  'bufferSource',
  'copyGraph',
  'digestHex',
  'hasBlobStat',
  'hasLocalStat',
  'hasSourcing',
  'isDigest',
  'kitLayerType',
  'KITFILE_ANNOTATION',
  'isModelKitConfigType',
  'modelPackLayerType',
  'parseModelKitLayerType',
  'openCacheStore',
  'openLayoutStore',
  'openRegistryStore',
  'parseKitLayerType',
  'parsePointer',
  'plain',
  'readAll',
  'serializePointer',
  'shortDigest',
].sort();

/** The verb behind each CLI command. */
const VERB_OF: Record<string, string> = {
  init: 'init',
  add: 'add',
  rm: 'remove',
  mv: 'move',
  status: 'status',
  checkout: 'checkout',
  diff: 'diff',
  ls: 'ls',
  gc: 'gc',
  'remote add': 'remoteAdd',
  'remote list': 'remoteList',
  'remote remove': 'remoteRemove',
  'remote default': 'remoteDefault',
  push: 'push',
  fetch: 'fetchData',
  pull: 'pull',
  get: 'get',
  'modelkit build': 'modelkitBuild',
  'modelkit inspect': 'modelkitInspect',
  'modelkit list': 'modelkitList',
  'modelkit unpack': 'modelkitUnpack',
  'modelkit copy': 'modelkitCopy',
  verify: 'verify',
  install: 'install',
  uninstall: 'uninstall',
  hook: 'runHook',
  'merge-driver': 'mergePointers',
  'filter-process': 'filterProcess',
  migrate: 'migrate',
  clone: 'clone',
  login: 'login',
  logout: 'logout',
  'params diff': 'paramsDiff',
  'metrics show': 'metricsShow',
  'metrics diff': 'metricsDiff',
  'exp show': 'expShow',
  promote: 'promote',
  'plots diff': 'plotsDiff',
  report: 'report',
  keygen: 'keygen',
  sign: 'sign',
};

describe('the public API', () => {
  it('exports exactly the pinned surface', () => {
    expect(Object.keys(api).sort()).toEqual(SURFACE);
  });

  it('exports the verb behind every command the CLI offers', () => {
    const commands: string[] = [];
    for (const c of buildProgram().commands) {
      if (c.name() === 'help') continue; // the manual pages: the CLI's own, no verb behind it
      if (c.commands.length) for (const s of c.commands) commands.push(`${c.name()} ${s.name()}`);
      else commands.push(c.name());
    }
    expect(commands.sort()).toEqual(Object.keys(VERB_OF).sort());
    for (const c of commands) expect(typeof (api as Record<string, unknown>)[VERB_OF[c]!], c).toBe('function');
  });
});
