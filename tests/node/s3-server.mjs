#!/usr/bin/env node
// An S3-compatible server for tests: s3rver 3.x with the checks and operations of real S3
// that s3rver lacks, added as a middleware in front of its own.
//
//   node s3-server.mjs --directory DIR [--address 127.0.0.1] [--port 0] [--region us-east-1]
//                      [--access-key S3RVER] [--secret-key S3RVER] [--min-part-size 5242880]
//
// Prints "S3 server listening on http://ADDRESS:PORT" on stdout once it accepts connections,
// then one line per request on stderr. Objects live under DIR, so a server started again on
// the same DIR serves the same objects and in-progress multipart uploads.
//
// A fault for tests, from the environment (S3_SERVER_FAULT), on the first
// CompleteMultipartUpload only (the next ones are served normally):
//   complete-response-lost  the upload is completed, then the connection is closed without
//                           an answer (a retry then gets NoSuchUpload; the object exists)
//   upload-lost             the upload is aborted instead, the connection closed without an
//                           answer (a retry gets NoSuchUpload; no object)
//
// What this adds to s3rver (which accepts any AWS Signature V4 without checking it, and
// anonymous requests too):
//   * AWS Signature V4 verification, Authorization header and presigned URL, as S3 does it:
//     403 SignatureDoesNotMatch (with the server's CanonicalRequest and StringToSign),
//     InvalidAccessKeyId, RequestTimeTooSkewed (15 minutes), AccessDenied for anonymous
//     requests, unsigned x-amz-* headers and expired presigned URLs,
//     AuthorizationHeaderMalformed for a wrong region; 400 InvalidRequest for Signature V2.
//   * The body checked against x-amz-content-sha256 (XAmzContentSHA256Mismatch) and
//     Content-MD5 (BadDigest); aws-chunked bodies decoded, their chunk signatures checked.
//   * Multipart uploads as S3 enforces them: NoSuchUpload for an unknown or aborted upload,
//     part numbers 1..10000, and on completion InvalidPart, InvalidPartOrder and
//     EntityTooSmall (every part but the last at least --min-part-size bytes).
//   * ListMultipartUploads (GET /bucket?uploads, no pagination) and AbortMultipartUpload
//     (DELETE /bucket/key?uploadId=...).
//   * ListObjectsV2 (GET /bucket?list-type=2) of its own: s3rver's lists keys out of S3's
//     order, and its pages fail under OpenSSL 3 (DES continuation tokens).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const kAlgorithm = 'AWS4-HMAC-SHA256';
const kEmptySha256 = createHash('sha256').update('').digest('hex');
const kMaxSkewMs = 15 * 60 * 1000;
const kMaxPartNumber = 10000;
// s3rver keeps the parts of upload U of bucket B in DIR/B/._S3rver_uploads/U/.
const kUploadsFolder = '._S3rver_uploads';

function Usage(message) {
  process.stderr.write(`s3-server: ${message}\n`);
  process.exit(2);
}

const { values: options } = parseArgs({
  options: {
    directory: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    region: { type: 'string', default: 'us-east-1' },
    'access-key': { type: 'string', default: 'S3RVER' },
    'secret-key': { type: 'string', default: 'S3RVER' },
    'min-part-size': { type: 'string', default: String(5 * 1024 * 1024) },
  },
  strict: true,
});
if (!options.directory) Usage('--directory is required');
const port = Number(options.port);
const minPartSize = Number(options['min-part-size']);
if (!Number.isInteger(port) || port < 0 || port > 65535) Usage(`bad --port ${options.port}`);
if (!Number.isInteger(minPartSize) || minPartSize < 0) Usage('bad --min-part-size');

let fault = process.env.S3_SERVER_FAULT || '';
if (!['', 'complete-response-lost', 'upload-lost'].includes(fault)) Usage(`bad S3_SERVER_FAULT ${fault}`);

const directory = path.resolve(options.directory);
const region = options.region;
const secrets = new Map([[options['access-key'], options['secret-key']]]);
DUMMY_ACCOUNT.createKeyPair(options['access-key'], options['secret-key']);

