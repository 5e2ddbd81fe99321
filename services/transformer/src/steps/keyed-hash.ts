/**
 * HMAC-SHA256 with the key schedule done once: the inner and outer padded-key states are hashed
 * up front and copied per value (`Hash.copy()`), instead of `createHmac` re-deriving them for
 * every record. Same output as `createHmac('sha256', key)` (a test checks it).
 */
import { createHash, type Hash } from 'node:crypto';

const BLOCK = 64; // SHA-256 block size in bytes

/** Returns a function computing hex HMAC-SHA256 of strings under `key`. */
export function hmacSha256Hex(key: string): (value: string) => string {
  let k = Buffer.from(key, 'utf8');
  if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
  const ipad = Buffer.alloc(BLOCK, 0x36);
  const opad = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i]! ^= k[i]!;
    opad[i]! ^= k[i]!;
  }
  const inner: Hash = createHash('sha256').update(ipad);
  const outer: Hash = createHash('sha256').update(opad);
  return (value) => outer.copy().update(inner.copy().update(value, 'utf8').digest()).digest('hex');
}
