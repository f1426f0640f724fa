/**
 * Which kernel of one profile is which kernel of another. Two builds (another PyTorch, CUDA or
 * cuBLAS version, another compiler) spell the same kernel differently, and library heuristics
 * pick another tile configuration of the same GEMM; matching on the raw name would list such a
 * kernel as "removed" and "added". Matching goes in three levels, each only over what the
 * previous one left unmatched:
 *
 *   exact     the same name on both sides;
 *   spelling  the same name after the SPELLING rules below: they only rewrite how a compiler or
 *             library version prints a name, never which kernel it is. Checked on the corpus:
 *             on every real trace in test/fixtures/real they keep distinct names distinct;
 *   family    the same name after the FAMILY rules too: these erase what may differ between
 *             two instantiations of one kernel (tile sizes, lambda numbers, integer template
 *             arguments). They can make two different kernels look alike, so a family match
 *             is taken only when it is unambiguous: the family key names exactly one kernel on
 *             each side, and neither is matched yet. Otherwise both stay "removed" / "added".
 *
 * `--exact` keeps only the first level. Type template arguments (`<float>` vs `<c10::Half>`),
 * boolean template arguments (often the algorithm: `softmax_warp_forward<..., is_log_softmax>`),
 * enum casts and parameter lists are never erased: a kernel instantiated for another type or
 * mode is another kernel. So are other GPU architectures (`sm80_` vs `sm90_`, `ampere_` vs
 * `volta_`). Mangled names (`_ZN...`) are compared as they are.
 *
 * The rules, with a real example each, are the table KERNEL_NAME_RULES below.
 */

export type MatchLevel = 'exact' | 'spelling' | 'family';

export interface NameRule {
  id: string;
  level: 'spelling' | 'family';
  /** What the rule rewrites. */
  rule: string;
  /** What differs between builds, and why the rewrite cannot merge two different kernels. */
  why: string;
  /** A real kernel name from test/fixtures/real (shortened where it says so) and its rewrite by this rule alone. */
  example: readonly [string, string];
  apply(name: string): string;
}

/**
 * Index of the `>` closing the `<` at s[open], or -1. Inside `(...)` a `<` or `>` is an
 * operator, not a bracket (`enable_if<((8)>(0)), void>`).
 */
function closingAngle(s: string, open: number): number {
  let angle = 0;
  let parens = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '{' || c === '[') parens++;
    else if (c === ')' || c === '}' || c === ']') parens--;
    else if (parens === 0 && c === '<') angle++;
    else if (parens === 0 && c === '>') { if (--angle === 0) return i; }
  }
  return -1;
}

/** Index of the first `<` outside any brackets (the template argument list of the leading name), or -1. */
function firstTopLevelAngle(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (depth === 0 && c === '<') return i;
  }
  return -1;
}

/** Top-level comma-separated parts of s[from, to). */
function splitArgs(s: string, from: number, to: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    const c = s[i];
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === '<') { const close = closingAngle(s, i); if (close > 0 && close < to) { i = close; continue; } }
    else if (depth === 0 && c === ',') { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start, to));
  return out;
}

const RETURN_TYPE_ENABLE_IF = 'std::enable_if<';

function dropReturnType(name: string): string {
  const s = name.trimStart();
  if (s.startsWith('void ')) return s.slice(5);
  if (s.startsWith(RETURN_TYPE_ENABLE_IF)) {
    const close = closingAngle(s, RETURN_TYPE_ENABLE_IF.length - 1);
    if (close > 0 && s.startsWith('::type ', close + 1)) return s.slice(close + 8);
  }
  return s;
}

/** Integer template arguments of the kernel's own (first top-level) template list -> `#`. */
function eraseIntegerTemplateArgs(s: string): string {
  if (s.includes('operator<')) return s;
  const open = firstTopLevelAngle(s);
  if (open < 0) return s;
  const close = closingAngle(s, open);
  if (close < 0) return s;
  const args = splitArgs(s, open + 1, close).map((a) => a.replace(/^(\s*)-?\d+(\s*)$/, '$1#$2'));
  return `${s.slice(0, open + 1)}${args.join(',')}${s.slice(close)}`;
}