// ---------------------------------------------------------------------------------------
// Signature V4

function Hmac(key, text) {
  return createHmac('sha256', key).update(text).digest();
}

function Sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

function SigningKey(secret, date, scopeRegion, service) {
  return Hmac(Hmac(Hmac(Hmac(`AWS4${secret}`, date), scopeRegion), service), 'aws4_request');
}

function SameSignature(a, b) {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

// RFC 3986 encoding of everything but the unreserved characters, as SigV4 wants it.
function UriEncode(text) {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    ch => '%' + ch.charCodeAt(0).toString(16).toUpperCase(),
  );
}

// S3 reads a '+' in the path or the query as a space, as in a form, when it checks a
// signature (s3rver's router keeps it a '+': `plusIsSpace` false decodes as s3rver does).
function UriDecode(text, what, plusIsSpace = true) {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    throw new S3Error('InvalidURI', `Couldn't parse the specified URI: ${what}`);
  }
}

function SplitUrl(url) {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

// The request's query as decoded [name, value] pairs, in the order sent.
function QueryPairs(rawQuery) {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter(part => part !== '')
    .map(part => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      return [UriDecode(name, part), UriDecode(value, part)];
    });
}

// S3 does not normalize the path: each segment is decoded and encoded again, '/' kept.
function CanonicalUri(rawPath) {
  return rawPath
    .split('/')
    .map(segment => UriEncode(UriDecode(segment, rawPath)))
    .join('/');
}

function CanonicalQuery(pairs) {
  return pairs
    .map(([name, value]) => [UriEncode(name), UriEncode(value)])
    .sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

// Every value of each signed header, trimmed, inner runs of spaces collapsed, joined by ','.
function CanonicalHeaders(rawHeaders, signedHeaders) {
  const values = new Map();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!values.has(name)) values.set(name, []);
    values.get(name).push(rawHeaders[i + 1].trim().replace(/\s+/g, ' '));
  }
  return signedHeaders.map(name => `${name}:${(values.get(name) || []).join(',')}\n`).join('');
}

function ParseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '');
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// What a signed request says about itself, from its Authorization header or its query.
function ParseAuthorization(ctx, queryPairs) {
  const header = ctx.get('authorization');
  const query = new Map(queryPairs);
  if (header && query.has('X-Amz-Algorithm')) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, ' +
        'Signature query string parameter or the Authorization header should be specified',
    );
  }
  if (header) {
    const space = header.indexOf(' ');
    const algorithm = space < 0 ? header : header.slice(0, space);
    if (algorithm !== kAlgorithm) {
      throw new S3Error(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. ' +
          'Please use AWS4-HMAC-SHA256.',
      );
    }
    const fields = new Map();
    for (const item of header.slice(space + 1).split(',')) {
      const eq = item.indexOf('=');
      if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
    }
    if (!fields.has('Credential') || !fields.has('SignedHeaders') || !fields.has('Signature')) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        'The authorization header is malformed; it must hold Credential, SignedHeaders ' +
          'and Signature.',
      );
    }
    const payloadHash = ctx.get('x-amz-content-sha256');
    if (!payloadHash) {
      throw new S3Error(
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    }
    return {
      presigned: false,
      credential: fields.get('Credential'),
      signedHeaders: fields.get('SignedHeaders'),
      signature: fields.get('Signature'),
      amzDate: ctx.get('x-amz-date'),
      payloadHash,
    };
  }
  if (query.has('X-Amz-Algorithm')) {
    if (query.get('X-Amz-Algorithm') !== kAlgorithm) {
      throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    for (const name of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      if (!query.has(name)) {
        throw new S3Error(
          'AuthorizationQueryParametersError',
          `Query-string authentication version 4 requires the ${name} parameter.`,
        );
      }
    }
    return {
      presigned: true,
      credential: query.get('X-Amz-Credential'),
      signedHeaders: query.get('X-Amz-SignedHeaders'),
      signature: query.get('X-Amz-Signature'),
      amzDate: query.get('X-Amz-Date'),
      expires: Number(query.get('X-Amz-Expires')),
      payloadHash: query.get('X-Amz-Content-Sha256') || 'UNSIGNED-PAYLOAD',
    };
  }
  if ('Signature' in ctx.query || 'AWSAccessKeyId' in ctx.query) {
    throw new S3Error(
      'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    );
  }
  throw new S3Error('AccessDenied', 'Access Denied');
}

// Checks the request's signature. Returns what chunk signatures of an aws-chunked body
// are checked against.
function VerifySignature(ctx) {
  const [rawPath, rawQuery] = SplitUrl(ctx.req.url);
  const queryPairs = QueryPairs(rawQuery);
  const auth = ParseAuthorization(ctx, queryPairs);

  const scope = auth.credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  const [accessKeyId, scopeDate, scopeRegion, service] = scope;
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKeyId },
    );
  }
  const requestTime = ParseAmzDate(auth.amzDate);
  if (requestTime === null) {
    throw new S3Error(
      'AccessDenied',
      'AWS authentication requires a valid Date or x-amz-date header',
    );
  }
  if (scopeDate !== auth.amzDate.slice(0, 8)) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date "${scopeDate}". ` +
        'This date is not the same as X-Amz-Date.',
    );
  }
  if (scopeRegion !== region) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${scopeRegion}' is wrong; ` +
        `expecting '${region}'`,
      { Region: region },
    );
  }
  if (service !== 's3') {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".`,
    );
  }
  const now = Date.now();
  if (auth.presigned) {
    if (!Number.isInteger(auth.expires) || auth.expires < 1 || auth.expires > 604800) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be between 1 and 604800 seconds',
      );
    }
    if (now > requestTime + auth.expires * 1000) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        XAmzExpires: auth.expires,
        Expires: new Date(requestTime + auth.expires * 1000).toISOString(),
        ServerTime: new Date(now).toISOString(),
      });
    }
  } else if (Math.abs(now - requestTime) > kMaxSkewMs) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: auth.amzDate,
        ServerTime: new Date(now).toISOString(),
        MaxAllowedSkewMilliseconds: kMaxSkewMs,
      },
    );
  }

  const signedHeaders = auth.signedHeaders.split(';');
  if (!signedHeaders.includes('host')) {
    throw new S3Error('AccessDenied', 'The host header must be signed', {
      SignedHeaders: auth.signedHeaders,
    });
  }
  const unsigned = Object.keys(ctx.req.headers).filter(
    name => name.startsWith('x-amz-') && !signedHeaders.includes(name),
  );
  if (unsigned.length) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }

  const canonicalRequest = [
    ctx.method,
    CanonicalUri(rawPath),
    CanonicalQuery(queryPairs.filter(([name]) => !(auth.presigned && name === 'X-Amz-Signature'))),
    CanonicalHeaders(ctx.req.rawHeaders, signedHeaders),
    auth.signedHeaders,
    auth.payloadHash,
  ].join('\n');
  const credentialScope = `${scopeDate}/${scopeRegion}/${service}/aws4_request`;
  const stringToSign = [kAlgorithm, auth.amzDate, credentialScope, Sha256Hex(canonicalRequest)].join('\n');
  const signingKey = SigningKey(secret, scopeDate, scopeRegion, service);
  const expected = Hmac(signingKey, stringToSign).toString('hex');
  if (!SameSignature(expected, auth.signature)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
      {
        AWSAccessKeyId: accessKeyId,
        StringToSign: stringToSign,
        SignatureProvided: auth.signature,
        CanonicalRequest: canonicalRequest,
      },
    );
  }
  return {
    payloadHash: auth.payloadHash,
    amzDate: auth.amzDate,
    credentialScope,
    signingKey,
    seedSignature: auth.signature,
  };
}

// ---------------------------------------------------------------------------------------
// Bodies

function ReadBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Decodes an aws-chunked body ("<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" ... a
// 0-size chunk, then optional trailers). With `signing`, checks each chunk's signature.
function DecodeAwsChunked(body, signing) {
  const parts = [];
  let previous = signing ? signing.seedSignature : null;
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw new S3Error('IncompleteBody', 'The aws-chunked body ended inside a chunk header');
    const header = body.subarray(at, lineEnd).toString('latin1');
    const [sizeText, ...extensions] = header.split(';');
    const size = parseInt(sizeText, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || !(size >= 0)) {
      throw new S3Error('InvalidRequest', `Bad aws-chunked chunk header: ${header.slice(0, 100)}`);
    }
    const data = body.subarray(lineEnd + 2, lineEnd + 2 + size);
    if (data.length !== size) throw new S3Error('IncompleteBody', 'The aws-chunked body ended inside a chunk');
    if (signing) {
      const provided = extensions
        .map(e => e.trim())
        .find(e => e.startsWith('chunk-signature='))
        ?.slice('chunk-signature='.length);
      const stringToSign = [
        'AWS4-HMAC-SHA256-PAYLOAD',
        signing.amzDate,
        signing.credentialScope,
        previous,
        kEmptySha256,
        Sha256Hex(data),
      ].join('\n');
      const expected = Hmac(signing.signingKey, stringToSign).toString('hex');
      if (!provided || !SameSignature(expected, provided)) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided (aws-chunked chunk).',
          { StringToSign: stringToSign },
        );
      }
      previous = expected;
    }
    at = lineEnd + 2 + size;
    if (size === 0) break;  // the trailers, if any, follow
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') {
      throw new S3Error('InvalidRequest', 'An aws-chunked chunk does not end with CRLF');
    }
    at += 2;
    parts.push(data);
  }
  return Buffer.concat(parts);
}

// Reads the body, checks it against the signed hash and Content-MD5, decodes aws-chunked,
// and hands s3rver a stream of the (decoded) bytes.
async function CheckBody(ctx, signing) {
  let body = await ReadBody(ctx.req);
  const hash = signing.payloadHash;
  if (hash.startsWith('STREAMING-')) {
    body = DecodeAwsChunked(body, hash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' ? signing : null);
    const declared = ctx.get('x-amz-decoded-content-length');
    if (declared !== '' && Number(declared) !== body.length) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the x-amz-decoded-content-length header');
    }
    const headers = ctx.req.headers;
    const encodings = (headers['content-encoding'] || '')
      .split(',')
      .map(e => e.trim())
      .filter(e => e && e !== 'aws-chunked');
    if (encodings.length) headers['content-encoding'] = encodings.join(',');
    else delete headers['content-encoding'];
    headers['content-length'] = String(body.length);
  } else if (hash !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.', {
        ArgumentName: 'x-amz-content-sha256',
        ArgumentValue: hash,
      });
    }
    const computed = Sha256Hex(body);
    if (computed !== hash) {
      const error = new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: hash, S3ComputedContentSHA256: computed },
      );
      error.status = 400;  // a code s3rver does not know
      error.expose = true;
      throw error;
    }
  }
  const md5 = ctx.get('content-md5');
  if (md5) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(md5)) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
    }
    if (createHash('md5').update(body).digest('base64') !== md5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: md5,
      });
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------------
// Multipart uploads

function XmlEscape(text) {
  const entities = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };
  return String(text).replace(/[<>&"']/g, ch => entities[ch]);
}

function SendXml(ctx, status, xml) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}

// The bucket and key of a path-style request, decoded; key is '' for a bucket request.
function BucketAndKey(ctx) {
  const [rawPath] = SplitUrl(ctx.req.url);
  const segments = rawPath.split('/').slice(1);
  return {
    bucket: UriDecode(segments[0] || '', rawPath, false),
    key: segments.slice(1).map(s => UriDecode(s, rawPath, false)).join('/'),
  };
}

async function Exists(file) {
  try {
    await fs.stat(file);
    return true;
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
    throw err;
  }
}

async function RequireBucket(bucket) {
  if (!bucket || !(await Exists(path.join(directory, bucket)))) {
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
  }
}

function UploadDir(bucket, uploadId) {
  return path.join(directory, bucket, kUploadsFolder, uploadId);
}

