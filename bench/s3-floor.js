// Usage: node s3-floor.js <list|put|multipart> --endpoint http://127.0.0.1:<port> --bucket <b> --prefix <p>
//          [--count N] [--size BYTES] [--part-size BYTES] [--concurrency 8] [--ca-file <pem>]
//          [--split-after-file <keys, one a line>]
//
// The least a client can ask of the S3 server for one benchmark scenario, for bench/Run-Bench.ps1: the
// requests the scenario cannot do without, sent with nothing else around them (no local scan, no hashing,
// no state), over keep-alive connections, --concurrency at a time. The time they take is the scenario's
// floor on that server.
//   list       ListObjectsV2 of the prefix, 1,000 keys a page, every page (what a no-op re-sync must ask); with
//              --split-after-file, the ranges between those keys (ascending) listed at once, each after its
//              start-after key up to its last key, as the module's ranged listing asks
//   put        --count PUTs of --size bytes each under the prefix (what a first sync of small files must send)
//   multipart  one object of --size bytes as a multipart upload of --part-size parts (create, parts, complete)
// Prints one line: "s3-floor {json}" with the seconds, requests and keys. s3rver checks no signature, so the
// requests carry an Authorization header with its access key and an unchecked signature.
'use strict';

const http = require('http');
const https = require('https');
const fs = require('fs');
const crypto = require('crypto');

function parseArgs(argv) {
  const options = { op: argv[0], count: 0, size: 0, partSize: 16 * 1024 * 1024, concurrency: 8, prefix: '', caFile: null, splitAfterFile: null };
  const names = { '--endpoint': 'endpoint', '--bucket': 'bucket', '--prefix': 'prefix', '--count': 'count', '--size': 'size',
    '--part-size': 'partSize', '--concurrency': 'concurrency', '--ca-file': 'caFile', '--split-after-file': 'splitAfterFile' };
  for (let i = 1; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    options[key] = ['count', 'size', 'partSize', 'concurrency'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!['list', 'put', 'multipart'].includes(options.op)) throw new Error('the operation is list, put or multipart');
  if (!options.endpoint || !options.bucket) throw new Error('--endpoint and --bucket are required');
  return options;
}

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`s3-floor: ${err.message}`);
  process.exit(2);
}

const endpoint = new URL(options.endpoint);
const secure = endpoint.protocol === 'https:';
const transport = secure ? https : http;
const agent = new transport.Agent({
  keepAlive: true,
  maxSockets: options.concurrency,
  ...(options.caFile ? { ca: fs.readFileSync(options.caFile) } : {}),
});
let requests = 0;

function request(method, path, body) {
  requests++;
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const headers = {
    'x-amz-date': date,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${date.slice(0, 8)}/us-east-1/s3/aws4_request, ` +
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=' + '0'.repeat(64),
    'content-length': body ? body.length : 0,
  };
  return new Promise((resolve, reject) => {
    const req = transport.request({
      method, agent, hostname: endpoint.hostname, port: endpoint.port, path, headers,
    }, res => {
      const parts = [];
      res.on('data', d => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve({ text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function keyPath(key) {
  return `/${options.bucket}/` + key.split('/').map(encodeURIComponent).join('/');
}

const xmlText = text => text.replace(/&(lt|gt|quot|apos|amp);/g, (m, n) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[n]);

// The keys after startAfter up to and including last (null: from the start, to the end), page by page.
async function listRange(startAfter, last) {
  let token = null;
  let keys = 0;
  let pages = 0;
  const lastBytes = last === null ? null : Buffer.from(last, 'utf8');
  while (true) {
    let query = `list-type=2&max-keys=1000&prefix=${encodeURIComponent(options.prefix)}`;
    if (token) query += `&continuation-token=${encodeURIComponent(token)}`;
    else if (startAfter !== null) query += `&start-after=${encodeURIComponent(startAfter)}`;
    const { text } = await request('GET', `/${options.bucket}?${query}`);
    pages++;
    for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) {
      if (lastBytes !== null && Buffer.compare(Buffer.from(xmlText(m[1]), 'utf8'), lastBytes) > 0) return { keys, pages };
      keys++;
    }
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(text);
    token = /<IsTruncated>true<\/IsTruncated>/.test(text) && next ? xmlText(next[1]) : null;
    if (!token) return { keys, pages };
  }
}

async function list() {
  const splits = options.splitAfterFile ? fs.readFileSync(options.splitAfterFile, 'utf8').split('\n').filter(Boolean) : [];
  const bounds = [null, ...splits, null];
  const ranges = await Promise.all(splits.concat([null]).map((last, i) => listRange(bounds[i], last)));
  return { keys: ranges.reduce((n, r) => n + r.keys, 0), pages: ranges.reduce((n, r) => n + r.pages, 0), ranges: ranges.length };
}

async function inParallel(count, work) {
  let next = 0;
  const workers = Array.from({ length: Math.min(options.concurrency, count) }, async () => {
    while (next < count) await work(next++);
  });
  await Promise.all(workers);
}

async function put() {
  const body = crypto.randomBytes(options.size);
  await inParallel(options.count, async i => {
    body.writeUInt32LE(i, 0);
    await request('PUT', keyPath(`${options.prefix}f${String(i).padStart(6, '0')}.bin`), body);
  });
  return { keys: options.count };
}

async function multipart() {
  const key = `${options.prefix}big.bin`;
  const created = await request('POST', `${keyPath(key)}?uploads`);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)[1];
  const partCount = Math.ceil(options.size / options.partSize);
  const block = crypto.randomBytes(Math.min(options.partSize, options.size));
  const etags = new Array(partCount);
  await inParallel(partCount, async i => {
    const length = Math.min(options.partSize, options.size - i * options.partSize);
    const body = length === block.length ? block : block.subarray(0, length);
    const { headers } = await request('PUT', `${keyPath(key)}?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`, body);
    etags[i] = headers.etag;
  });
  const xml = '<CompleteMultipartUpload>' +
    etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join('') +
    '</CompleteMultipartUpload>';
  await request('POST', `${keyPath(key)}?uploadId=${encodeURIComponent(uploadId)}`, Buffer.from(xml));
  return { keys: 1, parts: partCount };
}

const operations = { list, put, multipart };
const started = process.hrtime.bigint();
operations[options.op]().then(result => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`s3-floor ${JSON.stringify({ op: options.op, seconds, requests, ...result })}`);
  agent.destroy();
}, err => {
  console.error(`s3-floor: ${err.message}`);
  process.exit(1);
});
