/**
 * Readable kernel names for terminal tables (CSV and JSON keep the full names).
 *
 * `void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<
 * at::native::(anonymous namespace)::silu_kernel(...)::{lambda()#1}...>>(int, ...)` becomes
 * `elementwise_kernel<…silu_kernel…>`: `void ` and namespaces are dropped, the template
 * arguments collapse to `<…>`, the parameter list goes. Collapsing alone would give silu, mul
 * and copy kernels the same name, so the first specific identifier found inside the template
 * arguments (the functor or the op the kernel was instantiated for) is kept as a hint.
 */

/** Identifiers inside template arguments that say nothing about what the kernel does. */
const GENERIC = new Set([
  'gpu_kernel_impl', 'gpu_kernel_impl_nocast', 'gpu_kernel_with_index', 'unrolled_elementwise_kernel',
  'BinaryFunctor', 'UnaryFunctor', 'BUnaryFunctor', 'AUnaryFunctor', 'OpaqueType', 'TensorListMetadata',
  'TensorSizeStride', 'CatArrInputTensorMetadata', 'TensorIteratorBase', 'TensorBase', 'Tensor', 'Scalar',
  'BFloat16', 'Half', 'Float8_e4m3fn', 'Float8_e5m2', 'float', 'double', 'int', 'long', 'short', 'char', 'bool',
  'unsigned', 'signed', 'const', 'void', 'true', 'false', 'lambda', 'operator', 'array', 'tuple', 'pair',
  'complex', '__nv_bfloat16', '__half', '__nv_fp8_e4m3', 'nv_bfloat16', 'half', 'bfloat16', 'int64_t', 'int32_t',
  'uint32_t', 'uint8_t', 'size_t', 'anonymous', 'namespace', 'detail', 'type', 'Params', 'Arguments', 'Kernel',
  'Policy', 'Config', 'Traits',
]);

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;

function isCppLike(name: string): boolean {
  return name.includes('::') || name.includes('<') || /^[A-Za-z_][\w$]*\(/.test(name);
}

/** The first identifier in `args` that names the kernel's work (see GENERIC), or undefined. */
function hintOf(args: string): string | undefined {
  IDENT.lastIndex = 0;
  for (let m = IDENT.exec(args); m !== null; m = IDENT.exec(args)) {
    const id = m[0];
    const after = args.slice(m.index + id.length, m.index + id.length + 2);
    if (after === '::') continue; // a namespace or class qualifier
    if (id.length < 4 || GENERIC.has(id) || !/[a-z]/.test(id) || /^_*[a-z]?\d/.test(id) || id.endsWith('_t')) continue;
    return id;
  }
  return undefined;
}

/**
 * Walks `s` keeping track of nesting the way C++ names need: `<...>` only counts outside
 * parentheses (`enable_if<((8)>(0)), void>` has one template level), `(...)`, `{...}` and
 * `[...]` always. Calls `visit(i, depth)` for every character with the depth before it.
 * Returns the index of the first top-level `(` that is not `(anonymous namespace)` (the
 * parameter list), or s.length.
 */
function paramListStart(s: string): number {
  const stack: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const inParens = stack.length > 0 && stack[stack.length - 1] !== 0x3c;
    if (c === 0x3c && !inParens) stack.push(c); // <
    else if (c === 0x3e && !inParens) { if (stack.length > 0) stack.pop(); } // >
    else if (c === 0x28 || c === 0x7b || c === 0x5b) { // ( { [
      if (c === 0x28 && stack.length === 0) {
        if (s.startsWith('(anonymous namespace)', i)) { i += 20; continue; }
        return i;
      }
      stack.push(c);
    } else if (c === 0x29 || c === 0x7d || c === 0x5d) { if (stack.length > 0) stack.pop(); }
  }
  return s.length;
}

/**
 * The name without its top-level parameter list and what follows it (`foo<T>(int, float*)` ->
 * `foo<T>`), so that rules matching words do not match parameter types. Non-C++ names (e.g.
 * `Memcpy HtoD (Host -> Device)`) come back unchanged.
 */
export function withoutParams(name: string): string {
  if (!isCppLike(name)) return name;
  return name.slice(0, paramListStart(name));
}

/** Shortened, readable form of a (demangled) kernel name. */
export function shortKernelName(full: string): string {
  let s = full.trim();
  if (s.startsWith('void ')) s = s.slice(5);
  if (!isCppLike(s)) return s;
  s = s.slice(0, paramListStart(s)).replace(/\(anonymous namespace\)::/g, '');
  // Split the qualified name (depth 0) from the template argument lists (depth > 0); keep the
  // text of the last top-level list for the hint (earlier ones belong to a return type).
  let base = '';
  let args = '';
  let current = '';
  let hadArgs = false;
  let depth = 0;
  let parens = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '(' || c === '{' || c === '[') parens++;
    else if (c === ')' || c === '}' || c === ']') parens--;
    if (parens === 0 && c === '<') {
      if (depth === 0) { current = ''; hadArgs = true; base += '<…>'; }
      else current += c;
      depth++;
      continue;
    }
    if (parens === 0 && c === '>' && depth > 0) {
      depth--;
      if (depth === 0) args = current;
      else current += c;
      continue;
    }
    if (depth === 0) base += c;
    else current += c;
  }
  // a return type in front (`std::enable_if<…>::type ns::kernel<…>`): keep the last word
  base = base.trim();
  const space = base.lastIndexOf(' ');
  if (space >= 0) base = base.slice(space + 1);
  if (base.endsWith('<…>')) base = base.slice(0, -3);
  else args = '';
  // drop namespace / class qualifiers
  const cut = base.lastIndexOf('::');
  if (cut >= 0 && cut < base.length - 2) base = base.slice(cut + 2);
  base = base.replace(/<…>/g, '');
  if (!hadArgs || args === '') return base || s;
  const hint = hintOf(args);
  return hint !== undefined ? `${base}<…${hint}…>` : `${base}<…>`;
}

/**
 * Short names for a list of full names, made unique: when two different full names shorten to
 * the same text, the later ones get ` [2]`, ` [3]`, ... (in list order).
 */
export function uniqueShortNames(full: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return full.map((f) => {
    const s = shortKernelName(f);
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return n === 1 ? s : `${s} [${n}]`;
  });
}