async function RequireUpload(bucket, key, uploadId) {
  const noSuchUpload = new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may ' +
      'have been aborted or completed.',
    { UploadId: uploadId },
  );
  if (!/^[0-9a-zA-Z]+$/.test(uploadId)) throw noSuchUpload;
  let uploadKey;
  try {
    uploadKey = await fs.readFile(path.join(UploadDir(bucket, uploadId), 'key'), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw noSuchUpload;
    throw err;
  }
  if (uploadKey !== key) throw noSuchUpload;
}

async function ListMultipartUploads(ctx, bucket) {
  await RequireBucket(bucket);
  const prefix = ctx.query.prefix || '';
  const root = path.join(directory, bucket, kUploadsFolder);
  let ids = [];
  try {
    ids = await fs.readdir(root);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  const uploads = [];
  for (const id of ids) {
    let key;
    try {
      key = await fs.readFile(path.join(root, id, 'key'), 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') continue;  // completed or aborted meanwhile
      throw err;
    }
    if (!key.startsWith(prefix)) continue;
    const stat = await fs.stat(path.join(root, id, 'key'));
    uploads.push({ key, id, initiated: stat.mtime });
  }
  uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated));
  const owner = '<ID>123456789000</ID><DisplayName>S3rver</DisplayName>';
  SendXml(
    ctx,
    200,
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${XmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
      `<NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>` +
      `<Prefix>${XmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      uploads
        .map(
          u =>
            `<Upload><Key>${XmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId>` +
            `<Initiator>${owner}</Initiator><Owner>${owner}</Owner>` +
            `<StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
        )
        .join('') +
      '</ListMultipartUploadsResult>',
  );
}

function XmlUnescape(text) {
  return text.replace(/&(quot|amp|lt|gt|apos|#\d+|#x[0-9a-fA-F]+);/g, (all, name) => {
    const named = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
    if (name in named) return named[name];
    return String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
  });
}

// The checks S3 makes on CompleteMultipartUpload that s3rver does not.
async function CheckCompletion(bucket, uploadId, body) {
  const xml = body.toString('utf8');
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, inner]) => ({
    number: Number((/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(inner) || [])[1]),
    etag: XmlUnescape((/<ETag>([\s\S]*?)<\/ETag>/.exec(inner) || [, ''])[1]).replace(/"/g, '').trim(),
  }));
  if (parts.length === 0 || parts.some(p => !Number.isInteger(p.number))) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    );
  }
  for (let i = 1; i < parts.length; ++i) {
    if (parts[i].number <= parts[i - 1].number) {
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', {
        UploadId: uploadId,
      });
    }
  }
  const dir = UploadDir(bucket, uploadId);
  for (const [i, part] of parts.entries()) {
    let md5;
    let size;
    try {
      md5 = (await fs.readFile(path.join(dir, `${part.number}.md5`), 'utf8')).trim();
      size = (await fs.stat(path.join(dir, String(part.number)))).size;
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    if (md5 === undefined || md5 !== part.etag) {
      throw new S3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: part.number, ETag: part.etag },
      );
    }
    if (i + 1 < parts.length && size < minPartSize) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
        UploadId: uploadId,
        PartNumber: part.number,
        ProposedSize: size,
        MinSizeAllowed: minPartSize,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// ListObjectsV2

