import type { KvStorage } from '../model/forward.ts';

/**
 * The paged KV cache: `numBlocks` blocks of `blockSize` token slots per layer, for K and V, plus
 * the free list that hands blocks to sequences. A sequence's block table maps its token positions
 * to blocks: position p lives in block table[p / blockSize] at offset p % blockSize.
 */
export class KvCache implements KvStorage {
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];
  private readonly free: number[];

  constructor(
    readonly numLayers: number,
    readonly kvWidth: number,
    readonly blockSize: number,
    readonly numBlocks: number,
  ) {
    const perLayer = numBlocks * blockSize * kvWidth;
    this.k = Array.from({ length: numLayers }, () => new Float32Array(perLayer));
    this.v = Array.from({ length: numLayers }, () => new Float32Array(perLayer));
    // Pop from the end, so hand out low block ids first (stable, easy to read in tests).
    this.free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  /** Bytes one block occupies across all layers (K and V, f32). */
  static bytesPerBlock(numLayers: number, kvWidth: number, blockSize: number): number {
    return 2 * numLayers * kvWidth * blockSize * 4;
  }

  keys(layer: number): Float32Array {
    return this.k[layer];
  }

  values(layer: number): Float32Array {
    return this.v[layer];
  }

  get numFreeBlocks(): number {
    return this.free.length;
  }

  /** Takes `n` blocks, or none at all if fewer than `n` are free. */
  allocate(n: number): number[] | undefined {
    if (n > this.free.length) return undefined;
    return this.free.splice(this.free.length - n, n).reverse();
  }

  release(blocks: number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) this.free.push(blocks[i]);
  }
}