/** Names of GEMM / convolution library kernels whose names spell out their tile configuration. */
const TILED_LIBRARY = /^(?:nvjet_|Cijk_|sm\d+_xmma_|cudnn_|(?:maxwell|pascal|volta|turing|ampere|hopper|blackwell|sm\d+)_\w*gemm)|cutlass_/;

/** Epilogue words in nvjet names: they change what the kernel computes, so they stay. */
const NVJET_EPILOGUES = new Set(['bias', 'relu', 'gelu', 'dgelu', 'bgrad', 'aux']);

function eraseTileConfig(s: string): string {
  if (!TILED_LIBRARY.test(s)) return s;
  // nvjet_[sm90_]tst_256x128_64x4_1x2_h_bz_coopA_NNT: keep the data-type code, epilogue words and the A/B/C layout
  const nv = /^nvjet_((?:sm\d+_)?[a-z0-9]+)_(.*)_([NT]{3})$/.exec(s);
  if (nv) {
    const kept = nv[2]!.split('_').filter((w) => NVJET_EPILOGUES.has(w));
    return `nvjet_${nv[1]!}_…${kept.map((w) => `_${w}`).join('')}_${nv[3]!}`;
  }
  // Tensile (rocBLAS / hipBLASLt): everything from the macro tile `_MT...` on is solution configuration
  const tensile = /^(Cijk_\w*?)_MT\d.*$/.exec(s);
  if (tensile) return `${tensile[1]!}_MT…`;
  return s
    .replace(/\d+(?:x\d+)+/g, '#')
    .replace(/\b(knob)_\d+/g, '$1_#')
    .replace(/(align|stage|ldg)\d+/g, '$1#');
}

/**
 * The rule table: each rule with a real example. Keys are made by applying the spelling rules
 * in order (spellingKey), then the family rules (familyKey).
 */
