/**
 * Incremental server-sent-events parser for benchmark clients. Network chunks split events anywhere
 * (inside a line, inside a UTF-8 character), so bytes are decoded in streaming mode and lines are
 * buffered until an event's terminating blank line. Only `data:` fields matter for the OpenAI protocol;
 * comments (`: keep-alive`), `event:`/`id:`/`retry:` fields are skipped. Multi-line data joins with "\n"
 * as the SSE spec says.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private data: string[] = [];

  /** Feeds bytes (or text); returns the data payloads of the events completed by them. */
  push(chunk: Uint8Array | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drainLines(false);
  }

  /** End of stream: a last event without its blank line still counts (servers sometimes omit it). */
  end(): string[] {
    this.buffer += this.decoder.decode();
    const out = this.drainLines(true);
    if (this.data.length > 0) out.push(this.data.join('\n'));
    this.data = [];
    return out;
  }

  private drainLines(final: boolean): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      let line: string;
      if (nl < 0) {
        if (!final || start >= this.buffer.length) break;
        line = this.buffer.slice(start);
        start = this.buffer.length;
      } else {
        line = this.buffer.slice(start, nl);
        start = nl + 1;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) out.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        // One optional space after the colon belongs to the syntax, not the value.
        this.data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }
}
