/**
 * safetensors header reading (models.md §3): `u64 LE header length` + JSON header + data buffer,
 * single-file or sharded through `model.safetensors.index.json`. Only the headers are read here;
 * the loader maps the files and takes views of the byte ranges recorded below.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The reference implementation refuses larger headers; so do we. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Element size of every dtype the format defines (used to validate byte ranges). */
export const DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** the file holding it */
  file: string;
  /** absolute byte range in `file` (end exclusive) */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  path: string;
  /** absolute offset of the data buffer (8 + header length) */
  dataOffset: number;
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A model's tensors across all its shards. */
export interface SafetensorsModel {
  files: string[];
  tensors: Map<string, SafetensorsTensor>;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Read and validate one file's header (8 + N bytes; the data is not read). */
export function readSafetensorsHeader(path: string): SafetensorsFile {
  const fd = openSync(path, 'r');
  let header: string;
  let fileSize: number;
  let headerLen: number;
  try {
    fileSize = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (fileSize < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new Error(`${path}: truncated safetensors file`);
    const len = lenBuf.readBigUInt64LE(0);
    if (len > BigInt(MAX_HEADER_BYTES))
      throw new Error(`${path}: safetensors header of ${len} bytes exceeds the 100 MB limit`);
    const n = Number(len);
    headerLen = n;
    if (8 + n > fileSize)
      throw new Error(`${path}: truncated safetensors file (header of ${n} bytes, file has ${fileSize})`);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, 8 + got);
      if (r === 0) throw new Error(`${path}: truncated safetensors header`);
      got += r;
    }
    header = buf.toString('utf8');
  } finally {
    closeSync(fd);
  }

  const dataOffset = 8 + headerLen;
  let json: unknown;
  try {
    // JSON.parse accepts the trailing-space padding writers add. (Duplicate keys, illegal in the
    // format, are not detected: JSON.parse keeps the last.)
    json = JSON.parse(header);
  } catch (e) {
    throw new Error(`${path}: invalid safetensors header JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${path}: safetensors header is not a JSON object`);
  }

  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const { dtype, shape, data_offsets: offs } = info ?? {};
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !shape.every(isUint) || !Array.isArray(offs)) {
      throw new Error(`${path}: malformed header entry for tensor ${name}`);
    }
    const [b, e] = offs as unknown[];
    if (offs.length !== 2 || !isUint(b) || !isUint(e) || e < b) {
      throw new Error(`${path}: tensor ${name} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const itemSize = DTYPE_SIZE[dtype];
    if (itemSize !== undefined) {
      const numel = shape.reduce((a: number, d: number) => a * d, 1);
      if (e - b !== numel * itemSize) {
        throw new Error(
          `${path}: tensor ${name} (${dtype} ${JSON.stringify(shape)}) needs ${numel * itemSize} bytes but data_offsets span ${e - b}`,
        );
      }
    }
    // unknown dtypes (new exotic formats) are kept; the loader rejects them if they are used
    if (dataOffset + e > fileSize)
      throw new Error(`${path}: truncated safetensors file (tensor ${name} ends past the end)`);
    ranges.push([b, e, name]);
    tensors.set(name, { name, dtype, shape, file: path, begin: dataOffset + b, end: dataOffset + e });
  }

  // The data buffer must be covered without overlaps (zero-size tensors may share an offset).
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let cursor = 0;
  for (const [b, e, name] of ranges) {
    if (b < cursor) throw new Error(`${path}: tensor ${name} overlaps the previous tensor's data`);
    if (b > cursor) throw new Error(`${path}: hole in the data buffer before tensor ${name}`);
    cursor = e;
  }
  return { path, dataOffset, tensors, metadata };
}

/**
 * Open a model's safetensors: `path` is a directory holding `model.safetensors` or
 * `model.safetensors.index.json`, or a single .safetensors / index file.
 */
export function openSafetensors(path: string): SafetensorsModel {
  let indexPath: string | undefined;
  let single: string | undefined;
  if (path.endsWith('.index.json')) indexPath = path;
  else if (path.endsWith('.safetensors')) single = path;
  else if (existsSync(join(path, 'model.safetensors.index.json')))
    indexPath = join(path, 'model.safetensors.index.json');
  else if (existsSync(join(path, 'model.safetensors'))) single = join(path, 'model.safetensors');
  else throw new Error(`${path}: no model.safetensors or model.safetensors.index.json`);

  if (single) {
    const f = readSafetensorsHeader(single);
    return { files: [single], tensors: f.tensors };
  }

  const index = JSON.parse(readFileSync(indexPath!, 'utf8')) as { weight_map?: Record<string, string> };
  const weightMap = index.weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw new Error(`${indexPath}: no weight_map`);
  const dir = dirname(indexPath!);
  const shards = [...new Set(Object.values(weightMap))];
  const tensors = new Map<string, SafetensorsTensor>();
  const files: string[] = [];
  for (const shard of shards) {
    if (shard.includes('/') || shard.includes('\\'))
      throw new Error(`${indexPath}: shard name ${shard} must be a plain file name`);
    const file = join(dir, shard);
    files.push(file);
    for (const [name, t] of readSafetensorsHeader(file).tensors) {
      if (tensors.has(name)) throw new Error(`${indexPath}: tensor ${name} appears in more than one shard`);
      tensors.set(name, t);
    }
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    const t = tensors.get(name);
    if (!t || t.file !== join(dir, shard)) throw new Error(`${indexPath}: tensor ${name} is not in shard ${shard}`);
  }
  return { files, tensors };
}
