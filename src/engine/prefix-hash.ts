import { createHash } from 'node:crypto';

/**
 * Chained content hash of a full KV block: it names the block's tokens *and* everything before
 * them, because a block's keys and values depend on the whole prefix. Two sequences share a block
 * exactly when their first (i + 1) · blockSize tokens are equal.
 */
export function blockHash(parent: string | undefined, tokens: readonly number[], start: number, end: number): string {
  const ids = Int32Array.from(tokens.slice(start, end));
  const h = createHash('sha256');
  if (parent !== undefined) h.update(parent);
  h.update(new Uint8Array(ids.buffer));
  return h.digest('base64');
}

/** Hashes of the full blocks of `tokens`, continuing after `known` already computed hashes. */
export function extendBlockHashes(known: string[], tokens: readonly number[], blockSize: number, upTo: number): void {
  const full = Math.floor(upTo / blockSize);
  for (let i = known.length; i < full; i++) {
    known.push(blockHash(known[i - 1], tokens, i * blockSize, (i + 1) * blockSize));
  }
}
