import type { KvStorage } from '../model/forward.ts';
import type { KvCacheArray, KvCacheDtype } from '../native/types.ts';
import { BlockPool } from './block-pool.ts';

/**
 * The paged KV cache: `numBlocks` blocks of `blockSize` token slots per layer, for K and V, and the
 * pool that says who owns which block. A sequence's block table maps its token positions to
 * blocks: position p lives in block table[p / blockSize] at offset p % blockSize.
 *
 * Values are stored as f16 (Uint16Array of IEEE half bits; the kernels round k/v to nearest even
 * when storing them) or f32; f16 halves the memory per block, so twice as many tokens fit.
 */
export class KvCache implements KvStorage {
  readonly pool: BlockPool;
  private readonly k: KvCacheArray[];
  private readonly v: KvCacheArray[];

  constructor(
    readonly numLayers: number,
    readonly kvWidth: number,
    readonly blockSize: number,
    readonly numBlocks: number,
    readonly dtype: KvCacheDtype = 'f16',
  ) {
    const perLayer = numBlocks * blockSize * kvWidth;
    const alloc = (): KvCacheArray => (dtype === 'f16' ? new Uint16Array(perLayer) : new Float32Array(perLayer));
    this.k = Array.from({ length: numLayers }, alloc);
    this.v = Array.from({ length: numLayers }, alloc);
    this.pool = new BlockPool(numBlocks);
  }

  /** Bytes one block occupies across all layers (K and V). */
  static bytesPerBlock(numLayers: number, kvWidth: number, blockSize: number, dtype: KvCacheDtype = 'f16'): number {
    return 2 * numLayers * kvWidth * blockSize * (dtype === 'f16' ? 2 : 4);
  }

  keys(layer: number): KvCacheArray {
    return this.k[layer];
  }

  values(layer: number): KvCacheArray {
    return this.v[layer];
  }
}
