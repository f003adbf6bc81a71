/** Test helpers for the model loaders: decoding rows, bf16 rounding, and tiny safetensors/GGUF writers. */
import { writeFileSync } from 'node:fs';
import { GgmlType, type WeightMatrix } from '../../src/native/types.ts';
import { type GgufKv, type GgufTensorSpec, buildGguf, f32Bytes } from './gguf-writer.ts';

const dv = new DataView(new ArrayBuffer(4));

export function bf16BitsToF32(b: number): number {
  dv.setUint32(0, b << 16);
  return dv.getFloat32(0);
}

/** Round an f32 value to the nearest bf16 (ties to even), returned as f32. */
export function roundToBf16(x: number): number {
  dv.setFloat32(0, x);
  const bits = dv.getUint32(0);
  const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  return bf16BitsToF32(rounded);
}

/** Row r of an F32 or BF16 matrix as numbers (written independently of the loader's decoder). */
export function row(w: WeightMatrix, r: number): Float32Array {
  const view = new DataView(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  const out = new Float32Array(w.cols);
  for (let c = 0; c < w.cols; c++) {
    const i = r * w.cols + c;
    if (w.type === GgmlType.F32) out[c] = view.getFloat32(4 * i, true);
    else if (w.type === GgmlType.BF16) out[c] = bf16BitsToF32(view.getUint16(2 * i, true));
    else throw new Error(`test helper cannot decode type ${w.type}`);
  }
  return out;
}

export function rows(w: WeightMatrix): Float32Array[] {
  return Array.from({ length: w.rows }, (_, r) => row(w, r));
}

/** A minimal safetensors writer: tensors are [name, dtype, shape, bytes]. */
export function writeSafetensors(
  path: string,
  tensors: [string, string, number[], Uint8Array][],
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...tensors.map((t) => Buffer.from(t[3]))]));
}

/** Deterministic pseudo-random F32 values. */
export function randomF32(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/**
 * A tiny but complete 1-layer `llama` GGUF (H 32, 2 heads of 16, 1 KV head, FFN 64, vocab 8, all F32).
 * `edit` may change the metadata and tensor list before writing.
 */
export function writeTinyGguf(path: string, edit?: (kvs: GgufKv[], tensors: GgufTensorSpec[]) => void): void {
  const H = 32;
  const I = 64;
  const V = 8;
  const hd = 16;
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'llama.block_count', type: 'u32', value: 1 },
    { key: 'llama.context_length', type: 'u32', value: 64 },
    { key: 'llama.embedding_length', type: 'u32', value: H },
    { key: 'llama.feed_forward_length', type: 'u32', value: I },
    { key: 'llama.attention.head_count', type: 'u32', value: 2 },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: 1 },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
    { key: 'llama.rope.freq_base', type: 'f32', value: 10000 },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 1 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 2 },
    { key: 'tokenizer.ggml.eot_token_id', type: 'u32', value: 5 },
  ];
  let seed = 1;
  const t = (name: string, dims: number[]): GgufTensorSpec => ({
    name,
    dims,
    type: 0,
    data: f32Bytes(
      randomF32(
        dims.reduce((a, b) => a * b, 1),
        seed++,
      ),
    ),
  });
  const tensors: GgufTensorSpec[] = [
    t('token_embd.weight', [H, V]),
    t('output_norm.weight', [H]),
    t('blk.0.attn_norm.weight', [H]),
    t('blk.0.attn_q.weight', [H, 2 * hd]),
    t('blk.0.attn_k.weight', [H, hd]),
    t('blk.0.attn_v.weight', [H, hd]),
    t('blk.0.attn_output.weight', [2 * hd, H]),
    t('blk.0.ffn_norm.weight', [H]),
    t('blk.0.ffn_gate.weight', [H, I]),
    t('blk.0.ffn_up.weight', [H, I]),
    t('blk.0.ffn_down.weight', [I, H]),
  ];
  edit?.(kvs, tensors);
  writeFileSync(path, buildGguf(kvs, tensors));
}
