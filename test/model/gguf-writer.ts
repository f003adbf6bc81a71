/**
 * Minimal GGUF v3 writer for tests: builds small files with chosen metadata and tensors so that
 * error paths (unsupported types, truncation, bad magic, missing tensors) can be exercised.
 */
import { writeFileSync } from 'node:fs';

/** Metadata value with its GGUF value type (4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64). */
export type GgufKv =
  | { key: string; type: 'u32' | 'i32' | 'u64' | 'f32'; value: number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'string[]'; value: string[] }
  | { key: string; type: 'f32[]' | 'i32[]'; value: number[] };

export interface GgufTensorSpec {
  name: string;
  /** ne, fastest first */
  dims: number[];
  type: number;
  data: Uint8Array;
}

class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeKv(out: Bytes, kv: GgufKv): void {
  out.str(kv.key);
  switch (kv.type) {
    case 'u32':
      out.u32(4);
      out.u32(kv.value);
      break;
    case 'i32':
      out.u32(5);
      out.i32(kv.value);
      break;
    case 'f32':
      out.u32(6);
      out.f32(kv.value);
      break;
    case 'bool':
      out.u32(7);
      out.push(Buffer.from([kv.value ? 1 : 0]));
      break;
    case 'string':
      out.u32(8);
      out.str(kv.value);
      break;
    case 'u64':
      out.u32(10);
      out.u64(kv.value);
      break;
    case 'string[]':
      out.u32(9);
      out.u32(8);
      out.u64(kv.value.length);
      for (const s of kv.value) out.str(s);
      break;
    case 'f32[]':
      out.u32(9);
      out.u32(6);
      out.u64(kv.value.length);
      for (const v of kv.value) out.f32(v);
      break;
    case 'i32[]':
      out.u32(9);
      out.u32(5);
      out.u64(kv.value.length);
      for (const v of kv.value) out.i32(v);
      break;
  }
}

/** Serialize a GGUF v3 file (alignment 32) into a Buffer. */
export function buildGguf(kvs: GgufKv[], tensors: GgufTensorSpec[], version = 3): Buffer {
  const align = 32;
  const out = new Bytes();
  out.push(Buffer.from('GGUF', 'latin1'));
  out.u32(version);
  out.u64(tensors.length);
  out.u64(kvs.length);
  for (const kv of kvs) writeKv(out, kv);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.type);
    out.u64(offset);
    offsets.push(offset);
    offset = Math.ceil((offset + t.data.length) / align) * align;
  }
  const headerPad = Math.ceil(out.length / align) * align - out.length;
  out.push(Buffer.alloc(headerPad));
  const data = Buffer.alloc(offset);
  tensors.forEach((t, i) => {
    data.set(t.data, offsets[i]);
  });
  out.push(data);
  return out.concat();
}

export function writeGguf(path: string, kvs: GgufKv[], tensors: GgufTensorSpec[]): void {
  writeFileSync(path, buildGguf(kvs, tensors));
}

/** F32 tensor bytes from numbers. */
export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