function CompareKeys(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function InvalidArgument(name, value, message) {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

// s3rver's own lists keys in the order of a walk of its folders ("a/b" before "a.c", where
// S3 sorts by UTF-8 bytes, so pages could skip keys) and makes continuation tokens with DES,
// which OpenSSL 3 no longer offers. This one sorts as S3 does; its token is the last key or
// common prefix returned, in base64.
async function ListObjectsV2(ctx, bucket) {
  await RequireBucket(bucket);
  const query = ctx.query;
  const prefix = query.prefix || '';
  const delimiter = query.delimiter || '';
  let maxKeys = 1000;
  if ('max-keys' in query) {
    maxKeys = Number(query['max-keys']);
    if (!/^\d+$/.test(query['max-keys']) || maxKeys > 2147483647) {
      throw InvalidArgument('max-keys', query['max-keys'], 'Provided max-keys not an integer or within integer range');
    }
    maxKeys = Math.min(maxKeys, 1000);
  }
  const encoding = query['encoding-type'];
  if (encoding !== undefined && encoding !== 'url') {
    throw InvalidArgument('encoding-type', encoding, 'Invalid Encoding Method specified in Request');
  }
  const startAfter = query['start-after'] || '';
  let resumeAfter = '';
  if ('continuation-token' in query) {
    resumeAfter = Buffer.from(String(query['continuation-token']), 'base64').toString('utf8');
    if (!resumeAfter.startsWith(prefix) || !resumeAfter) {
      throw InvalidArgument('continuation-token', query['continuation-token'], 'The continuation token provided is incorrect');
    }
  }

  const { objects } = await server.store.listObjects(bucket, { prefix });
  objects.sort((a, b) => CompareKeys(a.key, b.key));
  // Keys and common prefixes in S3's order; a common prefix stands where its first key would.
  const entries = [];
  for (const object of objects) {
    if (startAfter && CompareKeys(object.key, startAfter) <= 0) continue;
    const cut = delimiter ? object.key.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) {
      const common = object.key.slice(0, cut + delimiter.length);
      if (entries.length === 0 || entries[entries.length - 1].prefix !== common) {
        entries.push({ prefix: common, name: common });
      }
    } else {
      entries.push({ object, name: object.key });
    }
  }
  const remaining = resumeAfter ? entries.filter(e => CompareKeys(e.name, resumeAfter) > 0) : entries;
  const page = remaining.slice(0, maxKeys);
  const truncated = remaining.length > page.length;

  const text = value => XmlEscape(encoding === 'url' ? encodeURIComponent(value).replace(/%2F/g, '/') : value);
  const owner = query['fetch-owner'] === 'true'
    ? '<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>'
    : '';
  let xml =
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>${XmlEscape(bucket)}</Name><Prefix>${text(prefix)}</Prefix>` +
    (delimiter ? `<Delimiter>${text(delimiter)}</Delimiter>` : '') +
    `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${page.length}</KeyCount>` +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (encoding ? `<EncodingType>${encoding}</EncodingType>` : '') +
    ('continuation-token' in query ? `<ContinuationToken>${XmlEscape(query['continuation-token'])}</ContinuationToken>` : '') +
    (truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1].name, 'utf8').toString('base64')}</NextContinuationToken>` : '') +
    (startAfter ? `<StartAfter>${text(startAfter)}</StartAfter>` : '');
  for (const entry of page) {
    if (entry.object) {
      const o = entry.object;
      xml +=
        `<Contents><Key>${text(o.key)}</Key><LastModified>${o.lastModifiedDate.toISOString()}</LastModified>` +
        `<ETag>${XmlEscape(o.metadata.etag)}</ETag><Size>${o.size}</Size>${owner}` +
        '<StorageClass>STANDARD</StorageClass></Contents>';
    }
  }
  for (const entry of page) {
    if (entry.prefix) xml += `<CommonPrefixes><Prefix>${text(entry.prefix)}</Prefix></CommonPrefixes>`;
  }
  SendXml(ctx, 200, xml + '</ListBucketResult>');
}

// ---------------------------------------------------------------------------------------

