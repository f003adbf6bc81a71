/**
 * Ownership of KV-cache blocks, with prefix caching: every block has a reference count; a full
 * block whose contents are known is registered under its chained hash (see prefix-hash.ts) and
 * stays reusable after its last owner lets go, until the space is needed. Blocks nobody owns wait
 * in a least-recently-freed queue; allocation takes from its head, evicting that block's cache
 * entry, so the cache holds the most recently used prefixes.
 */
export class BlockPool {
  private readonly refCount: Int32Array;
  private readonly hashOf: (string | undefined)[];
  private readonly byHash = new Map<string, number>();
  // Doubly linked free queue over block ids (-1 = none): O(1) removal when a cached block is reused.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly queued: Uint8Array;
  private head = -1;
  private tail = -1;
  private freeCount = 0;
  /** free blocks that still hold a cached prefix */
  private freeCachedCount = 0;

  constructor(readonly numBlocks: number) {
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Array(numBlocks).fill(undefined);
    this.prev = new Int32Array(numBlocks).fill(-1);
    this.next = new Int32Array(numBlocks).fill(-1);
    this.queued = new Uint8Array(numBlocks);
    for (let b = 0; b < numBlocks; b++) this.enqueue(b);
  }

  /** Blocks no sequence owns (cached or empty): what allocation can draw from. */
  get numFreeBlocks(): number {
    return this.freeCount;
  }

  /** Unowned blocks that still hold a cached prefix (evictable, but worth keeping). */
  get numFreeCachedBlocks(): number {
    return this.freeCachedCount;
  }

  /** Blocks registered in the prefix cache, owned or not. */
  get numCachedBlocks(): number {
    return this.byHash.size;
  }

  /** Takes n unowned blocks (evicting their cache entries), or none if fewer than n are free. */
  allocate(n: number): number[] | undefined {
    if (n > this.freeCount) return undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.head;
      this.dequeue(b);
      this.forget(b);
      this.refCount[b] = 1;
      out.push(b);
    }
    return out;
  }

  /** The cached block holding the contents `hash` names, if any. */
  lookup(hash: string): number | undefined {
    return this.byHash.get(hash);
  }

  /** Adds an owner to a (cached) block, taking it out of the free queue if nobody owned it. */
  retain(block: number): void {
    if (this.refCount[block] === 0) this.dequeue(block);
    this.refCount[block]++;
  }

  /**
   * Drops one owner of each block. Callers pass a sequence's table in reverse, so that when its
   * blocks return to the queue the tail of a prompt is evicted before its (more shareable) head.
   */
  release(blocks: readonly number[]): void {
    for (const b of blocks) {
      if (this.refCount[b] <= 0) throw new Error(`block ${b} released more often than owned`);
      if (--this.refCount[b] === 0) this.enqueue(b);
    }
  }

  /** Records that a full block holds the contents `hash` names; the first block registered for a hash wins. */
  register(block: number, hash: string): void {
    if (this.hashOf[block] !== undefined || this.byHash.has(hash)) return;
    this.hashOf[block] = hash;
    this.byHash.set(hash, block);
  }

  owners(block: number): number {
    return this.refCount[block];
  }

  private forget(block: number): void {
    const h = this.hashOf[block];
    if (h === undefined) return;
    this.byHash.delete(h);
    this.hashOf[block] = undefined;
  }

  private enqueue(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = -1;
    if (this.tail >= 0) this.next[this.tail] = b;
    else this.head = b;
    this.tail = b;
    this.queued[b] = 1;
    this.freeCount++;
    if (this.hashOf[b] !== undefined) this.freeCachedCount++;
  }

  private dequeue(b: number): void {
    if (!this.queued[b]) throw new Error(`block ${b} is not free`);
    const p = this.prev[b];
    const n = this.next[b];
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.queued[b] = 0;
    this.freeCount--;
    if (this.hashOf[b] !== undefined) this.freeCachedCount--;
  }
}