export const KERNEL_NAME_RULES: readonly NameRule[] = [
  {
    id: 'return-type',
    level: 'spelling',
    rule: 'drop a leading return type: `void ` or `std::enable_if<...>::type `',
    why: 'a kernel returns void; only some demanglers print it, and SFINAE return types are printed in full by some compilers',
    example: [
      'std::enable_if<(((8)>(0)))&&vllm::_typeConvert<c10::BFloat16>::exists, void>::type vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, long, c10::BFloat16*, c10::BFloat16 const*, float, int, int)',
      'vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, long, c10::BFloat16*, c10::BFloat16 const*, float, int, int)',
    ],
    apply: dropReturnType,
  },
  {
    id: 'anonymous-namespace',
    level: 'spelling',
    rule: 'drop `(anonymous namespace)::`',
    why: 'PyTorch moves kernels in and out of anonymous namespaces between releases; a name differing only by it is the same kernel',
    example: [
      'void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, true, false>(float*, float const*, int, int, int, bool const*, int, bool)',
      'void softmax_warp_forward<float, float, float, 10, true, false>(float*, float const*, int, int, int, bool const*, int, bool)',
    ],
    apply: (s) => s.replace(/\(anonymous namespace\)::/g, ''),
  },
  {
    id: 'whitespace',
    level: 'spelling',
    rule: 'collapse white space; none next to < > , ( ) * &',
    why: 'demanglers differ in spacing (`> >` vs `>>`); C++ names never differ by spaces around punctuation alone',
    example: [
      'void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)',
      'void at::native::vectorized_elementwise_kernel<4,at::native::FillFunctor<float>,at::detail::Array<char*,1>>(int,at::native::FillFunctor<float>,at::detail::Array<char*,1>)',
    ],
    apply: (s) => s.trim().replace(/\s+/g, ' ').replace(/ ?([<>,()*&]) ?/g, '$1'),
  },
  {
    id: 'integer-suffix',
    level: 'spelling',
    rule: 'drop integer literal suffixes: `4u`, `2ul`, `2048l` -> `4`, `2`, `2048`',
    why: 'compilers print the type of a non-type template argument differently (GCC `4u`, others `4`); the value is the same',
    example: [
      'void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul>)',
      'void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3>)',
    ],
    apply: (s) => s.replace(/(?<![\w.])(-?\d+)(?:ull|ul|ll|u|l)(?![\w.])/gi, '$1'),
  },
  {
    id: 'torch-std-types',
    level: 'spelling',
    rule: '`at::detail::Array<` -> `std::array<`, `c10::optional<` -> `std::optional<`',
    why: 'PyTorch 2.x replaced its own Array and optional by the std ones; one build has only one of them',
    example: [
      'void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)',
      'void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1> >(int, at::native::FillFunctor<float>, std::array<char*, 1>)',
    ],
    apply: (s) => s.replace(/\bat::detail::Array</g, 'std::array<').replace(/\bc10::optional</g, 'std::optional<'),
  },
  {
    id: 'lambda-number',
    level: 'family',
    rule: '`{lambda(...)#N}` -> `{lambda(...)#}`',
    why: 'lambdas are numbered in source order, so an edit to the file renumbers them; inside one build the numbers tell dtype branches apart, hence family only',
    example: [
      'void at::native::elementwise_kernel<128, 2, at::native::gpu_kernel_impl<at::native::CUDAFunctor_add<float> >(at::TensorIteratorBase&, at::native::CUDAFunctor_add<float> const&)::{lambda(int)#1}>(int, at::native::gpu_kernel_impl<at::native::CUDAFunctor_add<float> >(at::TensorIteratorBase&, at::native::CUDAFunctor_add<float> const&)::{lambda(int)#1})',
      'void at::native::elementwise_kernel<128, 2, at::native::gpu_kernel_impl<at::native::CUDAFunctor_add<float> >(at::TensorIteratorBase&, at::native::CUDAFunctor_add<float> const&)::{lambda(int)#}>(int, at::native::gpu_kernel_impl<at::native::CUDAFunctor_add<float> >(at::TensorIteratorBase&, at::native::CUDAFunctor_add<float> const&)::{lambda(int)#})',
    ],
    apply: (s) => s.replace(/\{lambda\(([^(){}]*)\)#\d+\}/g, '{lambda($1)#}'),
  },
  {
    id: 'integer-template-args',
    level: 'family',
    rule: 'integer arguments of the kernel\'s own template list -> `#` (`reduce_kernel<512, 1, ...>` -> `reduce_kernel<#,#,...>`); nested ones (`OpaqueType<4>`) and booleans stay',
    why: 'block sizes, vector widths and unroll factors are chosen per build and per shape; nested integers are part of a type (element size), booleans usually pick the algorithm',
    example: [
      'void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4> >(at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>)',
      'void at::native::reduce_kernel<#, #, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4> >(at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>)',
    ],
    apply: eraseIntegerTemplateArgs,
  },
  {
    id: 'triton-counter',
    level: 'family',
    rule: 'drop the trailing counter of Triton / Inductor kernels: `triton_poi_fused_0` -> `triton_poi_fused`',
    why: 'Inductor numbers kernels in the order it generates them, which changes with the graph',
    example: ['triton_poi_fused__to_copy_1', 'triton_poi_fused__to_copy'],
    apply: (s) => s.replace(/^(triton_[a-z]+_\w*?)_\d+$/, '$1'),
  },
  {
    id: 'library-tile-config',
    level: 'family',
    rule: 'GEMM / conv library kernels (nvjet, cuBLAS `*_sgemm_*`, CUTLASS, xmma, cuDNN, Tensile `Cijk_`): tile shapes `256x128` -> `#`, `alignN`, `stageN`, `ldgN`, `knob_N` -> `#`; nvjet keeps only its type code, epilogue words and A/B/C layout; Tensile is cut at its macro tile `_MT`',
    why: 'the library heuristic picks another tile configuration of the same GEMM after an upgrade or on other shapes; the layout (`TNT`), data types and epilogue stay, so different GEMM problems keep different keys',
    example: ['nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT', 'nvjet_sm90_tst_…_NNT'],
    apply: eraseTileConfig,
  },
];

const SPELLING = KERNEL_NAME_RULES.filter((r) => r.level === 'spelling');
const FAMILY = KERNEL_NAME_RULES.filter((r) => r.level === 'family');

/** The name after the spelling rules: equal keys are the same kernel. */
export function spellingKey(name: string): string {
  let s = name;
  for (const r of SPELLING) s = r.apply(s);
  return s;
}

/** The name after the spelling and the family rules: equal keys are maybe the same kernel. */
export function familyKey(name: string): string {
  let s = spellingKey(name);
  for (const r of FAMILY) s = r.apply(s);
  return s;
}

/** One kernel (or several spellings of it) on each side. */
export interface KernelPair {
  baseline: string[];
  candidate: string[];
  level: MatchLevel;
}

export interface KernelMatch {
  pairs: KernelPair[];
  /** Kernels of the baseline only (each a group of spellings of one kernel). */
  removed: string[][];
  /** Kernels of the candidate only. */
  added: string[][];
  /** Family keys shared by unmatched kernels of both sides but not one-to-one: left unmatched. */
  ambiguous: { key: string; baseline: string[]; candidate: string[] }[];
}

/** Names grouped by key, groups in first-seen order. */
function groupBy(names: readonly string[], key: (n: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of names) {
    const k = key(n);
    const g = out.get(k);
    if (g) { if (!g.includes(n)) g.push(n); } else out.set(k, [n]);
  }
  return out;
}

/**
 * Pairs the kernel names of two profiles (each list: distinct names, e.g. in order of total
 * time). `exact`: raw names only.
 */
export function matchKernelNames(baseline: readonly string[], candidate: readonly string[], opts: { exact?: boolean } = {}): KernelMatch {
  const pairs: KernelPair[] = [];
  const b = groupBy(baseline, opts.exact ? (n) => n : spellingKey);
  const c = groupBy(candidate, opts.exact ? (n) => n : spellingKey);
  const leftB = new Map<string, string[]>();
  for (const [k, names] of b) {
    const other = c.get(k);
    if (!other) { leftB.set(k, names); continue; }
    const same = names.length === other.length && names.every((n) => other.includes(n));
    pairs.push({ baseline: names, candidate: other, level: same ? 'exact' : 'spelling' });
  }
  const leftC = new Map([...c].filter(([k]) => !b.has(k)));
  const ambiguous: KernelMatch['ambiguous'] = [];
  if (!opts.exact && leftB.size > 0 && leftC.size > 0) {
    const fam = new Map<string, string>();
    const family = (k: string): string => { let f = fam.get(k); if (f === undefined) { f = familyKey(k); fam.set(k, f); } return f; };
    // family keys over ALL kernels of a side: a key naming two kernels there is ambiguous
    const members = (m: Map<string, string[]>): Map<string, string[]> => {
      const out = new Map<string, string[]>();
      for (const k of m.keys()) { const f = family(k); out.set(f, [...(out.get(f) ?? []), k]); }
      return out;
    };
    const fb = members(b);
    const fc = members(c);
    for (const [kb, names] of leftB) {
      const f = family(kb);
      const inB = fb.get(f)!;
      const inC = fc.get(f);
      if (!inC || !inC.some((k) => leftC.has(k))) continue;
      if (inB.length === 1 && inC.length === 1) {
        pairs.push({ baseline: names, candidate: leftC.get(inC[0]!)!, level: 'family' });
        leftB.delete(kb);
        leftC.delete(inC[0]!);
      } else if (!ambiguous.some((a) => a.key === f)) {
        ambiguous.push({ key: f, baseline: inB.flatMap((k) => b.get(k)!), candidate: inC.flatMap((k) => c.get(k)!) });
      }
    }
  }
  return { pairs, removed: [...leftB.values()], added: [...leftC.values()], ambiguous };
}
