/**
 * GGUF v3 writer (format: ../shared/docs/models.md §2.1), the counterpart of ../gguf.ts.
 *
 * The header (metadata + tensor infos) is encoded in memory — it is small even with a 100k-token
 * vocabulary — and the tensor data is streamed: `GgufWriter.create` writes the header, then each
 * tensor's bytes are passed in order, in as many chunks as the caller likes (see tensor-file.ts).
 * Offsets are multiples of `general.alignment` (32 unless the metadata says otherwise) and the
 * gaps are zero bytes, as llama.cpp writes them.
 */
import { ggmlRowBytes } from '../../native/reference.ts';
import type { GgmlType } from '../../native/types.ts';
import { TensorFileWriter, type TensorSlot } from './tensor-file.ts';

type NumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64';

/** One metadata key/value with its GGUF value type. 64-bit integers may be given as bigint. */
export type GgufKv =
  | { key: string; type: NumberType; value: number | bigint }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: `${NumberType}[]`; value: ArrayLike<number | bigint> }
  | { key: string; type: 'bool[]'; value: readonly boolean[] }
  | { key: string; type: 'string[]'; value: readonly string[] };

export interface GgufTensorDecl {
  name: string;
  /** ne: the PyTorch shape reversed (fastest-varying first) */
  dims: number[];
  /** ggml type id */
  type: GgmlType | number;
  /** byte size; computed from dims and type when omitted (required for types without a known block layout) */
  bytes?: number;
}

export interface GgufHeader {
  /** magic … tensor infos, zero-padded to the alignment: the data section starts right after */
  header: Buffer;
  /** each tensor's offset relative to the data section */
  offsets: number[];
  /** byte sizes, in declaration order */
  sizes: number[];
  /** size of the data section, padded to the alignment */
  dataSize: number;
  alignment: number;
}

/** gguf_type ids */
const TYPE_ID: Record<NumberType | 'bool' | 'string', number> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  u64: 10,
  i64: 11,
  f64: 12,
};
const ARRAY = 9;
const DEFAULT_ALIGNMENT = 32;

/** A little-endian byte builder that doubles its buffer as it fills. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    this.ensure(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }
  number(type: NumberType, v: number | bigint, key: string): void {
    const fits = (lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
    this.ensure(8);
    const b = this.buf;
    const at = this.length;
    switch (type) {
      case 'u8':
      case 'i8':
      case 'u16':
      case 'i16':
      case 'u32':
      case 'i32': {
        const bits = Number(type.slice(1));
        const signed = type[0] === 'i';
        const [lo, hi] = signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
        if (!fits(lo, hi)) throw new RangeError(`GGUF key ${key}: ${String(v)} is not a ${type}`);
        if (signed) b.writeIntLE(v as number, at, bits / 8);
        else b.writeUIntLE(v as number, at, bits / 8);
        this.length += bits / 8;
        return;
      }
      case 'u64':
        b.writeBigUInt64LE(BigInt(v), at);
        this.length += 8;
        return;
      case 'i64':
        b.writeBigInt64LE(BigInt(v), at);
        this.length += 8;
        return;
      case 'f32':
        b.writeFloatLE(Number(v), at);
        this.length += 4;
        return;
      case 'f64':
        b.writeDoubleLE(Number(v), at);
        this.length += 8;
        return;
    }
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeKv(w: ByteWriter, kv: GgufKv): void {
  w.string(kv.key);
  if (kv.type.endsWith('[]')) {
    const elem = kv.type.slice(0, -2) as NumberType | 'bool' | 'string';
    w.u32(ARRAY);
    w.u32(TYPE_ID[elem]);
    const values = kv.value as ArrayLike<unknown>;
    w.u64(values.length);
    for (let i = 0; i < values.length; i++) writeScalar(w, elem, values[i], kv.key);
    return;
  }
  const type = kv.type as NumberType | 'bool' | 'string';
  w.u32(TYPE_ID[type]);
  writeScalar(w, type, kv.value, kv.key);
}

function writeScalar(w: ByteWriter, type: NumberType | 'bool' | 'string', v: unknown, key: string): void {
  if (type === 'string') {
    if (typeof v !== 'string') throw new TypeError(`GGUF key ${key}: expected a string, got ${typeof v}`);
    w.string(v);
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') throw new TypeError(`GGUF key ${key}: expected a boolean, got ${typeof v}`);
    w.bytes(Uint8Array.of(v ? 1 : 0));
  } else {
    if (typeof v !== 'number' && typeof v !== 'bigint')
      throw new TypeError(`GGUF key ${key}: expected a number, got ${typeof v}`);
    w.number(type, v, key);
  }
}

/** Byte size of a tensor of a ggml type with a known block layout. */
export function ggufTensorBytes(dims: readonly number[], type: GgmlType): number {
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return rows * ggmlRowBytes(type, dims[0] ?? 1);
}

