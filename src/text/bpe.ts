// Byte-level BPE by merge rank (llama.cpp's "gpt2" vocab type, HF BPE on a ByteLevel alphabet): start from
// the characters of a pre-token spelled in the byte-level alphabet, repeatedly merge the adjacent pair with
// the lowest merge rank (leftmost on ties).
import { Heap } from './heap.ts';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

export class ByteLevelBpe {
  /** "left right" → rank */
  private readonly ranks = new Map<string, number>();

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    merges: readonly string[],
    /** Llama 3: a pre-token that is itself a vocabulary entry is emitted whole, merges or not */
    private readonly ignoreMerges: boolean,
    private readonly unkId: number | undefined,
  ) {
    merges.forEach((m, rank) => {
      if (!this.ranks.has(m)) this.ranks.set(m, rank);
    });
  }

  /** Encode one pre-token already spelled in the byte-level alphabet; appends ids to out. */
  encodeWord(word: string, out: number[]): void {
    if (this.ignoreMerges) {
      const id = this.tokenToId.get(word);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const sym = Array.from(word);
    const count = sym.length;
    const prev = Array.from({ length: count }, (_, i) => i - 1);
    const next = Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
    const queue = new Heap<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = this.ranks.get(`${sym[left]} ${sym[right]}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: sym[left] + sym[right] });
    };
    for (let i = 1; i < count; i++) tryAdd(i - 1, i);
    for (let bg = queue.pop(); bg; bg = queue.pop()) {
      const { left, right } = bg;
      // Stale entry: one side was merged into something else since it was queued.
      if (sym[left] === '' || sym[right] === '' || sym[left] + sym[right] !== bg.text) continue;
      sym[left] = bg.text;
      sym[right] = '';
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }
    for (let i = count > 0 ? 0 : -1; i !== -1; i = next[i]) {
      const id = this.tokenToId.get(sym[i]);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // A byte-level vocabulary holds every single-byte character, so this only happens for broken vocabs.
      for (const ch of sym[i]) {
        const cid = this.tokenToId.get(ch) ?? this.unkId;
        if (cid !== undefined) out.push(cid);
      }
    }
  }
}
