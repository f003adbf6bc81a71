// SentencePiece-style BPE driven by piece scores (llama.cpp's "llama" vocab type): start from single
// characters, repeatedly merge the adjacent pair whose concatenation is a vocabulary piece with the
// highest score (leftmost on ties), then spell characters missing from the vocabulary as <0xXX> byte pieces.
import { Heap } from './heap.ts';

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** length of the merged text when queued; a symbol that changed since makes the entry stale */
  size: number;
}

const utf8 = new TextEncoder();

export class SpmEncoder {
  private readonly byteIds: (number | undefined)[] = [];

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly scores: ArrayLike<number>,
    private readonly unkId: number | undefined,
  ) {
    for (let b = 0; b < 256; b++) {
      this.byteIds.push(tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
    }
  }

  /** Encode text that is already escaped (spaces → "▁", dummy prefix added); appends ids to out. */
  encode(text: string, out: number[]): void {
    // Symbols are code points, kept as [start, length] slices of text in a doubly linked list.
    const start: number[] = [];
    const len: number[] = [];
    for (let i = 0; i < text.length; ) {
      const n = (text.codePointAt(i) as number) > 0xffff ? 2 : 1;
      start.push(i);
      len.push(n);
      i += n;
    }
    const count = start.length;
    const prev = Array.from({ length: count }, (_, i) => i - 1);
    const next = Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
    const queue = new Heap<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const size = len[left] + len[right];
      const id = this.tokenToId.get(text.substr(start[left], size));
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id] ?? 0, size });
    };
    for (let i = 1; i < count; i++) tryAdd(i - 1, i);
    for (let bg = queue.pop(); bg; bg = queue.pop()) {
      const { left, right } = bg;
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== bg.size) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }
    for (let i = count > 0 ? 0 : -1; i !== -1; i = next[i]) {
      const piece = text.substr(start[i], len[i]);
      const id = this.tokenToId.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // Only single characters can be missing (every merge produced a vocabulary piece): byte fallback.
      for (const b of utf8.encode(piece)) {
        const bid = this.byteIds[b] ?? this.unkId;
        if (bid !== undefined) out.push(bid);
      }
    }
  }
}
