// Splits raw text on special/added token strings before the BPE model runs, as llama.cpp's
// tokenizer_st_partition does: tokens are tried longest first, and each one splits every text fragment
// that is still raw. Returns raw text fragments (strings) and token ids (numbers) in order.

export type Fragment = string | number;

export class SpecialSplitter {
  private readonly specials: { text: string; id: number }[];

  constructor(specials: Iterable<{ text: string; id: number }>) {
    this.specials = [...specials].filter((s) => s.text.length > 0).sort((a, b) => b.text.length - a.text.length);
  }

  split(text: string): Fragment[] {
    let frags: Fragment[] = text.length > 0 ? [text] : [];
    for (const { text: tok, id } of this.specials) {
      if (!text.includes(tok)) continue;
      const next: Fragment[] = [];
      for (const f of frags) {
        if (typeof f === 'number' || !f.includes(tok)) {
          next.push(f);
          continue;
        }
        const parts = f.split(tok);
        parts.forEach((p, i) => {
          if (i > 0) next.push(id);
          if (p.length > 0) next.push(p);
        });
      }
      frags = next;
    }
    return frags;
  }
}
