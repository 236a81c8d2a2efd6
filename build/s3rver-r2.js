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
// - CompleteMultipartUpload refuses a part whose ETag is not the MD5 s3rver stored for it (R2's InvalidPart).
// Everything else is s3rver's.
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

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;
FilesystemStore.prototype.putObjectMultipart = async function (bucket, uploadId, parts) {
  const uploadDir = path.join(uploadsDirectory(this, bucket), uploadId);
  if (!(await fs.pathExists(path.join(uploadDir, 'key')))) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
  }
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
  const key = (await fs.readFile(path.join(uploadDir, 'key'))).toString();
  const result = await putObjectMultipart.call(this, bucket, uploadId, parts);
  const etag = `${crypto.createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
  await fs.writeFile(this.getResourcePath(bucket, key, 'object.md5'), etag);
  return { ...result, md5: etag };
};

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

// Koa composes its middleware when the server starts: ours goes first, before s3rver's router answers 405.
const run = S3rver.prototype.run;
S3rver.prototype.run = function (...args) {
  this.middleware.unshift(multipartAnswers);
  return run.apply(this, args);
};

require('s3rver/bin/s3rver.js');
