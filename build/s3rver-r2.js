#!/usr/bin/env node
'use strict';
// s3rver 3.7.1 with the multipart answers of Cloudflare R2, for the local stack (build/ChittyStack.psm1).
// Takes s3rver's own command line (it runs s3rver's bin/s3rver.js) and changes three things:
// - a completed multipart upload gets R2's ETag, the MD5 of the parts' binary MD5s followed by "-<parts>",
//   stored as the object's ETag so HEAD, GET and listings answer the same value (s3rver itself answers the
//   whole object's MD5, which the module refuses as R2 never sends it);
// - ListParts, ListMultipartUploads and AbortMultipartUpload, which s3rver answers with 405 or
//   NotImplemented, are answered from s3rver's upload folders (one folder per upload holding its key and,
//   per part received whole, the part and its MD5), so interrupted uploads resume and stale ones are aborted;
// - CompleteMultipartUpload refuses a part whose ETag is not the MD5 s3rver stored for it (R2's InvalidPart);
// - PutObject, CreateMultipartUpload and CompleteMultipartUpload honour R2's conditional headers (If-Match,
//   If-None-Match, If-Modified-Since, If-Unmodified-Since; Cloudflare's "Conditional operations" page of the
//   R2 S3 API): a write whose condition does not hold against the object stored at the key now is refused
//   with 412 PreconditionFailed and changes nothing. Writes of one key run one at a time, so the condition
//   checked is the one the write commits over;
// - GetObject and HeadObject honour If-Match as R2 does (412 PreconditionFailed when the key holds another
//   version or none), so a download fetched in ranges learns when the object is replaced between them.
// Everything else is s3rver's.
const { AsyncLocalStorage } = require('async_hooks');
const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Error = require('s3rver/lib/models/error');

function uploadsDirectory(store, bucket) {
  return store.getResourcePath(bucket, undefined, 'uploads');
}

async function readPartMd5(uploadDir, number) {
  try {
    return (await fs.readFile(path.join(uploadDir, `${number}.md5`))).toString().trim();
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

// The conditional headers of the request being answered, for the store's write methods (which see no headers).
const writeConditions = new AsyncLocalStorage();
const conditionHeaders = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

// A list of ETags as a header carries it: quoted or not, comma-separated, "*" for any object.
const etagList = value =>
  value
    .split(',')
    .map(tag => tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase())
    .filter(Boolean);

// A write s3rver did not finish (its process stopped half-way) leaves an object with metadata that is missing,
// empty or cut short. R2's writes are atomic: such a key holds nothing it would show, so it counts as absent.
async function storedVersion(store, bucket, key) {
  try {
    const metadata = await store.getMetadata(bucket, key);
    const etag = JSON.parse(metadata.etag).toLowerCase();
    return etag ? { etag, modified: new Date(metadata['last-modified']) } : null;
  } catch (err) {
    if (err.code === 'ENOENT' || err instanceof SyntaxError) return null;
    throw err;
  }
}

// R2's table: If-Match fails on a missing key, If-None-Match succeeds on one; "*" matches any object;
// If-Modified-Since fails on a missing key, If-Unmodified-Since succeeds on one.
function failedCondition(conditions, current) {
  const matches = list => current !== null && (list.includes('*') || list.includes(current.etag));
  if (conditions['if-match'] !== undefined && !matches(etagList(conditions['if-match']))) return 'If-Match';
  if (conditions['if-none-match'] !== undefined && matches(etagList(conditions['if-none-match']))) return 'If-None-Match';
  const since = conditions['if-modified-since'];
  if (since !== undefined && (current === null || !(current.modified > new Date(since)))) return 'If-Modified-Since';
  const unmodified = conditions['if-unmodified-since'];
  if (unmodified !== undefined && current !== null && current.modified > new Date(unmodified)) return 'If-Unmodified-Since';
  return null;
}

async function checkConditions(store, bucket, key) {
  const conditions = writeConditions.getStore();
  if (!conditions) return;
  const failed = failedCondition(conditions, await storedVersion(store, bucket, key));
  if (failed) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: failed,
    });
  }
}

