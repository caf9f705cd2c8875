/** Small seeded PRNG (mulberry32) so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random or mutated packet: pure noise, bit flips, truncation, option-area garbage, length lies. */
export function mutate(base: Buffer, rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  switch (int(6)) {
    case 0:
      return Buffer.from(Array.from({ length: int(700) }, () => int(256)));
    case 1: {
      const b = Buffer.from(base);
      for (let i = int(8) + 1; i > 0; i--) {
        const at = int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << int(8));
      }
      return b;
    }
    case 2:
      return Buffer.from(base.subarray(0, int(base.length)));
    case 3: {
      // Valid header, random option bytes: exercises option parsing and the typed readers.
      const tail = Buffer.from(Array.from({ length: int(400) }, () => int(256)));
      return Buffer.concat([base.subarray(0, 240), Buffer.from([53, 1, 1 + int(8)]), tail]);
    }
    case 4: {
      // Lengths that lie: each option claims more than it has.
      const b = Buffer.from(base);
      for (let i = 240; i + 1 < b.length; i += 2 + (b[i + 1] ?? 0)) if (rnd() < 0.3) b[i + 1] = 255;
      return b;
    }
    default: {
      const b = Buffer.from(base);
      // Overload bits and hlen/htype/op, the fields that steer decoding.
      b[0] = int(4);
      b[1] = int(3);
      b[2] = int(20);
      return Buffer.concat([b, Buffer.from([52, 1, int(4), 255])]);
    }
  }
}
