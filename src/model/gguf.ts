/**
 * GGUF header reader (format: ../shared/docs/models.md §2.1).
 *
 * Only the header (metadata + tensor infos) is parsed. It is read incrementally with fs.readSync
 * into a growing buffer, so opening a multi-GB file for its metadata costs a few MB of I/O; the
 * tensor data itself is memory-mapped later by the loader.
 *
 * Metadata value representation (the values of `GgufFile.metadata`):
 * - integers of any width (u8…u64, i8…i64) → number (64-bit values via Number(); values beyond
 *   2^53 lose precision, which no hyperparameter or token id reaches)
 * - f32 / f64 → number
 * - bool → boolean
 * - string → string
 * - array → plain JS array of the above (string[] for token lists, number[] for scores / token
 *   types; nested arrays become nested JS arrays)
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface GgufTensorInfo {
  name: string;
  /** ne: the shape with the fastest-varying (contiguous) dimension first — PyTorch shape reversed */
  dims: number[];
  /** ggml type id (see GgmlType in ../native/types.ts and weights-format.ts) */
  type: number;
  /** byte offset relative to GgufFile.dataOffset */
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, unknown>;
  tensors: GgufTensorInfo[];
  /** absolute file offset of the tensor data section */
  dataOffset: number;
  alignment: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as u32 LE
const DEFAULT_ALIGNMENT = 32;
/** GGML_MAX_DIMS in ggml */
const MAX_DIMS = 4;

/** GGUF metadata value types (gguf_type). */
enum ValueType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

/**
 * Sequential little-endian reader over the beginning of a file. Bytes are pulled in with readSync
 * on demand; the buffer doubles when it runs out, so parsing is linear in the header size.
 */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private filled = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly path: string,
  ) {}

  private need(n: number, what: string): void {
    const end = this.pos + n;
    if (end <= this.filled) return;
    if (end > this.fileSize) {
      throw new Error(
        `${this.path}: truncated GGUF file (reading ${what} at byte ${this.pos}, file has ${this.fileSize} bytes)`,
      );
    }
    let size = Math.max(this.buf.length * 2, 1 << 20);
    while (size < end) size *= 2;
    size = Math.min(size, this.fileSize);
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.filled);
    while (this.filled < size) {
      const got = readSync(this.fd, next, this.filled, size - this.filled, this.filled);
      if (got === 0) break;
      this.filled += got;
    }
    this.buf = next;
    if (end > this.filled) {
      throw new Error(`${this.path}: truncated GGUF file (reading ${what} at byte ${this.pos})`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }
  i8(what: string): number {
    this.need(1, what);
    return this.buf.readInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i16(what: string): number {
    this.need(2, what);
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f32(what: string): number {
    this.need(4, what);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  i64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  /** A count or length that must fit in the rest of the file (guards against absurd allocations). */
  count(what: string, minBytesEach: number, label = ''): number {
    const n = this.u64(what);
    if (n * minBytesEach > this.fileSize - this.pos) {
      throw new Error(
        `${this.path}: truncated or corrupt GGUF file (${what}${label} = ${n} at byte ${this.pos - 8} exceeds the file size)`,
      );
    }
    return n;
  }
  string(what: string): string {
    // (label passed separately: no string is built per token on the hot path)
    const len = this.count(what, 1, ' length');
    this.need(len, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

function readValue(r: HeaderReader, type: number, key: string): unknown {
  switch (type) {
    case ValueType.U8:
      return r.u8(key);
    case ValueType.I8:
      return r.i8(key);
    case ValueType.U16:
      return r.u16(key);
    case ValueType.I16:
      return r.i16(key);
    case ValueType.U32:
      return r.u32(key);
    case ValueType.I32:
      return r.i32(key);
    case ValueType.F32:
      return r.f32(key);
    case ValueType.Bool:
      return r.u8(key) !== 0;
    case ValueType.String:
      return r.string(key);
    case ValueType.U64:
      return r.u64(key);
    case ValueType.I64:
      return r.i64(key);
    case ValueType.F64:
      return r.f64(key);
    case ValueType.Array: {
      const elemType = r.u32(`${key} element type`);
      // every element takes at least one byte (strings at least their 8-byte length)
      const n = r.count(key, elemType === ValueType.String ? 8 : 1, ' array length');
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r, elemType, key);
      return out;
    }
    default:
      throw new Error(`metadata key ${key} has unknown GGUF value type ${type}`);
  }
}

/** Parse the header of a GGUF v2/v3 file. Throws on bad magic, v1, unknown versions and truncation. */
export function readGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const r = new HeaderReader(fd, fstatSync(fd).size, path);
    if (r.fileSize < 4 || r.u32('magic') !== GGUF_MAGIC) {
      throw new Error(`${path}: not a GGUF file (bad magic)`);
    }
    const version = r.u32('version');
    if (version === 1)
      throw new Error(`${path}: GGUF version 1 is not supported (32-bit counts); re-convert the model`);
    if (version !== 2 && version !== 3) throw new Error(`${path}: unsupported GGUF version ${version}`);

    // a tensor info is at least name length (8) + n_dims (4) + type (4) + offset (8) bytes
    const tensorCount = r.count('tensor count', 24);
    // a key/value is at least key length (8) + value type (4) + 1 byte
    const kvCount = r.count('metadata count', 13);

    const metadata = new Map<string, unknown>();
    for (let i = 0; i < kvCount; i++) {
      const key = r.string(`metadata key #${i}`);
      const type = r.u32(`type of ${key}`);
      if (metadata.has(key)) throw new Error(`${path}: duplicate GGUF metadata key ${key}`);
      metadata.set(key, readValue(r, type, key));
    }

    const alignment = metadata.has('general.alignment') ? metadata.get('general.alignment') : DEFAULT_ALIGNMENT;
    if (typeof alignment !== 'number' || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      throw new Error(`${path}: general.alignment must be a power of two, got ${String(alignment)}`);
    }

    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      const name = r.string(`tensor #${i} name`);
      const nDims = r.u32(`${name} n_dims`);
      if (nDims > MAX_DIMS) throw new Error(`${path}: tensor ${name} has ${nDims} dimensions (max ${MAX_DIMS})`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.u64(`${name} dims`));
      const type = r.u32(`${name} type`);
      const offset = r.u64(`${name} offset`);
      if (offset % alignment !== 0)
        throw new Error(`${path}: tensor ${name} offset ${offset} is not aligned to ${alignment}`);
      if (names.has(name)) throw new Error(`${path}: duplicate tensor name ${name}`);
      names.add(name);
      tensors.push({ name, dims, type, offset });
    }

    const dataOffset = Math.ceil(r.pos / alignment) * alignment;
    return { version, metadata, tensors, dataOffset, alignment };
  } finally {
    closeSync(fd);
  }
}
