// GPT-2 byte-level alphabet (bytes_to_unicode): byte-level BPE vocabularies spell every byte as one
// printable code point, so "Ġ" (U+0120) stands for a space and "Ċ" (U+010A) for a newline.

/** byte value → the code point that spells it in byte-level vocabularies */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : next++);
  }
  return out;
})();

/** inverse of BYTE_TO_CHAR */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

/** Text → its UTF-8 bytes spelled in the byte-level alphabet (what byte-level BPE merges operate on). */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

/** A byte-level vocabulary piece → raw bytes. Characters outside the alphabet (rare, hand-added pieces) keep their UTF-8. */
export function byteLevelPieceBytes(piece: string): Uint8Array {
  const out: number[] = [];
  for (const ch of piece) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** "<0x0A>" → 10; anything else → undefined */
export function parseBytePiece(piece: string): number | undefined {
  const m = BYTE_PIECE.exec(piece);
  return m ? Number.parseInt(m[1], 16) : undefined;
}

/** A SentencePiece piece → raw bytes: byte pieces are that byte, "▁" is a space, the rest is UTF-8. */
export function sentencePieceBytes(piece: string, byteFallback = true): Uint8Array {
  const b = byteFallback ? parseBytePiece(piece) : undefined;
  if (b !== undefined) return Uint8Array.of(b);
  return utf8.encode(piece.replaceAll('\u2581', ' '));
}

export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}
