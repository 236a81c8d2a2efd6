#!/usr/bin/env node
'use strict';
// A lean S3 stand-in for the benchmark's scale group: one bucket whose keys, sizes, ETags, times and
// metadata live in memory, and whose bodies are discarded once their MD5 (and SHA-256, when the request is
// signed with one) has been checked. It answers what a sync of many small files asks, as R2 and
// build/s3rver-r2.js answer it:
// - PutObject: verifies Content-MD5 (BadDigest) and x-amz-content-sha256 (XAmzContentSHA256Mismatch) against
//   the bytes that arrived, refuses aws-chunked bodies (R2 does not take them), and honours R2's write
//   conditions (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) with 412 PreconditionFailed;
// - HeadObject (with the stored x-amz-meta-* headers), HeadBucket, DeleteObject, DeleteObjects;
// - ListObjectsV2 (prefix, delimiter, max-keys, start-after, continuation-token) and
//   ListObjects v1 (marker), from an index sorted in UTF-8 byte order, as S3 and R2 list;
// - ListMultipartUploads (always empty) and GetBucketLocation.
// Left out (bench/analysis.md says why each does not matter to the scale group): object bodies (GetObject
// answers 501), multipart uploads, CopyObject, signature checks, several buckets, persistence, and
// encoding-type=url (keys XML 1.0 cannot carry).
// Usage: node bench/s3-lean.js [--address 127.0.0.1] [--port 0] [--bucket chitty-files]
const crypto = require('crypto');
const http = require('http');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const address = option('address', '127.0.0.1');
const port = Number(option('port', '0'));
const bucketName = option('bucket', 'chitty-files');

// Objects by key. Map keys are the keys' UTF-8 bytes as latin1 strings, so that JavaScript's string order
// (UTF-16 code units, here one per byte) is S3's order: ascending UTF-8 bytes.
const objects = new Map();
let sorted = [];
let sortedValid = true;
const toBytes = key => Buffer.from(key, 'utf8').toString('latin1');
const fromBytes = bytes => Buffer.from(bytes, 'latin1').toString('utf8');

function sortedKeys() {
  if (!sortedValid) {
    sorted = Array.from(objects.keys()).sort();
    sortedValid = true;
  }
  return sorted;
}

// The index of the first key in `keys` greater than `bytes` (or not less, with `inclusive`).
function lowerBound(keys, bytes, inclusive) {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < bytes || (!inclusive && keys[mid] === bytes)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const xmlEscape = text =>
  text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

function sendXml(res, status, body) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}