// One write of a key at a time: a conditional write's check and its commit see no other write between them.
const keyQueues = new Map();
const heldWrite = new AsyncLocalStorage();
const writeId = (bucket, key) => `${bucket}\n${key}`;
async function oneWriteAtATime(bucket, key, write) {
  const id = writeId(bucket, key);
  const before = keyQueues.get(id) || Promise.resolve();
  let release;
  const done = new Promise(resolve => (release = resolve));
  const queued = before.then(() => done);
  keyQueues.set(id, queued);
  await before;
  try {
    return await heldWrite.run(id, write);
  } finally {
    release();
    if (keyQueues.get(id) === queued) keyQueues.delete(id);
  }
}

// A refused PUT still reads its body, so the client gets the 412 rather than a connection cut mid-send.
function drain(content) {
  if (!content || Buffer.isBuffer(content) || typeof content.resume !== 'function') return Promise.resolve();
  return new Promise(resolve => {
    content.on('end', resolve).on('error', resolve).on('close', resolve);
    content.resume();
  });
}

const putObject = FilesystemStore.prototype.putObject;
FilesystemStore.prototype.putObject = function (object) {
  // A multipart completion writes its object through here, already holding the key and its condition checked.
  if (heldWrite.getStore() === writeId(object.bucket, object.key)) return putObject.call(this, object);
  return oneWriteAtATime(object.bucket, object.key, async () => {
    try {
      await checkConditions(this, object.bucket, object.key);
    } catch (err) {
      await drain(object.content);
      throw err;
    }
    return putObject.call(this, object);
  });
};

const initiateUpload = FilesystemStore.prototype.initiateUpload;
FilesystemStore.prototype.initiateUpload = async function (bucket, key, uploadId, metadata) {
  await checkConditions(this, bucket, key);
  return initiateUpload.call(this, bucket, key, uploadId, metadata);
};

const deleteObject = FilesystemStore.prototype.deleteObject;
FilesystemStore.prototype.deleteObject = function (bucket, key) {
  return oneWriteAtATime(bucket, key, () => deleteObject.call(this, bucket, key));
};

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;
FilesystemStore.prototype.putObjectMultipart = async function (bucket, uploadId, parts) {
  const uploadDir = path.join(uploadsDirectory(this, bucket), uploadId);
  if (!(await fs.pathExists(path.join(uploadDir, 'key')))) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
  }
  const key = (await fs.readFile(path.join(uploadDir, 'key'))).toString();
  return oneWriteAtATime(bucket, key, async () => {
    await checkConditions(this, bucket, key);
    return completeUpload.call(this, bucket, uploadId, uploadDir, key, parts);
  });
};

async function completeUpload(bucket, uploadId, uploadDir, key, parts) {
  const ordered = [...parts].sort((a, b) => a.number - b.number);
  const digests = [];
  for (const part of ordered) {
    const md5 = await readPartMd5(uploadDir, part.number);
    if (md5 === null || md5 !== part.etag.toLowerCase()) {
      throw new S3Error(
        'InvalidPart',
        'One or more of the specified parts could not be found. The part may not have been uploaded, ' +
          "or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: part.number, ETag: part.etag },
      );
    }
    digests.push(Buffer.from(md5, 'hex'));
  }
  const result = await putObjectMultipart.call(this, bucket, uploadId, parts);
  const etag = `${crypto.createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
  await fs.writeFile(this.getResourcePath(bucket, key, 'object.md5'), etag);
  return { ...result, md5: etag };
}

const xmlEscape = s =>
  String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

function sendXml(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

async function listParts(ctx, store, bucket, uploadId) {
  const uploadDir = path.join(uploadsDirectory(store, bucket), uploadId);
  const key = (await fs.readFile(path.join(uploadDir, 'key'))).toString();
  const numbers = (await fs.readdir(uploadDir))
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
  let parts = '';
  for (const number of numbers) {
    const md5 = await readPartMd5(uploadDir, number);
    if (md5 === null) continue; // still being received
    const stat = await fs.stat(path.join(uploadDir, String(number)));
    parts +=
      `<Part><PartNumber>${number}</PartNumber><LastModified>${stat.mtime.toISOString()}</LastModified>` +
      `<ETag>"${md5}"</ETag><Size>${stat.size}</Size></Part>`;
  }
  sendXml(
    ctx,
    200,
    '<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${xmlEscape(uploadId)}</UploadId>` +
      `<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>${parts}</ListPartsResult>`,
  );
}

