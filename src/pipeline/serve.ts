/**
 * Serving one trace file to the Perfetto UI: exactly `http://127.0.0.1:<port>/<name>` (9001 is
 * the only plain-http origin the UI's content policy allows), with the CORS header the UI needs,
 * nothing else answered, loopback only. Resolves once the file has been sent completely.
 */
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { TraceforgeError } from '../errors.js';

export const PERFETTO_ORIGIN = 'https://ui.perfetto.dev';
export const DEFAULT_PORT = 9001;

export interface ServeHandle {
  url: string;
  perfettoUrl: string;
  /** Resolves when the file was sent completely once (the server is then closed). */
  served: Promise<void>;
  close(): Promise<void>;
}

export function perfettoLink(url: string): string {
  return `${PERFETTO_ORIGIN}/#!/?url=${url}`;
}

export async function serveTrace(file: string, opts: { port?: number; name?: string } = {}): Promise<ServeHandle> {
  const port = opts.port ?? DEFAULT_PORT;
  const name = encodeURIComponent(opts.name ?? basename(file));
  const size = statSync(file).size;
  let done: () => void = () => {};
  const served = new Promise<void>((res) => { done = res; });
  const cors = { 'Access-Control-Allow-Origin': PERFETTO_ORIGIN, 'Access-Control-Allow-Methods': 'GET, OPTIONS', 'Access-Control-Allow-Headers': '*' };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== `/${name}`) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method === 'OPTIONS') { res.writeHead(204, cors).end(); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, cors).end(); return; }
    res.writeHead(200, { ...cors, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size), 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') { res.end(); return; }
    const s = createReadStream(file);
    s.pipe(res);
    res.on('finish', () => done());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new TraceforgeError('E_USAGE', `port ${port} on 127.0.0.1 is already in use — it is also the port of Perfetto's trace_processor --httpd and of another 'traceforge open'; stop that one, or drag the file into ${PERFETTO_ORIGIN} by hand`));
      } else reject(new TraceforgeError('E_USAGE', `cannot listen on 127.0.0.1:${port}: ${e.message}`));
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const close = (): Promise<void> => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); });
  const url = `http://127.0.0.1:${port}/${name}`;
  return { url, perfettoUrl: perfettoLink(url), served: served.then(close), close };
}
