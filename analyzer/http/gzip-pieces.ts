// Gzip of a body made of pieces (a 10k-service graph's JSON in ~600 runs of
// entities), where most pieces are the same as in the last answer: each piece
// is deflated on its own (a full flush, so it refers to nothing before it) and
// kept by its text, so a new version recompresses only the pieces that changed
// and the rest is concatenation. The gzip trailer's CRC runs over the pieces'
// plain bytes (zlib's crc32, ~2 ms for 12 MB, once per new answer).
import { constants, crc32, deflateRawSync } from 'node:zlib';

interface Piece {
  plain: Buffer;
  /** Deflated on the first gzip answer that holds it. */
  z?: Buffer;
  bytes: number;
  used: number;
}

// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown).
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
// An empty final block: what ends the deflate stream the pieces began.
const FINAL = deflateRawSync(Buffer.alloc(0), { finishFlush: constants.Z_FINISH });

export class PieceGzip {
  /** Least recently used first (a piece used again moves to the end). */
  private readonly pieces = new Map<string, Piece>();
  private generation = 0;
  private bytes = 0;

  constructor(
    /** Beyond this many plain bytes kept, pieces the latest answer did not use are forgotten, least recent first. */
    private readonly maxBytes = 64 << 20,
    private readonly level = 6,
  ) {}

  /** The body's UTF-8 bytes, from the pieces' cached encodings. */
  plain(texts: readonly string[]): Buffer {
    const pieces = this.lookup(texts);
    return Buffer.concat(pieces.map((p) => p.plain));
  }

  gzip(texts: readonly string[]): Buffer {
    const parts: Buffer[] = [HEADER];
    let crc = 0;
    let size = 0;
    for (const p of this.lookup(texts)) {
      crc = crc32(p.plain, crc);
      size += p.bytes;
      parts.push(this.deflate(p));
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    parts.push(FINAL, trailer);
    return Buffer.concat(parts);
  }

  /**
   * Encodes and deflates the pieces from index `from` on until `deadline`
   * (performance.now()), ahead of an answer; returns the index to go on from
   * (texts.length when all are done). Nothing is forgotten here: that waits for
   * the next answer.
   */
  prepare(texts: readonly string[], from: number, deadline: number): number {
    let i = from;
    while (i < texts.length) {
      const p = this.piece(texts[i++], this.generation);
      if (p) this.deflate(p);
      if (performance.now() > deadline) break;
    }
    return i;
  }

  /** The piece deflated on its own, ending on a full flush so the next piece refers to nothing before it. */
  private deflate(p: Piece): Buffer {
    return (p.z ??= deflateRawSync(p.plain, { level: this.level, finishFlush: constants.Z_FULL_FLUSH }));
  }

  /** The kept piece for this text (made if new), now the most recently used; undefined for an empty text. */
  private piece(text: string, gen: number): Piece | undefined {
    if (text.length === 0) return undefined;
    let p = this.pieces.get(text);
    if (p) this.pieces.delete(text);
    else {
      const plain = Buffer.from(text);
      p = { plain, bytes: plain.length, used: gen };
      this.bytes += p.bytes;
    }
    this.pieces.set(text, p);
    p.used = gen;
    return p;
  }

  private lookup(texts: readonly string[]): Piece[] {
    const gen = ++this.generation;
    const out: Piece[] = [];
    for (const text of texts) {
      const p = this.piece(text, gen);
      if (p) out.push(p);
    }
    for (const [text, p] of this.pieces) {
      if (this.bytes <= this.maxBytes || p.used === gen) break;
      this.pieces.delete(text);
      this.bytes -= p.bytes;
    }
    return out;
  }
}