function sendError(res, status, code, message, resource) {
  if (res.req.method === 'HEAD') {
    res.writeHead(status, { 'x-amz-error-code': code });
    res.end();
    return;
  }
  sendXml(res, status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><Resource>${xmlEscape(resource || '')}</Resource></Error>`);
}

// R2's table, as build/s3rver-r2.js applies it: If-Match fails on a missing key, If-None-Match succeeds on
// one; "*" matches any object; If-Modified-Since fails on a missing key, If-Unmodified-Since succeeds on one.
const etagList = value =>
  value
    .split(',')
    .map(tag => tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase())
    .filter(Boolean);

function failedCondition(headers, current) {
  const matches = list => current !== undefined && (list.includes('*') || list.includes(current.etag));
  if (headers['if-match'] !== undefined && !matches(etagList(headers['if-match']))) return 'If-Match';
  if (headers['if-none-match'] !== undefined && matches(etagList(headers['if-none-match']))) return 'If-None-Match';
  const since = headers['if-modified-since'];
  if (since !== undefined && (current === undefined || !(current.modified > new Date(since)))) return 'If-Modified-Since';
  const unmodified = headers['if-unmodified-since'];
  if (unmodified !== undefined && current !== undefined && current.modified > new Date(unmodified)) return 'If-Unmodified-Since';
  return null;
}

function readBody(req, keep, onBody) {
  const md5 = crypto.createHash('md5');
  const sha256 = crypto.createHash('sha256');
  const chunks = [];
  let size = 0;
  req.on('data', chunk => {
    md5.update(chunk);
    sha256.update(chunk);
    size += chunk.length;
    if (keep) chunks.push(chunk);
  });
  req.on('end', () => onBody({ md5: md5.digest(), sha256: sha256.digest('hex'), size, body: keep ? Buffer.concat(chunks) : null }));
}

function putObject(req, res, key) {
  const headers = req.headers;
  const signedHash = headers['x-amz-content-sha256'];
  if ((signedHash && signedHash.startsWith('STREAMING-')) || /aws-chunked/i.test(headers['content-encoding'] || '')) {
    req.resume();
    return sendError(res, 400, 'NotImplemented', 'aws-chunked encoded bodies are not supported.', key);
  }
  if (headers['x-amz-copy-source']) {
    req.resume();
    return sendError(res, 501, 'NotImplemented', 'CopyObject is not implemented by this stand-in.', key);
  }
  readBody(req, false, ({ md5, sha256, size }) => {
    if (headers['content-md5'] !== undefined && headers['content-md5'] !== md5.toString('base64')) {
      return sendError(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', key);
    }
    if (signedHash && /^[0-9a-f]{64}$/i.test(signedHash) && signedHash.toLowerCase() !== sha256) {
      return sendError(res, 400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", key);
    }
    const bytes = toBytes(key);
    const current = objects.get(bytes);
    const failed = failedCondition(headers, current);
    if (failed) return sendError(res, 412, 'PreconditionFailed', `At least one of the pre-conditions you specified did not hold (${failed}).`, key);
    const metadata = {};
    for (const [name, value] of Object.entries(headers)) if (name.startsWith('x-amz-meta-')) metadata[name] = value;
    const etag = md5.toString('hex');
    // A new key invalidates the sorted index; a rewrite of a key keeps its place.
    if (current === undefined) sortedValid = false;
    // Times to the second, as S3 and s3rver list them.
    objects.set(bytes, { etag, size, modified: new Date(Math.floor(Date.now() / 1000) * 1000), metadata, contentType: headers['content-type'] });
    res.writeHead(200, { ETag: `"${etag}"`, 'Content-Length': 0 });
    res.end();
  });
}

function headObject(req, res, key) {
  const o = objects.get(toBytes(key));
  if (!o) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', key);
  const failed = failedCondition({ 'if-match': req.headers['if-match'] }, o);
  if (failed) return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', key);
  if (req.headers['if-none-match'] !== undefined && etagList(req.headers['if-none-match']).some(t => t === '*' || t === o.etag)) {
    res.writeHead(304, { ETag: `"${o.etag}"` });
    return res.end();
  }
  res.writeHead(200, {
    ETag: `"${o.etag}"`,
    'Content-Length': o.size,
    'Last-Modified': o.modified.toUTCString(),
    'Content-Type': o.contentType || 'binary/octet-stream',
    ...o.metadata,
  });
  res.end();
}

function deleteKey(key) {
  if (objects.delete(toBytes(key))) sortedValid = false;
}

function deleteObjects(req, res) {
  readBody(req, true, ({ md5, body }) => {
    if (req.headers['content-md5'] !== undefined && req.headers['content-md5'] !== md5.toString('base64')) {
      return sendError(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', bucketName);
    }
    const xml = body.toString('utf8');
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
    const entities = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
    const decode = s =>
      s.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(lt|gt|quot|apos|amp));/gi, (m, hex, dec, name) =>
        hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : entities[name.toLowerCase()]);
    const deleted = [];
    for (const m of xml.matchAll(/<Object>\s*<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Object>/g)) {
      const key = decode(m[1]);
      deleteKey(key);
      deleted.push(key);
    }
    const items = quiet ? '' : deleted.map(k => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
    sendXml(res, 200, `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${items}</DeleteResult>`);
  });
}

function listObjects(res, query, version) {
  const prefix = query.get('prefix') || '';
  const delimiter = query.get('delimiter') || '';
  const maxKeys = Math.min(Math.max(Number(query.get('max-keys') || 1000), 0), 1000);
  // encoding-type=url is ignored, as s3rver ignores it: keys go as XML text, and the answer carries no
  // EncodingType, which tells the client (the AWS SDK, rclone, the AWS CLI) that they are not encoded.
  const keys = sortedKeys();
  const prefixBytes = toBytes(prefix);
  let after = '';
  let token = null;
  if (version === 2) {
    token = query.get('continuation-token');
    const startAfter = query.get('start-after');
    if (token) after = Buffer.from(token, 'base64').toString('latin1');
    else if (startAfter) after = toBytes(startAfter);
  } else if (query.get('marker')) {
    after = toBytes(query.get('marker'));
  }

  let i = after > prefixBytes ? lowerBound(keys, after, false) : lowerBound(keys, prefixBytes, true);
  const contents = [];
  const prefixes = [];
  let last = null;
  let truncated = false;
  const delimiterBytes = toBytes(delimiter);
  while (i < keys.length) {
    const k = keys[i];
    if (!k.startsWith(prefixBytes)) break;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    const at = delimiter ? k.indexOf(delimiterBytes, prefixBytes.length) : -1;
    if (at >= 0) {
      const common = k.slice(0, at + delimiterBytes.length);
      prefixes.push(common);
      last = common;
      // Past every key under this common prefix: the first key not starting with it.
      const next = common.slice(0, -1) + String.fromCharCode(common.charCodeAt(common.length - 1) + 1);
      i = lowerBound(keys, next, true);
    } else {
      contents.push(k);
      last = k;
      i++;
    }
  }
  if (maxKeys === 0) truncated = i < keys.length && keys[i].startsWith(prefixBytes);

  const parts = [`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`, `<Name>${bucketName}</Name>`];
  parts.push(`<Prefix>${xmlEscape(prefix)}</Prefix>`);
  if (delimiter) parts.push(`<Delimiter>${xmlEscape(delimiter)}</Delimiter>`);
  parts.push(`<MaxKeys>${maxKeys}</MaxKeys>`, `<IsTruncated>${truncated}</IsTruncated>`);
  if (version === 2) {
    parts.push(`<KeyCount>${contents.length + prefixes.length}</KeyCount>`);
    if (token) parts.push(`<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`);
    if (query.get('start-after')) parts.push(`<StartAfter>${xmlEscape(query.get('start-after'))}</StartAfter>`);
    if (truncated && last !== null) parts.push(`<NextContinuationToken>${Buffer.from(last, 'latin1').toString('base64')}</NextContinuationToken>`);
  } else {
    parts.push(`<Marker>${xmlEscape(query.get('marker') || '')}</Marker>`);
    if (truncated && last !== null) parts.push(`<NextMarker>${xmlEscape(fromBytes(last))}</NextMarker>`);
  }
  for (const k of contents) {
    const o = objects.get(k);
    parts.push(
      `<Contents><Key>${xmlEscape(fromBytes(k))}</Key><LastModified>${o.modified.toISOString()}</LastModified>` +
        `<ETag>&quot;${o.etag}&quot;</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    );
  }
  for (const p of prefixes) parts.push(`<CommonPrefixes><Prefix>${xmlEscape(fromBytes(p))}</Prefix></CommonPrefixes>`);
  parts.push('</ListBucketResult>');
  sendXml(res, 200, parts.join(''));
}