// Serves what s3rver lacks or gets wrong; returns false to let s3rver serve the request.
async function ServeMissing(ctx, body) {
  const { bucket, key } = BucketAndKey(ctx);
  const query = ctx.query;
  if (!key) {
    if (ctx.method === 'GET' && 'uploads' in query) {
      await ListMultipartUploads(ctx, bucket);
      return true;
    }
    if (ctx.method === 'GET' && query['list-type'] === '2' && bucket) {
      await ListObjectsV2(ctx, bucket);
      return true;
    }
    return false;
  }
  if (!('uploadId' in query)) return false;
  await RequireBucket(bucket);
  const uploadId = String(query.uploadId);
  await RequireUpload(bucket, key, uploadId);
  switch (ctx.method) {
    case 'DELETE':
      await fs.rm(UploadDir(bucket, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return true;
    case 'PUT': {
      const number = Number(query.partNumber);
      if (!Number.isInteger(number) || number < 1 || number > kMaxPartNumber) {
        throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${kMaxPartNumber}, inclusive`, {
          ArgumentName: 'partNumber',
          ArgumentValue: query.partNumber,
        });
      }
      return false;
    }
    case 'POST':
      await CheckCompletion(bucket, uploadId, body);
      return false;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------

// s3rver answers a PutObject or UploadPart once it has handed the bytes to a file stream,
// not once the file holds them, so a CompleteMultipartUpload or GET right after can see a
// short file. S3 acknowledges only what it stored: wait until the file has every byte.
async function WaitUntilWritten(ctx, { bucket, key }, length) {
  if (ctx.method !== 'PUT' || ctx.status < 200 || ctx.status > 299) return;
  if (!bucket || !key || 'x-amz-copy-source' in ctx.headers) return;
  const query = ctx.query;
  const file =
    'uploadId' in query
      ? path.join(UploadDir(bucket, String(query.uploadId)), String(Number(query.partNumber)))
      : server.store.getResourcePath(bucket, key, 'object');
  const deadline = Date.now() + 30000;
  for (;;) {
    let size = -1;
    try {
      size = (await fs.stat(file)).size;
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    if (size >= length) return;
    if (Date.now() > deadline) throw new Error(`${file} holds ${size} of ${length} bytes after 30 s`);
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

// Closes the connection of a request without an answer (S3_SERVER_FAULT).
function DropAnswer(ctx, socket) {
  ctx.respond = false;
  socket.destroy();
}

async function S3Checks(ctx, next) {
  const started = Date.now();
  const socket = ctx.req.socket;  // ctx.req is replaced below
  let outcome;
  try {
    const signing = VerifySignature(ctx);
    const body = await CheckBody(ctx, signing);
    const completion = ctx.method === 'POST' && 'uploadId' in ctx.query;
    const injected = completion ? fault : '';
    if (injected) fault = '';
    if (injected === 'upload-lost') {
      const { bucket } = BucketAndKey(ctx);
      await fs.rm(UploadDir(bucket, String(ctx.query.uploadId)), { recursive: true, force: true });
      DropAnswer(ctx, socket);
      outcome = 'upload aborted, answer dropped (S3_SERVER_FAULT)';
      return;
    }
    if (!(await ServeMissing(ctx, body))) {
      const target = BucketAndKey(ctx);  // from ctx.req, which is replaced next
      ctx.req = Readable.from(body.length ? [body] : []);
      await next();
      await WaitUntilWritten(ctx, target, body.length);
    }
    if (injected === 'complete-response-lost') {
      outcome = `${ctx.status}, answer dropped (S3_SERVER_FAULT)`;
      DropAnswer(ctx, socket);
      return;
    }
    outcome = String(ctx.status);
  } catch (err) {
    outcome = `${err.status || 500} ${err.code || err.message}`;
    throw err;
  } finally {
    process.stderr.write(
      `${new Date().toISOString()} ${ctx.method} ${ctx.url} ${outcome} ${Date.now() - started}ms\n`,
    );
  }
}

const server = new S3rver({
  directory,
  address: options.address,
  port,
  silent: true,
  vhostBuckets: false,
});
// Koa composes its middleware when the server starts listening: this runs before s3rver's.
server.middleware.unshift(S3Checks);
server.on('error', (err, ctx) => {
  if (!(err instanceof S3Error) || err.status >= 500) {
    process.stderr.write(`s3-server: ${ctx ? `${ctx.method} ${ctx.url}: ` : ''}${err.stack || err}\n`);
  }
});

try {
  const address = await server.run();
  process.stdout.write(`S3 server listening on http://${address.address}:${address.port}\n`);
} catch (err) {
  process.stderr.write(`s3-server: cannot listen on ${options.address}:${port}: ${err.message}\n`);
  process.exit(1);
}
