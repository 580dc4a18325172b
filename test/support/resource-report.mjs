// Preloaded into a process under test (NODE_OPTIONS=--import <this file>) with
// MK_TEST_RESOURCE_REPORT=<file>: when the process exits, it writes its own peak resident
// memory (process.resourceUsage().maxRSS, bytes) and the bytes it wrote (/proc/self/io wchar:
// every write call, to any file or pipe) to that file as JSON. Tests read their peak from the
// process itself, not by timing or sampling it from outside.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.MK_TEST_RESOURCE_REPORT;
if (out) {
  process.on('exit', () => {
    let written = -1;
    try {
      written = Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? -1);
    } catch {
      /* not Linux: the test says so */
    }
    writeFileSync(out, JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, writtenBytes: written }));
  });
}