async function listUploads(ctx, store, bucket, prefix) {
  const root = uploadsDirectory(store, bucket);
  const ids = (await fs.pathExists(root)) ? (await fs.readdir(root)).sort() : [];
  let uploads = '';
  for (const id of ids) {
    const keyPath = path.join(root, id, 'key');
    if (!(await fs.pathExists(keyPath))) continue;
    const key = (await fs.readFile(keyPath)).toString();
    if (!key.startsWith(prefix)) continue;
    const initiated = (await fs.stat(path.join(root, id))).birthtime.toISOString();
    uploads +=
      `<Upload><Key>${xmlEscape(key)}</Key><UploadId>${xmlEscape(id)}</UploadId>` +
      `<Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`;
  }
  sendXml(
    ctx,
    200,
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${xmlEscape(bucket)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
      `<IsTruncated>false</IsTruncated>${uploads}</ListMultipartUploadsResult>`,
  );
}

// Path-style requests only: the stack's clients all use them.
async function multipartAnswers(ctx, next) {
  const query = ctx.query;
  const segments = ctx.path.split('/').filter(Boolean);
  const bucket = segments.length > 0 ? decodeURIComponent(segments[0]) : null;
  const store = ctx.app.store;
  if (bucket && segments.length === 1 && ctx.method === 'GET' && 'uploads' in query) {
    if (!(await store.getBucket(bucket))) return next();
    return listUploads(ctx, store, bucket, query.prefix || '');
  }
  const uploadId = query.uploadId;
  const answered = bucket && segments.length > 1 && typeof uploadId === 'string' && !('partNumber' in query);
  if (!answered || !['GET', 'DELETE'].includes(ctx.method)) return next();
  if (!/^[0-9a-f]+$/.test(uploadId) || !(await fs.pathExists(path.join(uploadsDirectory(store, bucket), uploadId, 'key')))) {
    return sendXml(
      ctx,
      404,
      '<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>',
    );
  }
  if (ctx.method === 'DELETE') {
    await fs.remove(path.join(uploadsDirectory(store, bucket), uploadId));
    ctx.status = 204;
    return undefined;
  }
  return listParts(ctx, store, bucket, uploadId);
}

// Writes carry their conditional headers to the store's write methods above.
function conditionalWrites(ctx, next) {
  if (!['PUT', 'POST'].includes(ctx.method) || 'x-amz-copy-source' in ctx.headers) return next();
  const present = conditionHeaders.filter(name => ctx.headers[name] !== undefined);
  if (present.length === 0) return next();
  return writeConditions.run(Object.fromEntries(present.map(name => [name, ctx.headers[name]])), next);
}

// A read's If-Match against the version stored now (s3rver answers If-None-Match and If-Modified-Since itself).
async function conditionalReads(ctx, next) {
  const rest = ctx.path.slice(1);
  const slash = rest.indexOf('/');
  if (!['GET', 'HEAD'].includes(ctx.method) || slash <= 0 || slash === rest.length - 1 || ctx.headers['if-match'] === undefined) return next();
  if ('uploadId' in ctx.query || 'uploads' in ctx.query) return next();
  const bucket = decodeURIComponent(rest.slice(0, slash));
  const key = decodeURIComponent(rest.slice(slash + 1));
  if (failedCondition({ 'if-match': ctx.headers['if-match'] }, await storedVersion(ctx.app.store, bucket, key))) {
    return sendXml(
      ctx,
      412,
      '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>',
    );
  }
  return next();
}

// Koa composes its middleware when the server starts: ours goes first, before s3rver's router answers 405.
const run = S3rver.prototype.run;
S3rver.prototype.run = function (...args) {
  this.middleware.unshift(multipartAnswers);
  this.middleware.unshift(conditionalWrites);
  this.middleware.unshift(conditionalReads);
  return run.apply(this, args);
};

require('s3rver/bin/s3rver.js');
