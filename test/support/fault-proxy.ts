/**
 * A loopback HTTP proxy in front of a registry whose misbehaviour a test scripts: answer
 * a status (500, 429 + Retry-After, ...) N times, drop the connection in the middle of a
 * request body (upload) or a response body (download), corrupt a response body, or
 * redirect a request to a second "storage" origin (127.0.0.2), which serves it without
 * needing the client's Authorization (like a pre-signed URL) and records what it got.
 * Also: end a response body early with a clean, complete-looking close ('truncate': the
 * length header is dropped and the chunked body simply ends), and flip a byte of a request
 * body on its way to the registry ('corrupt-request').
 * Requests are forwarded with their Host header, so the registry's Location URLs point
 * back at the proxy.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface FaultMatch {
  method?: string;
  /** Matched against the path and query. */
  path?: RegExp;
}

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'drop-request'; afterBytes: number }
  | { kind: 'drop-response'; afterBytes: number }
  | { kind: 'corrupt'; at?: number }
  /** Forwards the response without its content-length, cut after `afterBytes`, ending cleanly (chunked). */
  | { kind: 'truncate'; afterBytes: number }
  /** Flips the byte at `at` of the request body on its way upstream. */
  | { kind: 'corrupt-request'; at?: number }
  | { kind: 'redirect'; status?: number }
  /** Forwards the request without its Range header: the registry answers as one that ignores Range (200, the whole body). */
  | { kind: 'ignore-range' };

export interface FaultRule {
  match: FaultMatch;
  fault: Fault;
  /** How many more times it fires. */
  remaining: number;
  /** Matching requests still to let through before it starts firing. */
  skip: number;
  hits: number;
  /**
   * How many times the fault really changed the traffic: a status answered, a connection
   * dropped, a byte flipped, a body cut (a body shorter than the cut point or the flip offset
   * goes through unchanged and does not count).
   */
  applied: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  /** Which listener got it: the proxy, or the storage origin of a redirect. */
  origin: 'proxy' | 'storage';
  headers: IncomingMessage['headers'];
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** Forwarded without a fault (or with 'ignore-range'): the upstream status, and the response body bytes sent on. */
  status?: number;
  bytes?: number;
}

export interface FaultProxy {
  url: string;
  host: string;
  port: number;
  /** Origin used by 'redirect' faults. */
  storageOrigin: string;
  requests: RecordedRequest[];
  /** Most requests in flight at once on the proxy origin since the last clear(). */
  readonly maxInFlight: number;
  /** Adds a rule that fires `times` times (default 1), after letting `skip` matching requests through. */
  fault(match: FaultMatch, fault: Fault, times?: number, skip?: number): FaultRule;
  clear(): void;
  stop(): Promise<void>;
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
}

