#!/usr/bin/env node
// An S3 client for tests, independent of walflow's own: the AWS SDK for JavaScript v3,
// path-style requests.
//
//   node s3.mjs [options] COMMAND ARGS...
//
//   create-bucket BUCKET
//   list BUCKET [PREFIX]            every key under PREFIX (all pages), "KEY<TAB>SIZE" a line
//   get BUCKET KEY                  the object's bytes, to stdout
//   head BUCKET KEY                 size, ETag, content type and user metadata, as JSON
//   put BUCKET KEY FILE             FILE '-' reads stdin
//   delete BUCKET KEY
//   download BUCKET PREFIX DIR      every object under PREFIX into DIR, at its key's path
//                                   after PREFIX's last '/' (as `aws s3 cp --recursive`);
//                                   prints the files written, one a line
//   list-multipart BUCKET [PREFIX]  in-progress multipart uploads, "KEY<TAB>UPLOAD_ID" a line
//   create-multipart BUCKET KEY     prints the upload id
//   upload-part BUCKET KEY UPLOAD_ID PART_NUMBER FILE     prints the part's ETag
//   complete-multipart BUCKET KEY UPLOAD_ID PART_NUMBER:ETAG...   prints the object's ETag
//   abort-multipart BUCKET KEY UPLOAD_ID
//
// Options (each falls back to the environment variable named, then to the default):
//   --endpoint URL        AWS_ENDPOINT_URL (required)
//   --region REGION       AWS_REGION, us-east-1
//   --access-key ID       AWS_ACCESS_KEY_ID (required)
//   --secret-key SECRET   AWS_SECRET_ACCESS_KEY (required)
//   --timeout-ms N        connection and request timeout, 30000
//   --page-size N         keys per ListObjectsV2 page, 1000
//   --json                list, list-multipart: one JSON object a line instead
//
// Failures: a message on stderr naming the S3 error code and HTTP status, exit status 1
// (2 for a usage error). Requests are not retried.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

class UsageError extends Error {}

// The SDK warns on stderr about Node.js releases it will stop supporting; the lock file
// pins a release that supports this one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values: options, positionals } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    region: { type: 'string' },
    'access-key': { type: 'string' },
    'secret-key': { type: 'string' },
    'timeout-ms': { type: 'string', default: '30000' },
    'page-size': { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
  allowPositionals: true,
  strict: true,
});

function Setting(option, variable, fallback) {
  const value = options[option] ?? process.env[variable] ?? fallback;
  if (value === undefined || value === '') {
    throw new UsageError(`--${option} (or ${variable}) is required`);
  }
  return value;
}

