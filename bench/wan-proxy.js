// Usage: node wan-proxy.js --upstream <host:port> --listen <name> [--listen <name> ...]
//          [--delay-ms 30] [--mbit 100] [--window-kib 4096] [--handshake-rtt 1]
//          [--max-seconds 1800] [--idle-seconds 300] [--parent-pid <pid>]
//
// A TCP proxy on 127.0.0.1 that makes loopback look like a wide-area link, for bench/Run-Bench.ps1:
// - every byte is delivered --delay-ms after it has been put on the link, in each direction;
// - all connections share one link of --mbit Mbit/s per direction: a byte waits until the bytes queued
//   before it (from any connection) have been sent, so eight parallel uploads share 100 Mbit/s as they
//   would on one line;
// - each connection buffers at most --window-kib KiB per direction (queued plus unsent), after which it
//   stops reading from its source, as a TCP window does;
// - each new connection waits --handshake-rtt round trips (2 x delay each) before its first byte is
//   forwarded: the TCP handshake a real connection pays;
// - each --listen name gets its own port, so that each client's requests are counted apart: the proxy
//   parses the HTTP/1.1 requests a client sends (headers, Content-Length and chunked bodies) and counts
//   them by method.
//
// Prints "wan-proxy listening <name> <port>" for each name, then "wan-proxy ready". On a line "counts" on
// stdin it prints "wan-proxy counts <json>" (cumulative per name: requests by method, connections, bytes
// each way). It exits by itself when stdin closes, when the parent process is gone, after --max-seconds,
// or after --idle-seconds without an open connection.
'use strict';

const net = require('net');
const readline = require('readline');