const server = http.createServer((req, res) => {
  const target = new URL(req.url, 'http://stand-in');
  const query = target.searchParams;
  // Path-style only: /<bucket>/<key>.
  const path = target.pathname.slice(1);
  const slash = path.indexOf('/');
  const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
  const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  const method = req.method;
  if (bucket === '') {
    req.resume();
    return sendXml(res, 200, `<ListAllMyBucketsResult><Buckets><Bucket><Name>${bucketName}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`);
  }
  if (bucket !== bucketName) {
    req.resume();
    return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist.', bucket);
  }
  if (key === '') {
    if (method === 'POST' && query.has('delete')) return deleteObjects(req, res);
    req.resume();
    if (method === 'HEAD') {
      res.writeHead(200);
      return res.end();
    }
    if (method === 'GET' && query.has('location')) return sendXml(res, 200, '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">auto</LocationConstraint>');
    if (method === 'GET' && query.has('uploads')) {
      return sendXml(res, 200, `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucketName}</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`);
    }
    if (method === 'GET') return listObjects(res, query, query.get('list-type') === '2' ? 2 : 1);
    if (method === 'PUT') {
      res.writeHead(200);
      return res.end();
    }
    return sendError(res, 501, 'NotImplemented', `${method} on a bucket is not implemented by this stand-in.`, bucket);
  }
  if (query.has('uploads') || query.has('uploadId')) {
    req.resume();
    return sendError(res, 501, 'NotImplemented', 'Multipart uploads are not implemented by this stand-in.', key);
  }
  if (method === 'PUT') return putObject(req, res, key);
  req.resume();
  if (method === 'HEAD') return headObject(req, res, key);
  if (method === 'DELETE') {
    deleteKey(key);
    res.writeHead(204);
    return res.end();
  }
  if (method === 'GET') return sendError(res, 501, 'NotImplemented', 'This stand-in keeps no object bodies.', key);
  return sendError(res, 501, 'NotImplemented', `${method} is not implemented by this stand-in.`, key);
});
server.keepAliveTimeout = 60000;
server.listen(port, address, () => {
  const a = server.address();
  console.log('s3-lean listening on %s:%d', a.address, a.port);
});