function Client() {
  const timeout = Number(options['timeout-ms']);
  return new S3Client({
    endpoint: Setting('endpoint', 'AWS_ENDPOINT_URL'),
    region: Setting('region', 'AWS_REGION', 'us-east-1'),
    credentials: {
      accessKeyId: Setting('access-key', 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: Setting('secret-key', 'AWS_SECRET_ACCESS_KEY'),
    },
    forcePathStyle: true,
    maxAttempts: 1,
    // Plain bodies, signed with their SHA-256: no aws-chunked encoding with trailing checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: timeout, requestTimeout: timeout, throwOnRequestTimeout: true },
  });
}

function Write(data) {
  return new Promise((resolve, reject) =>
    process.stdout.write(data, err => (err ? reject(err) : resolve())),
  );
}

async function ReadInput(file) {
  if (file !== '-') return fs.readFile(file);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* Objects(client, bucket, prefix) {
  const pageSize = Number(options['page-size']);
  const pages = paginateListObjectsV2({ client, pageSize }, { Bucket: bucket, Prefix: prefix });
  for await (const page of pages) {
    for (const object of page.Contents ?? []) yield object;
  }
}

// `key` as a path below `dir`; refuses keys that would leave it.
function LocalPath(dir, prefix, key) {
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  const relative = key.slice(base.length);
  const segments = relative.split('/');
  if (relative === '' || segments.some(s => s === '' || s === '.' || s === '..')) {
    throw new Error(`key '${key}' cannot be stored as a file below ${dir}`);
  }
  return path.join(dir, ...segments);
}

const commands = {
  'create-bucket': async (client, [bucket]) => {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  },

  list: async (client, [bucket, prefix = '']) => {
    for await (const object of Objects(client, bucket, prefix)) {
      await Write(
        options.json
          ? JSON.stringify({
              key: object.Key,
              size: object.Size,
              etag: object.ETag,
              last_modified: object.LastModified?.toISOString(),
            }) + '\n'
          : `${object.Key}\t${object.Size}\n`,
      );
    }
  },

  get: async (client, [bucket, key]) => {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await Write(Buffer.from(await response.Body.transformToByteArray()));
  },

  head: async (client, [bucket, key]) => {
    const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    await Write(
      JSON.stringify({
        size: r.ContentLength,
        etag: r.ETag,
        content_type: r.ContentType,
        last_modified: r.LastModified?.toISOString(),
        metadata: r.Metadata ?? {},
      }) + '\n',
    );
  },

  put: async (client, [bucket, key, file]) => {
    const body = await ReadInput(file);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  },

  delete: async (client, [bucket, key]) => {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  },

  download: async (client, [bucket, prefix, dir]) => {
    for await (const object of Objects(client, bucket, prefix)) {
      if (object.Key.endsWith('/')) continue;  // a folder marker, no file
      const file = LocalPath(dir, prefix, object.Key);
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, await response.Body.transformToByteArray());
      await Write(`${file}\n`);
    }
  },

  'list-multipart': async (client, [bucket, prefix = '']) => {
    let keyMarker;
    let uploadIdMarker;
    for (;;) {
      const page = await client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        await Write(
          options.json
            ? JSON.stringify({
                key: upload.Key,
                upload_id: upload.UploadId,
                initiated: upload.Initiated?.toISOString(),
              }) + '\n'
            : `${upload.Key}\t${upload.UploadId}\n`,
        );
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  },

  'create-multipart': async (client, [bucket, key]) => {
    const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await Write(`${r.UploadId}\n`);
  },

  'upload-part': async (client, [bucket, key, uploadId, partNumber, file]) => {
    const r = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: Number(partNumber),
        Body: await ReadInput(file),
      }),
    );
    await Write(`${r.ETag}\n`);
  },

  'complete-multipart': async (client, [bucket, key, uploadId, ...parts]) => {
    const Parts = parts.map(part => {
      const colon = part.indexOf(':');
      if (colon < 0) throw new UsageError(`'${part}' is not PART_NUMBER:ETAG`);
      return { PartNumber: Number(part.slice(0, colon)), ETag: part.slice(colon + 1) };
    });
    const r = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts },
      }),
    );
    await Write(`${r.ETag}\n`);
  },

  'abort-multipart': async (client, [bucket, key, uploadId]) => {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  },
};

// Positional arguments each command needs (at least) and allows (at most).
const arity = {
  'create-bucket': [1, 1],
  list: [1, 2],
  get: [2, 2],
  head: [2, 2],
  put: [3, 3],
  delete: [2, 2],
  download: [3, 3],
  'list-multipart': [1, 2],
  'create-multipart': [2, 2],
  'upload-part': [5, 5],
  'complete-multipart': [4, Infinity],
  'abort-multipart': [3, 3],
};

function Describe(err) {
  const status = err.$metadata?.httpStatusCode;
  const code = err.Code ?? err.name;
  return status ? `${code} (HTTP ${status}): ${err.message}` : `${code}: ${err.message}`;
}

const [command, ...args] = positionals;
try {
  if (!(command in commands)) {
    throw new UsageError(
      `unknown command '${command ?? ''}'; one of: ${Object.keys(commands).join(', ')}`,
    );
  }
  const [least, most] = arity[command];
  if (args.length < least || args.length > most) {
    throw new UsageError(`${command}: wrong number of arguments (${args.length})`);
  }
  await commands[command](Client(), args);
} catch (err) {
  const where = args.length ? ` s3://${args.slice(0, 2).join('/')}` : '';
  process.stderr.write(`s3.mjs ${command ?? ''}${where}: ${err instanceof UsageError ? err.message : Describe(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
