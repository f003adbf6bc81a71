/**
 * The part both model writers share: a file whose header is known up front, followed by tensors
 * at fixed offsets whose bytes arrive in order, chunk by chunk.
 *
 * Chunks go straight to the file descriptor (no buffering of whole tensors), so writing a model
 * costs memory for one chunk, not one tensor or one file. The file is written under
 * `<path>.partial` and renamed when complete: an interrupted run never leaves a file that looks
 * finished (the synthetic-model generator skips existing files).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Where one tensor's bytes go. */
export interface TensorSlot {
  name: string;
  /** absolute file offset of the first byte */
  offset: number;
  bytes: number;
}

const ZEROS = new Uint8Array(64 * 1024);

export class TensorFileWriter {
  private readonly partial: string;
  private fd: number | undefined;
  /** file position of the next byte */
  private pos = 0;
  /** index of the tensor being written */
  private index = 0;
  /** bytes of that tensor written so far */
  private done = 0;

  /**
   * @param header everything before the first tensor (including any padding)
   * @param slots in file order, non-overlapping, after the header
   * @param totalSize the final file size (the end may be padded past the last tensor)
   */
  constructor(
    readonly path: string,
    header: Uint8Array,
    private readonly slots: readonly TensorSlot[],
    private readonly totalSize: number,
  ) {
    let end = header.length;
    for (const s of slots) {
      if (s.offset < end) throw new Error(`${path}: tensor ${s.name} overlaps the previous data`);
      end = s.offset + s.bytes;
    }
    if (end > totalSize) throw new Error(`${path}: tensors end at ${end}, past the file size ${totalSize}`);
    this.partial = `${path}.partial`;
    this.fd = openSync(this.partial, 'w');
    this.put(header);
    this.skipEmpty();
  }

  /** Name of the tensor the next chunk belongs to (undefined when all are written). */
  get current(): string | undefined {
    return this.slots[this.index]?.name;
  }

  /** Append `chunk` to tensor `name`, which must be the current one; a chunk never spans two tensors. */
  write(name: string, chunk: Uint8Array): void {
    const slot = this.slots[this.index];
    if (!slot) throw new Error(`${this.path}: all tensors are already written (got more data for ${name})`);
    if (slot.name !== name) throw new Error(`${this.path}: expected data for tensor ${slot.name}, got ${name}`);
    if (this.done + chunk.length > slot.bytes) {
      throw new Error(`${this.path}: tensor ${name} takes ${slot.bytes} bytes, got ${this.done + chunk.length}`);
    }
    if (this.done === 0) this.padTo(slot.offset);
    this.put(chunk);
    this.done += chunk.length;
    if (this.done === slot.bytes) {
      this.index++;
      this.done = 0;
      this.skipEmpty();
    }
  }

  /** Check that every tensor is complete, pad to the final size, close and move into place. */
  finish(): void {
    if (this.current !== undefined) {
      const missing = this.slots.length - this.index;
      this.abort();
      throw new Error(`${this.path}: ${missing} tensor(s) not written, starting with ${this.slots[this.index].name}`);
    }
    this.padTo(this.totalSize);
    closeSync(this.fd!);
    this.fd = undefined;
    renameSync(this.partial, this.path);
  }

  /** Close and delete the partial file (safe to call more than once). */
  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.partial, { force: true });
  }

  /** Zero-size tensors are complete before any byte arrives. */
  private skipEmpty(): void {
    while (this.slots[this.index]?.bytes === 0) this.index++;
  }

  private padTo(offset: number): void {
    while (this.pos < offset) this.put(ZEROS.subarray(0, Math.min(ZEROS.length, offset - this.pos)));
  }

  private put(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`${this.path}: writer is closed`);
    let off = 0;
    while (off < bytes.length) {
      off += writeSync(this.fd, bytes, off, bytes.length - off, this.pos + off);
    }
    this.pos += bytes.length;
  }
}