function alignmentOf(kvs: readonly GgufKv[]): number {
  const kv = kvs.find((k) => k.key === 'general.alignment');
  const a = kv === undefined ? DEFAULT_ALIGNMENT : Number(kv.value);
  if (!Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0)
    throw new RangeError(`general.alignment must be a power of two, got ${String(kv?.value)}`);
  return a;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Encode the header and lay out the data section (no tensor data is touched). */
export function encodeGgufHeader(kvs: readonly GgufKv[], tensors: readonly GgufTensorDecl[], version = 3): GgufHeader {
  const keys = new Set<string>();
  for (const kv of kvs) {
    if (keys.has(kv.key)) throw new Error(`duplicate GGUF metadata key ${kv.key}`);
    keys.add(kv.key);
  }
  const alignment = alignmentOf(kvs);
  const w = new ByteWriter();
  w.bytes(Buffer.from('GGUF', 'latin1'));
  w.u32(version);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) writeKv(w, kv);

  const offsets: number[] = [];
  const sizes: number[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`duplicate GGUF tensor name ${t.name}`);
    names.add(t.name);
    const size = t.bytes ?? ggufTensorBytes(t.dims, t.type);
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  w.zeros(alignUp(w.length, alignment) - w.length);
  return { header: w.result(), offsets, sizes, dataSize: offset, alignment };
}

/**
 * Streams a GGUF file: create() writes the header, write() takes each tensor's bytes in
 * declaration order (any number of chunks per tensor), finish() completes the file.
 */
export class GgufWriter {
  private constructor(
    private readonly file: TensorFileWriter,
    readonly layout: GgufHeader,
  ) {}

  static create(path: string, kvs: readonly GgufKv[], tensors: readonly GgufTensorDecl[], version = 3): GgufWriter {
    const layout = encodeGgufHeader(kvs, tensors, version);
    const base = layout.header.length;
    const slots: TensorSlot[] = tensors.map((t, i) => ({
      name: t.name,
      offset: base + layout.offsets[i],
      bytes: layout.sizes[i],
    }));
    return new GgufWriter(new TensorFileWriter(path, layout.header, slots, base + layout.dataSize), layout);
  }

  /** The tensor the next chunk belongs to. */
  get current(): string | undefined {
    return this.file.current;
  }

  write(name: string, chunk: Uint8Array): void {
    this.file.write(name, chunk);
  }

  finish(): void {
    this.file.finish();
  }

  abort(): void {
    this.file.abort();
  }
}

/** A whole GGUF file in memory (for tests and small files): header followed by the padded data. */
export function buildGgufBuffer(
  kvs: readonly GgufKv[],
  tensors: readonly (GgufTensorDecl & { data: Uint8Array })[],
  version = 3,
): Buffer {
  for (const t of tensors) {
    if (t.bytes !== undefined && t.bytes !== t.data.length)
      throw new Error(`tensor ${t.name}: bytes ${t.bytes} ≠ data length ${t.data.length}`);
  }
  const layout = encodeGgufHeader(
    kvs,
    tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, bytes: t.data.length })),
    version,
  );
  const out = Buffer.alloc(layout.header.length + layout.dataSize);
  layout.header.copy(out);
  tensors.forEach((t, i) => {
    out.set(t.data, layout.header.length + layout.offsets[i]);
  });
  return out;
}
