import type { KvStorage } from '../model/forward.ts';
import { BlockPool } from './block-pool.ts';

/**
 * The paged KV cache: `numBlocks` blocks of `blockSize` token slots per layer, for K and V, and the
 * pool that says who owns which block. A sequence's block table maps its token positions to
 * blocks: position p lives in block table[p / blockSize] at offset p % blockSize.
 */
export class KvCache implements KvStorage {
  readonly pool: BlockPool;
  private readonly k: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    readonly numLayers: number,
    readonly kvWidth: number,
    readonly blockSize: number,
    readonly numBlocks: number,
  ) {
    const perLayer = numBlocks * blockSize * kvWidth;
    this.k = Array.from({ length: numLayers }, () => new Float32Array(perLayer));
    this.v = Array.from({ length: numLayers }, () => new Float32Array(perLayer));
    this.pool = new BlockPool(numBlocks);
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
}
