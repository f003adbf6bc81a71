// Stop strings on streamed text. Text is released as soon as it can no longer be the start of a stop
// string; a suffix that could still grow into one is held back. Among several matches in the same chunk
// the one that completes first wins (what a character-by-character scan would see), and on equal ends the
// longer one (it starts earlier).

export class StopMatcher {
  private readonly stops: string[];
  private readonly includeStop: boolean;
  private held = '';
  private stopped = false;
  /** the stop string that matched, once stopped */
  matched: string | undefined;

  constructor(stops: string[], opts: { includeStopInOutput?: boolean } = {}) {
    this.stops = stops.filter((s) => s.length > 0);
    this.includeStop = opts.includeStopInOutput ?? false;
  }

  push(text: string): { text: string; stopped: boolean } {
    if (this.stopped) return { text: '', stopped: true };
    const buf = this.held + text;
    let bestEnd = -1;
    let bestStart = -1;
    let best = '';
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at < 0) continue;
      const end = at + s.length;
      if (bestEnd < 0 || end < bestEnd || (end === bestEnd && at < bestStart)) {
        bestEnd = end;
        bestStart = at;
        best = s;
      }
    }
    if (bestEnd >= 0) {
      this.stopped = true;
      this.matched = best;
      this.held = '';
      return { text: buf.slice(0, this.includeStop ? bestEnd : bestStart), stopped: true };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Held-back text when generation ends without a stop. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let longest = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > longest; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}
