/**
 * CRC-32 of a concatenation from the CRCs of its parts (zlib's crc32_combine, which Node does not
 * expose): lets rank segments compressed on worker threads be joined into one gzip member.
 */
const POLY = 0xedb88320;

function times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let i = 0;
  let v = vec >>> 0;
  while (v !== 0) {
    if (v & 1) sum ^= mat[i]!;
    v >>>= 1;
    i++;
  }
  return sum >>> 0;
}

function square(out: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) out[n] = times(mat, mat[n]!);
}

/** CRC-32 of A+B, given crc(A), crc(B) and the length of B in bytes (any size). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY;
  let row = 1;
  for (let n = 1; n < 32; n++) { odd[n] = row; row = (row << 1) >>> 0; }
  square(even, odd); // 2 zero bits
  square(odd, even); // 4 zero bits
  let crc = crcA >>> 0;
  let len = lengthB;
  do {
    square(even, odd);
    if (len % 2 === 1) crc = times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    square(odd, even);
    if (len % 2 === 1) crc = times(odd, crc);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc ^ crcB) >>> 0;
}
