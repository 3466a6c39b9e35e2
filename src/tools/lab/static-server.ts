/**
 * A minimal static HTTP server, the reference HTTP side for dnsmasq in
 * bench/boot.mjs (dnsmasq has no HTTP). Run as
 * `node dist/tools/lab/static-server.js <root> <address> <port>` inside a lab
 * namespace. GET and HEAD, Content-Length always set (iPXE shows progress and
 * OVMF's HTTP boot wants it), no directory listings, nothing outside <root>.
 */
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export function startStaticServer(root: string, address: string, port: number): ReturnType<typeof createServer> {
  const realRoot = realpathSync(root);
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    let file: string;
    try {
      file = realpathSync(join(realRoot, pathname));
      if (!file.startsWith(realRoot + sep) || !statSync(file).isFile()) throw new Error('not a file');
    } catch {
      response.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    response.writeHead(200, { 'content-length': String(statSync(file).size), 'content-type': 'application/octet-stream' });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  server.listen(port, address);
  return server;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const [root, address, port] = process.argv.slice(2);
  if (!root || !address || !port) {
    process.stderr.write('usage: static-server.js <root> <address> <port>\n');
    process.exit(2);
  }
  const server = startStaticServer(root, address, Number(port));
  server.on('listening', () => process.stdout.write('listening\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
