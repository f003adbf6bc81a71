/**
 * GGUF building for tests: small files with chosen metadata and tensors so that error paths
 * (unsupported types, truncation, bad magic, missing tensors) can be exercised. The encoding is
 * src/model/writers/gguf-writer.ts; this file only adapts it to in-memory tensor lists.
 */
import { writeFileSync } from 'node:fs';
import { buildGgufBuffer, type GgufKv } from '../../src/model/writers/gguf-writer.ts';

export type { GgufKv };

export interface GgufTensorSpec {
  name: string;
  /** ne, fastest first */
  dims: number[];
  type: number;
  data: Uint8Array;
}

/** Serialize a GGUF file (alignment from general.alignment, default 32) into a Buffer. */
export function buildGguf(kvs: GgufKv[], tensors: GgufTensorSpec[], version = 3): Buffer {
  return buildGgufBuffer(kvs, tensors, version);
}

export function writeGguf(path: string, kvs: GgufKv[], tensors: GgufTensorSpec[]): void {
  writeFileSync(path, buildGguf(kvs, tensors));
}

/** F32 tensor bytes from numbers. */
export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
