/**
 * Makes text from outside (file names, tags, registry messages) safe to print: control
 * characters, including ESC and the 8-bit C1 controls a terminal may obey, become visible
 * escapes (`\x1b`). `keepLines` keeps line breaks and tabs (multi-line output); without it
 * the text is one line (errors and hints are always one line).
 */
export function printable(s: string, keepLines = false): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (keepLines && (c === '\n' || c === '\t')) return c;
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const n = c.charCodeAt(0);
    return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`;
  });
}

/** JSON with the C1 controls and line separators escaped too (JSON.stringify leaves them raw). */
export function safeJson(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The only place that writes to stdout/stderr for commands. */
export const out = {
  line(s = ''): void {
    write(process.stdout, printable(s, true) + '\n');
  },
  /**
   * Every `--json` output is one top-level object (a list goes under a key such as
   * `artifacts`), so a script can always read `.key` and new fields never break it.
   */
  json<T extends object>(v: T extends readonly unknown[] ? never : T): void {
    write(process.stdout, safeJson(v) + '\n');
  },
  err(s: string): void {
    write(process.stderr, printable(s, true) + '\n');
  },
};

const closed = new WeakSet<NodeJS.WriteStream>();

function write(stream: NodeJS.WriteStream, text: string): void {
  if (!closed.has(stream)) stream.write(text);
}

/**
 * A reader that goes away (`mk diff | head -1`) is not an error of the command: further
 * output is dropped and the command finishes its work with its own exit status, as git does
 * (without the stack trace an unhandled EPIPE would print).
 */
export function guardPipes(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      closed.add(s);
      if (e.code !== 'EPIPE' && s === process.stdout) process.exitCode = process.exitCode || 74;
    });
  }
}
