/**
 * safetensors writer (models.md §3), the counterpart of ../safetensors.ts: `u64 LE header length`,
 * the JSON header, then the tensors back to back in declaration order with no gaps.
 *
 * The header is padded with spaces so the data starts at a multiple of 8 bytes (as the reference
 * implementation does, so 8-byte dtypes can be viewed in place from a mapping). Data is streamed
 * chunk by chunk like the GGUF writer's (tensor-file.ts).
 */
import { DTYPE_SIZE } from '../safetensors.ts';
import { TensorFileWriter, type TensorSlot } from './tensor-file.ts';

export interface SafetensorsTensorDecl {
  name: string;
  dtype: string;
  /** PyTorch order (row-major, last index contiguous) */
  shape: number[];
}

export interface SafetensorsLayout {
  /** length prefix + JSON header (padded) */
  header: Buffer;
  /** absolute file offsets and byte sizes, in declaration order */
  slots: TensorSlot[];
  fileSize: number;
}

/** Encode the header and compute where each tensor's bytes go. */
export function encodeSafetensorsHeader(
  tensors: readonly SafetensorsTensorDecl[],
  metadata?: Record<string, string>,
): SafetensorsLayout {
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const item = DTYPE_SIZE[t.dtype];
    if (item === undefined) throw new Error(`tensor ${t.name}: unsupported safetensors dtype ${t.dtype}`);
    if (t.name === '__metadata__' || t.name in json) throw new Error(`duplicate or reserved tensor name ${t.name}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`tensor ${t.name}: invalid shape ${JSON.stringify(t.shape)}`);
    const size = t.shape.reduce((a, b) => a * b, 1) * item;
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  const text = JSON.stringify(json);
  const textBytes = Buffer.byteLength(text, 'utf8');
  const padded = Math.ceil((8 + textBytes) / 8) * 8 - 8;
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  header.write(text, 8, 'utf8');
  const slots: TensorSlot[] = [];
  let pos = header.length;
  tensors.forEach((t, i) => {
    slots.push({ name: t.name, offset: pos, bytes: sizes[i] });
    pos += sizes[i];
  });
  return { header, slots, fileSize: pos };
}

/** Streams a safetensors file: create() writes the header, write() takes the tensors' bytes in order. */
export class SafetensorsWriter {
  private constructor(private readonly file: TensorFileWriter) {}

  static create(
    path: string,
    tensors: readonly SafetensorsTensorDecl[],
    metadata?: Record<string, string>,
  ): SafetensorsWriter {
    const layout = encodeSafetensorsHeader(tensors, metadata);
    return new SafetensorsWriter(new TensorFileWriter(path, layout.header, layout.slots, layout.fileSize));
  }

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
