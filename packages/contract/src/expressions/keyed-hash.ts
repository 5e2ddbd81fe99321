/**
 * HMAC-SHA256 under a fixed key, computed in JavaScript from the key's two pre-hashed pad blocks.
 *
 * Hand-written because every library call costs more than the hash: `$hmac` pseudonymises one
 * short value per record (a plate: one 64-byte block), and node's `createHmac` with a `KeyObject`
 * (what this module used until 2026-12-07) spends most of its 1.6 µs creating the `Hmac` object,
 * crossing into C++ three times and hashing the key's pad blocks again for every value (23% of
 * the transformer's CPU in the push). Here the inner and outer pad blocks are compressed once per
 * key (the "midstates"), so a short value costs two SHA-256 compressions and no allocation but its
 * hex text: 0.42× `createHmac`'s CPU per value, measured in one process on the bench's plates
 * (docs/PERFORMANCE.md, seventh round). Measured before: copying pre-keyed node `Hash` states
 * (slower, 2.8 µs), `hash-wasm` (3.5 µs), `@noble/hashes` (2.9 µs: generic, allocating, re-keying
 * by object clones), `crypto.hash` one-shots over the pad blocks (no faster than `createHmac`).
 *
 * SHA-256 is FIPS 180-4; the test checks the output against `createHmac` for any key and value
 * (non-ASCII, lone surrogates, multi-block values, keys longer than a block). Nothing secret is
 * compared here, so constant time does not apply; the key's midstates live in this closure as the
 * `KeyObject` did.
 */
import { createHash } from 'node:crypto';

/** The round constants (FIPS 180-4, 4.2.2). */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The initial hash value (FIPS 180-4, 5.3.3). */
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Two hex digits per byte value. */
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The message schedule, shared: compressions run one at a time (JavaScript is single-threaded). */
const W = new Int32Array(64);

/** Compresses the block in `W[0..15]` into the state `H` (FIPS 180-4, 6.2.2). */
function compress(H: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** Loads the 64-byte block at `bytes[at..]` into `W[0..15]` (big-endian words). */
function load(bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const p = at + i * 4;
    W[i] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
  }
}

/** The state after compressing the key XOR `pad` (the HMAC key block), computed once per key. */
function midstate(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(64).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = block[i]! ^ key[i]!;
  const H = IV.slice();
  load(block, 0);
  compress(H);
  return H;
}

/**
 * Returns a function computing the hex HMAC-SHA256 of strings (their UTF-8 bytes) under `key`,
 * the first `hexDigits` hex digits of it (64: the whole MAC; `$hmac` keeps 32, 128 bits).
 */
export function hmacSha256Hex(key: string, hexDigits = 64): (value: string) => string {
  let k: Uint8Array = Buffer.from(key, 'utf8');
  // RFC 2104: a key longer than the block is hashed first.
  if (k.length > 64) k = createHash('sha256').update(k).digest();
  const inner = midstate(k, 0x36);
  const outer = midstate(k, 0x5c);
  const words = Math.ceil(Math.min(64, Math.max(0, hexDigits)) / 8);
  const encoder = new TextEncoder();
  const state = new Int32Array(8);
  let bytes = new Uint8Array(256);
  return (value) => {
    const units = value.length;
    // Room for the UTF-8 bytes (at most 3 per UTF-16 unit) and the padding.
    if (units * 3 + 72 > bytes.length) bytes = new Uint8Array(units * 3 + 72);
    let n = 0;
    for (; n < units; n++) {
      const c = value.charCodeAt(n);
      if (c >= 0x80) break;
      bytes[n] = c;
    }
    // Not all ASCII: the encoder writes what node's 'utf8' does (lone surrogates become U+FFFD).
    if (n < units) n = encoder.encodeInto(value, bytes).written;
    // Padding: 0x80, zeros, then the bit length of the key block and the value, as 64 bits.
    let end = n;
    bytes[end++] = 0x80;
    while (end % 64 !== 56) bytes[end++] = 0;
    const bits = (64 + n) * 8;
    const high = Math.floor(bits / 0x100000000);
    bytes[end++] = high >>> 24;
    bytes[end++] = high >>> 16;
    bytes[end++] = high >>> 8;
    bytes[end++] = high;
    bytes[end++] = bits >>> 24;
    bytes[end++] = bits >>> 16;
    bytes[end++] = bits >>> 8;
    bytes[end++] = bits;
    state.set(inner);
    for (let at = 0; at < end; at += 64) {
      load(bytes, at);
      compress(state);
    }
    // The outer hash: the key block (its midstate), then the inner digest, padded to one block.
    for (let i = 0; i < 8; i++) W[i] = state[i]!;
    W[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) W[i] = 0;
    W[15] = (64 + 32) * 8;
    state.set(outer);
    compress(state);
    let hex = '';
    for (let i = 0; i < words; i++) {
      const w = state[i]!;
      hex += HEX[(w >>> 24) & 255]! + HEX[(w >>> 16) & 255]! + HEX[(w >>> 8) & 255]! + HEX[w & 255]!;
    }
    return hexDigits % 8 === 0 ? hex : hex.slice(0, hexDigits);
  };
}
