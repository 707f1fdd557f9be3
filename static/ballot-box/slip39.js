// SLIP-39 (SatoshiLabs' Shamir backup standard) for the ballot box key page: a 32-byte key as
// one 33-word mnemonic, or as 2-of-3 shares, written exactly as the server's shamir-mnemonic
// reads them (survey/ballotbox/words.py): one group, extendable backup flag set, iteration
// exponent 1, empty passphrase. Hashing is @noble/hashes (vendored, pinned); nothing else.
import { hmac } from "@noble/hashes/hmac.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { WORDLIST } from "./slip39-wordlist.js";

const ITERATION_EXPONENT = 1;
const BASE_ITERATION_COUNT = 10000;
const ROUND_COUNT = 4;
const DIGEST_INDEX = 254;
const SECRET_INDEX = 255;
const CUSTOMIZATION = new TextEncoder().encode("shamir_extendable");

// --- GF(256), as in the reference implementation ----------------------------------------
const EXP = new Array(255);
const LOG = new Array(256).fill(0);
(() => {
  let poly = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = poly;
    LOG[poly] = i;
    poly = (poly << 1) ^ poly;
    if (poly & 0x100) poly ^= 0x11b;
  }
})();

function interpolate(shares, x) {
  const found = shares.find((s) => s.x === x);
  if (found) return found.data;
  const mod = (n) => ((n % 255) + 255) % 255;
  let logProd = 0;
  for (const s of shares) logProd += LOG[s.x ^ x];
  const result = new Uint8Array(shares[0].data.length);
  for (const s of shares) {
    let others = 0;
    for (const o of shares) others += LOG[s.x ^ o.x];
    const basis = mod(logProd - LOG[s.x ^ x] - others);
    for (let i = 0; i < result.length; i++) {
      if (s.data[i] !== 0) result[i] ^= EXP[(LOG[s.data[i]] + basis) % 255];
    }
  }
  return result;
}

// --- the Feistel cipher over the master secret -------------------------------------------
function roundFunction(i, e, r) {
  const iterations = (BASE_ITERATION_COUNT << e) / ROUND_COUNT;
  return pbkdf2(sha256, new Uint8Array([i]), r, { c: iterations, dkLen: r.length });
}

function xor(a, b) {
  return a.map((v, i) => v ^ b[i]);
}

function feistel(secret, rounds) {
  let l = secret.slice(0, secret.length / 2);
  let r = secret.slice(secret.length / 2);
  for (const i of rounds) {
    const f = roundFunction(i, ITERATION_EXPONENT, r);
    [l, r] = [r, xor(l, f)];
  }
  return concat(r, l);
}

const encrypt = (secret) => feistel(secret, [0, 1, 2, 3]);
const decrypt = (secret) => feistel(secret, [3, 2, 1, 0]);

// --- RS1024 checksum -----------------------------------------------------------------------
const GEN = [0xe0e040, 0x1c1c080, 0x3838100, 0x7070200, 0xe0e0009, 0x1c0c2412, 0x38086c24, 0x3090fc48,
  0x21b1f890, 0x3f3f120];

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const b = chk >>> 20;
    chk = (((chk & 0xfffff) << 10) ^ v) >>> 0;
    for (let i = 0; i < 10; i++) if ((b >>> i) & 1) chk = (chk ^ GEN[i]) >>> 0;
  }
  return chk;
}

function checksum(data) {
  const p = polymod([...CUSTOMIZATION, ...data, 0, 0, 0]) ^ 1;
  return [2, 1, 0].map((i) => (p >>> (10 * i)) & 1023);
}

// --- shares and words ----------------------------------------------------------------------
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function toIndices(value, count) {
  const out = [];
  for (let i = count - 1; i >= 0; i--) out.push(Number((value >> BigInt(10 * i)) & 1023n));
  return out;
}

function fromIndices(indices) {
  return indices.reduce((v, i) => v * 1024n + BigInt(i), 0n);
}

function bytesToBig(bytes) {
  return bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
}

function bigToBytes(value, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 255n);
    value >>= 8n;
  }
  if (value !== 0n) throw new Error("padding");
  return out;
}

function shareWords({ identifier, index, threshold, value }) {
  const idExp = toIndices((BigInt(identifier) << 5n) | (1n << 4n) | BigInt(ITERATION_EXPONENT), 2);
  // group index 0, group threshold 1, group count 1, member index, member threshold
  const params = toIndices(BigInt((0 << 16) | (0 << 12) | (0 << 8) | (index << 4) | (threshold - 1)), 2);
  const data = [...idExp, ...params, ...toIndices(bytesToBig(value), Math.ceil((value.length * 8) / 10))];
  return [...data, ...checksum(data)].map((i) => WORDLIST[i]).join(" ");
}

function splitSecret(threshold, count, secret) {
  if (threshold === 1) return Array.from({ length: count }, (_, x) => ({ x, data: secret }));
  const random = Array.from({ length: threshold - 2 }, (_, x) => ({ x, data: randomBytes(secret.length) }));
  const randomPart = randomBytes(secret.length - 4);
  const digest = hmac(sha256, randomPart, secret).slice(0, 4);
  const base = [...random, { x: DIGEST_INDEX, data: concat(digest, randomPart) }, { x: SECRET_INDEX, data: secret }];
  const shares = [...random];
  for (let x = threshold - 2; x < count; x++) shares.push({ x, data: interpolate(base, x) });
  return shares;
}

/** The 32-byte ``secret`` as ``count`` mnemonics, any ``threshold`` of which give it back. */
export function splitKey(secret, threshold = 1, count = 1) {
  const rnd = randomBytes(2);
  const identifier = ((rnd[0] << 8) | rnd[1]) & 0x7fff;
  const ems = encrypt(secret);
  return splitSecret(threshold, count, ems).map((s) => shareWords({ identifier, index: s.x, threshold, value: s.data }));
}

function parse(mnemonic) {
  const indices = mnemonic.trim().toLowerCase().split(/\s+/).map((w) => {
    const i = WORDLIST.indexOf(w);
    if (i < 0) throw new Error("a word is not in the word list");
    return i;
  });
  if (indices.length !== 33) throw new Error("a mnemonic has 33 words");
  if (polymod([...CUSTOMIZATION, ...indices]) !== 1) throw new Error("checksum failed");
  const idExp = Number(fromIndices(indices.slice(0, 2)));
  const params = Number(fromIndices(indices.slice(2, 4)));
  return {
    identifier: idExp >> 5,
    index: (params >> 4) & 15,
    threshold: (params & 15) + 1,
    value: bigToBytes(fromIndices(indices.slice(4, 30)), 32),
  };
}

/** The secret the mnemonics give (as the server combines them), or an Error. */
export function combine(mnemonics) {
  const shares = mnemonics.map(parse);
  const { threshold, identifier } = shares[0];
  if (shares.some((s) => s.identifier !== identifier)) throw new Error("shares of different keys");
  if (new Set(shares.map((s) => s.index)).size < threshold) throw new Error("not enough shares");
  let ems;
  if (threshold === 1) {
    ems = shares[0].value;
  } else {
    const raw = shares.slice(0, threshold).map((s) => ({ x: s.index, data: s.value }));
    ems = interpolate(raw, SECRET_INDEX);
    const digestShare = interpolate(raw, DIGEST_INDEX);
    const expected = hmac(sha256, digestShare.slice(4), ems).slice(0, 4);
    if (expected.some((v, i) => v !== digestShare[i])) throw new Error("the shares do not fit together");
  }
  return decrypt(ems);
}
