import { UsageError } from '../api/common.js';

/**
 * Asks for a secret on the terminal without echoing it (as `docker login` and `ssh` do). Only
 * with a terminal on both ends: scripts use --password-stdin. Ctrl-C gives up, Backspace deletes.
 */
export function promptSecret(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY || !process.stderr.isTTY) return Promise.reject(new UsageError('no password given, and no terminal to ask on', 'use --password-stdin (or -p)'));
  // Echo goes off before the question is shown, so nothing typed ahead of it is echoed.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let secret = '';
    const done = () => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') {
          done();
          return resolve(secret);
        }
        if (c === '\u0003' || c === '\u0004') {
          done();
          return reject(new UsageError('login cancelled'));
        }
        if (c === '\u007f' || c === '\b') secret = secret.slice(0, -1);
        else secret += c;
      }
    };
    input.on('data', onData);
  });
}