function parseArgs(argv) {
  const options = {
    upstream: null, listen: [], delayMs: 30, mbit: 100, windowKiB: 4096, handshakeRtt: 1,
    maxSeconds: 1800, idleSeconds: 300, parentPid: 0,
  };
  const numeric = {
    '--delay-ms': 'delayMs', '--mbit': 'mbit', '--window-kib': 'windowKiB', '--handshake-rtt': 'handshakeRtt',
    '--max-seconds': 'maxSeconds', '--idle-seconds': 'idleSeconds', '--parent-pid': 'parentPid',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    i++;
    if (arg === '--upstream') options.upstream = value;
    else if (arg === '--listen') options.listen.push(value);
    else if (numeric[arg]) {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${arg} must be a number >= 0, not '${value}'`);
      options[numeric[arg]] = n;
    } else throw new Error(`unknown argument ${arg}`);
  }
  const m = /^([^:]+):(\d+)$/.exec(options.upstream || '');
  if (!m) throw new Error('--upstream <host:port> is required');
  if (options.listen.length === 0) throw new Error('at least one --listen <name> is required');
  if (options.mbit <= 0) throw new Error('--mbit must be above 0');
  options.upstreamHost = m[1];
  options.upstreamPort = Number(m[2]);
  return options;
}

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`wan-proxy: ${err.message}`);
  process.exit(2);
}

const bytesPerMs = options.mbit * 1e6 / 8 / 1000;
const windowBytes = options.windowKiB * 1024;
const now = () => Number(process.hrtime.bigint()) / 1e6;

// One link per direction, shared by every connection: when it is free again.
const links = { up: { freeAt: 0 }, down: { freeAt: 0 } };

// Requests per listener name, parsed from what the clients send.
const counts = {};
let openConnections = 0;
let lastActivity = now();

function newCounts() {
  return { requests: 0, methods: {}, connections: 0, bytesUp: 0, bytesDown: 0 };
}

// Counts the HTTP/1.1 requests in one connection's client-to-server byte stream.
class RequestCounter {
  constructor(tally) {
    this.tally = tally;
    this.state = 'head';
    this.head = '';
    this.remaining = 0;
    this.chunkLine = '';
  }

  push(buffer) {
    let at = 0;
    while (at < buffer.length) {
      if (this.state === 'head') {
        // Headers are ASCII; latin1 keeps one character per byte so offsets stay byte offsets.
        const text = this.head + buffer.toString('latin1', at);
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          this.head = text.length > 65536 ? text.slice(-4) : text;
          return;
        }
        const consumed = end + 4 - this.head.length;
        this.onHead(text.slice(0, end));
        this.head = '';
        at += consumed;
      } else if (this.state === 'body') {
        const n = Math.min(this.remaining, buffer.length - at);
        this.remaining -= n;
        at += n;
        if (this.remaining === 0) this.state = 'head';
      } else if (this.state === 'chunk-size' || this.state === 'trailer') {
        const lf = buffer.indexOf(10, at);
        if (lf < 0) {
          this.chunkLine += buffer.toString('latin1', at);
          return;
        }
        const line = (this.chunkLine + buffer.toString('latin1', at, lf)).replace(/\r$/, '');
        this.chunkLine = '';
        at = lf + 1;
        if (this.state === 'trailer') {
          if (line === '') this.state = 'head';
        } else {
          const size = parseInt(line.split(';')[0], 16);
          if (!Number.isFinite(size)) { this.state = 'lost'; return; }
          if (size === 0) this.state = 'trailer';
          else { this.remaining = size + 2; this.state = 'chunk-data'; }
        }
      } else if (this.state === 'chunk-data') {
        const n = Math.min(this.remaining, buffer.length - at);
        this.remaining -= n;
        at += n;
        if (this.remaining === 0) this.state = 'chunk-size';
      } else {
        return; // 'lost': a stream this parser cannot follow; it counts nothing more on this connection.
      }
    }
  }

  onHead(head) {
    const lines = head.split('\r\n');
    const method = (lines[0].split(' ')[0] || '?').toUpperCase();
    this.tally.requests++;
    this.tally.methods[method] = (this.tally.methods[method] || 0) + 1;
    let length = 0;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value) || 0;
      else if (name === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
    }
    if (chunked) this.state = 'chunk-size';
    else if (length > 0) { this.remaining = length; this.state = 'body'; }
    else this.state = 'head';
  }
}

// One direction of one connection: bytes wait for the shared link, then for the delay, then are written.
class Pipe {
  constructor(source, target, link, startAt, onBytes) {
    this.source = source;
    this.target = target;
    this.link = link;
    this.startAt = startAt;
    this.onBytes = onBytes;
    this.queue = [];
    this.queued = 0;
    this.timer = null;
    this.ended = false;
    this.paused = false;
    this.onEmpty = null;
    source.on('data', chunk => this.onData(chunk));
    source.on('end', () => { this.ended = true; this.flush(); });
    target.on('drain', () => this.resumeIfRoom());
  }

  onData(chunk) {
    lastActivity = now();
    this.onBytes(chunk);
    const start = Math.max(now(), this.link.freeAt, this.startAt);
    const sentAt = start + chunk.length / bytesPerMs;
    this.link.freeAt = sentAt;
    this.queue.push({ chunk, at: sentAt + options.delayMs });
    this.queued += chunk.length;
    if (this.queued + this.target.writableLength > windowBytes && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
    this.schedule();
  }

  schedule() {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].at - now());
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, wait);
  }

  flush() {
    const t = now();
    while (this.queue.length > 0 && this.queue[0].at <= t + 0.5) {
      const { chunk } = this.queue.shift();
      this.queued -= chunk.length;
      if (!this.target.destroyed) this.target.write(chunk);
    }
    this.resumeIfRoom();
    if (this.queue.length > 0) {
      this.schedule();
      return;
    }
    if (this.ended && !this.target.destroyed) this.target.end();
    if (this.onEmpty) this.onEmpty();
  }

  // Calls back once everything queued has been written (at once when nothing is).
  whenEmpty(callback) {
    if (this.queue.length === 0) callback();
    else this.onEmpty = callback;
  }

  resumeIfRoom() {
    if (this.paused && this.queued + this.target.writableLength <= windowBytes / 2) {
      this.paused = false;
      this.source.resume();
    }
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}

function serve(name, client) {
  const tally = counts[name];
  tally.connections++;
  openConnections++;
  lastActivity = now();
  const counter = new RequestCounter(tally);
  const upstream = net.connect(options.upstreamPort, options.upstreamHost);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const startAt = now() + options.handshakeRtt * 2 * options.delayMs;
  const up = new Pipe(client, upstream, links.up, startAt, chunk => { tally.bytesUp += chunk.length; counter.push(chunk); });
  const down = new Pipe(upstream, client, links.down, 0, chunk => { tally.bytesDown += chunk.length; });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    openConnections--;
    lastActivity = now();
    up.stop();
    down.stop();
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  // A side that closes still gets what is on its way to the other side delivered first.
  client.on('close', () => up.whenEmpty(close));
  upstream.on('close', () => down.whenEmpty(close));
}

function shutdown(code) {
  process.exit(code);
}

const servers = [];
let listening = 0;
for (const name of options.listen) {
  counts[name] = newCounts();
  const server = net.createServer(socket => serve(name, socket));
  server.on('error', err => { console.error(`wan-proxy: ${name}: ${err.message}`); shutdown(1); });
  server.listen(0, '127.0.0.1', () => {
    console.log(`wan-proxy listening ${name} ${server.address().port}`);
    if (++listening === options.listen.length) console.log('wan-proxy ready');
  });
  servers.push(server);
}

const input = readline.createInterface({ input: process.stdin });
input.on('line', line => {
  lastActivity = now();
  if (line.trim() === 'counts') console.log(`wan-proxy counts ${JSON.stringify(counts)}`);
});
input.on('close', () => shutdown(0));

const started = now();
setInterval(() => {
  const t = now();
  if (t - started > options.maxSeconds * 1000) {
    console.error(`wan-proxy: stopping after its maximum lifetime of ${options.maxSeconds} s`);
    shutdown(3);
  }
  if (openConnections === 0 && t - lastActivity > options.idleSeconds * 1000) {
    console.error(`wan-proxy: stopping after ${options.idleSeconds} s without a connection`);
    shutdown(0);
  }
  if (options.parentPid > 0) {
    try {
      process.kill(options.parentPid, 0);
    } catch (err) {
      if (err.code !== 'EPERM') shutdown(1);
    }
  }
}, 500).unref();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => shutdown(1));
