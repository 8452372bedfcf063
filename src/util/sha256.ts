/**
 * SHA-256 (FIPS 180-4) of bytes as 64 hex digits, in Node.js and in a browser alike: Web
 * Crypto's `crypto.subtle.digest` where there is one, else the plain implementation below. A
 * browser offers `crypto.subtle` only in a secure context (https, or a page from localhost),
 * and the web app may be served over plain http from another host. Pure: no Node-only API.
 */

/** The first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0: readonly number[] = [2, 3, 5, 7, 11, 13, 17, 19].map(fractionBits(Math.sqrt));

/** The first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K: Uint32Array = (() => {
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) {
    if (primes.every((p) => n % p !== 0)) primes.push(n);
  }
  return Uint32Array.from(primes.map(fractionBits(Math.cbrt)));
})();

/** x -> the first 32 bits of root(x)'s fractional part (exact in float64 for these primes). */
function fractionBits(root: (x: number) => number): (x: number) => number {
  return (x) => {
    const r = root(x);
    return Math.floor((r - Math.floor(r)) * 2 ** 32) >>> 0;
  };
}

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** SHA-256 of `data` by the plain implementation (what `sha256Hex` uses without Web Crypto). */
export function sha256Plain(data: Uint8Array): Uint8Array {
  const n = data.length;
  // The message, a 1 bit, zeros, and its length in bits (64-bit big-endian): whole blocks.
  const padded = new Uint8Array(Math.ceil((n + 9) / 64) * 64);
  padded.set(data);
  padded[n] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(n / 2 ** 29));
  view.setUint32(padded.length - 4, (n * 8) >>> 0);
  const h = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(offset + 4 * t);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1; // stored modulo 2^32
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let t = 0; t < 64; t++) {
      const t1 =
        (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((v, i) => outView.setUint32(4 * i, v));
  return out;
}

/** SHA-256 of `data`, 64 lowercase hex digits. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  const digest =
    subtle !== undefined
      ? new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
      : sha256Plain(data);
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