export async function startFaultProxy(upstream: string, opts: { storageHost?: string } = {}): Promise<FaultProxy> {
  const up = new URL(upstream);
  const rules: FaultRule[] = [];
  const requests: RecordedRequest[] = [];
  /** Redirect id → the original request's authorization (what a pre-signed URL stands for). */
  const presigned = new Map<string, string | undefined>();

  const take = (req: IncomingMessage): FaultRule | undefined => {
    for (const x of rules) {
      if (x.remaining <= 0 || (x.match.method && x.match.method !== req.method) || (x.match.path && !x.match.path.test(req.url ?? ''))) continue;
      if (x.skip > 0) {
        x.skip--;
        continue;
      }
      x.remaining--;
      x.hits++;
      return x;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, headers: IncomingMessage['headers'], onBody?: (res: IncomingMessage) => void, rec?: RecordedRequest): void => {
    const out = httpRequest({ host: up.hostname, port: up.port, method: req.method, path, headers }, (ures) => {
      if (onBody) return onBody(ures);
      if (rec) {
        rec.status = ures.statusCode;
        rec.bytes = 0;
        ures.on('data', (c: Buffer) => (rec.bytes! += c.length));
      }
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  let inFlight = 0;
  let maxInFlight = 0;
  const proxyHandler = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const rule = take(req);
    const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', origin: 'proxy', headers: req.headers, fault: rule?.fault.kind };
    requests.push(rec);
    const f = rule?.fault;
    if (!f) return forward(req, res, req.url ?? '/', req.headers, undefined, rec);
    switch (f.kind) {
      case 'ignore-range': {
        const headers = { ...req.headers };
        if (headers.range !== undefined) rule!.applied++;
        delete headers.range;
        return forward(req, res, req.url ?? '/', headers, undefined, rec);
      }
      case 'status': {
        rule!.applied++;
        req.resume();
        const body = f.body ?? JSON.stringify({ errors: [{ code: f.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: `injected ${f.status}` }] });
        res.writeHead(f.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(f.headers ?? {}) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case 'drop-request': {
        let n = 0;
        let dropped = false;
        const drop = () => {
          if (!dropped) rule!.applied++;
          dropped = true;
          req.socket.destroy();
        };
        req.on('data', (c: Buffer) => {
          n += c.length;
          if (n >= f.afterBytes) drop();
        });
        req.on('end', drop);
        return;
      }
      case 'drop-response':
        return forward(req, res, req.url ?? '/', req.headers, (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          let n = 0;
          let cut = false;
          ures.on('data', (c: Buffer) => {
            if (cut) return;
            const room = f.afterBytes - n;
            n += c.length;
            if (n < f.afterBytes) {
              res.write(c);
              return;
            }
            cut = true;
            rule!.applied++;
            ures.destroy();
            // Close only once the bytes before the cut have left, so the client gets exactly afterBytes.
            res.write(c.subarray(0, room), () => res.socket?.destroy());
          });
          ures.on('end', () => cut || res.end());
        });
      case 'corrupt':
        return forward(req, res, req.url ?? '/', req.headers, (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          let n = 0;
          const at = f.at ?? 0;
          ures.on('data', (c: Buffer) => {
            if (at >= n && at < n + c.length) {
              c = Buffer.from(c);
              c[at - n] = c[at - n]! ^ 0xff;
              rule!.applied++;
            }
            n += c.length;
            res.write(c);
          });
          ures.on('end', () => res.end());
        });
      case 'truncate':
        return forward(req, res, req.url ?? '/', req.headers, (ures) => {
          const headers = { ...ures.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          res.writeHead(ures.statusCode ?? 502, headers);
          let n = 0;
          let cut = false;
          ures.on('data', (c: Buffer) => {
            if (cut) return;
            const room = f.afterBytes - n;
            n += c.length;
            if (n < f.afterBytes) {
              res.write(c);
              return;
            }
            cut = true;
            rule!.applied++;
            ures.destroy();
            res.end(c.subarray(0, room));
          });
          ures.on('end', () => cut || res.end());
        });
      case 'corrupt-request': {
        const out = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url ?? '/', headers: req.headers }, (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          ures.pipe(res);
        });
        out.on('error', () => res.destroy());
        let n = 0;
        const at = f.at ?? 0;
        req.on('data', (c: Buffer) => {
          if (at >= n && at < n + c.length) {
            c = Buffer.from(c);
            c[at - n] = c[at - n]! ^ 0xff;
            rule!.applied++;
          }
          n += c.length;
          out.write(c);
        });
        req.on('end', () => out.end());
        return;
      }
      case 'redirect': {
        req.resume();
        const id = randomUUID();
        presigned.set(id, req.headers.authorization);
        res.writeHead(f.status ?? 307, { location: `${storageOrigin}/__storage/${id}${req.url ?? '/'}`, 'content-length': '0' });
        res.end();
        return;
      }
    }
  };

  const storageHandler = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', origin: 'storage', headers: req.headers });
    const m = /^\/__storage\/([^/]+)(\/.*)$/.exec(req.url ?? '');
    if (!m || !presigned.has(m[1]!)) {
      res.writeHead(403).end();
      return;
    }
    const headers = { ...req.headers, host: `${up.host}` };
    delete headers.authorization;
    const auth = presigned.get(m[1]!);
    if (auth) headers.authorization = auth;
    forward(req, res, m[2]!, headers);
  };

  const server = createServer(proxyHandler);
  const storage = createServer(storageHandler);
  const port = await listen(server, '127.0.0.1');
  const storageHost = opts.storageHost ?? '127.0.0.2';
  const storagePort = await listen(storage, storageHost);
  const storageOrigin = `http://${storageHost}:${storagePort}`;

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    storageOrigin,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    fault(match, fault, times = 1, skip = 0) {
      const r: FaultRule = { match, fault, remaining: times, skip, hits: 0, applied: 0 };
      rules.push(r);
      return r;
    },
    clear() {
      rules.length = 0;
      requests.length = 0;
      maxInFlight = inFlight;
    },
    async stop() {
      for (const s of [server, storage]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
