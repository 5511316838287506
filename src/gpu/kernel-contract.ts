/**
 * Kernel contracts read from the WGSL text: the resources a module declares
 * (`@group(0) @binding(n) var<space, access> name: type`), the layout of every struct it defines
 * (field offsets and sizes by the WGSL memory-layout rules, WGSL spec §14.4 "Memory Layout"), and
 * which resources each entry point statically uses (WGSL spec §11.3.2 "Resource Interface": a
 * resource is in an entry point's interface when the entry point or a function it calls,
 * transitively, names it). Ops bind by these names instead of by position, so a binding or a
 * uniform field the shader does not declare, or one it needs and did not get, is an error
 * naming the kernel, the entry point and the field, not silent garbage.
 *
 * This is a reader for the declarations, not a WGSL compiler: the shader compiler still
 * validates everything else. What it relies on, it checks: a uniform struct whose layout breaks
 * the uniform address space's 16-byte rules (WGSL spec §14.4.4 "Address Space Layout
 * Constraints") is rejected here, with the field's name.
 */

/** A resolved WGSL type with its size and alignment in bytes (WGSL spec §14.4.1, table "Alignment and size"). */
export type WgslType =
  | { kind: 'scalar'; name: 'f32' | 'i32' | 'u32' | 'f16' | 'bool'; size: number; align: number }
  | { kind: 'vector'; n: 2 | 3 | 4; element: WgslScalar; size: number; align: number }
  | { kind: 'matrix'; columns: 2 | 3 | 4; rows: 2 | 3 | 4; element: WgslScalar; columnStride: number; size: number; align: number }
  | { kind: 'array'; element: WgslType; length: number | null; stride: number; size: number; align: number }
  | { kind: 'struct'; name: string; fields: StructField[]; size: number; align: number }
  | { kind: 'opaque'; text: string; size: 0; align: 0 };

export type WgslScalar = Extract<WgslType, { kind: 'scalar' }>;

export interface StructField {
  name: string;
  /** Byte offset from the start of the struct. */
  offset: number;
  type: WgslType;
}

/** One module-scope resource declared with @group/@binding. */
export interface ResourceBinding {
  name: string;
  group: number;
  binding: number;
  /** 'uniform' or 'storage' (other address spaces, textures and samplers are 'other'). */
  space: 'uniform' | 'storage' | 'other';
  access: 'read' | 'read_write' | 'write';
  /** Store type: the struct of a uniform block, `array<f32>` of a storage buffer, …. */
  type: WgslType;
}

/** Everything `parseKernel` reads from one WGSL module. */
export interface KernelContract {
  /** Kernel (module) name, used in every error. */
  kernel: string;
  bindings: Map<string, ResourceBinding>;
  structs: Map<string, Extract<WgslType, { kind: 'struct' }>>;
  /** Entry point → names of the resources it statically uses, in @binding order. */
  entryPoints: Map<string, string[]>;
  /** Names of the module's `override` constants (pipeline constants). */
  overrides: Set<string>;
  /** Module-scope `const` and `override` declarations: their initialiser's tokens (null: an override without a default). */
  scalars: Map<string, string[] | null>;
  /** Module-scope `var<workgroup>` declarations by name. */
  workgroupVars: Map<string, TypeExpr>;
  /** Entry point → the workgroup variables it statically uses (same rule as for resources). */
  entryWorkgroupVars: Map<string, string[]>;
}

type Token = { text: string; pos: number };

/** Strips comments (line and nested block) and splits WGSL into identifiers, numbers and punctuation. */
function tokenize(source: string): Token[] {
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (source.startsWith('/*', i)) {
      const start = i;
      let depth = 0;
      do {
        if (source.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (source.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < source.length);
      // Keep the line breaks (error messages give WGSL line numbers).
      text += source.slice(start, i).replace(/[^\n]/g, ' ');
    } else text += source[i++];
  }
  const tokens: Token[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)|(0[xX][0-9a-fA-F.pP+-]+[fhiu]?|[0-9][0-9.eE]*[fhiu]?)|(->|\S)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) tokens.push({ text: m[0], pos: m.index });
  return tokens;
}

const SCALARS: Record<string, WgslScalar> = {
  f32: { kind: 'scalar', name: 'f32', size: 4, align: 4 },
  i32: { kind: 'scalar', name: 'i32', size: 4, align: 4 },
  u32: { kind: 'scalar', name: 'u32', size: 4, align: 4 },
  f16: { kind: 'scalar', name: 'f16', size: 2, align: 2 },
  bool: { kind: 'scalar', name: 'bool', size: 4, align: 4 },
};
/** Predeclared aliases: vec4f = vec4<f32>, mat2x2h = mat2x2<f16>, …. */
const SUFFIX: Record<string, string> = { f: 'f32', i: 'i32', u: 'u32', h: 'f16' };

const roundUp = (k: number, n: number) => Math.ceil(n / k) * k;

function vector(n: 2 | 3 | 4, element: WgslScalar): WgslType {
  // vec3 is aligned like vec4 but only 3 elements long.
  return { kind: 'vector', n, element, size: n * element.size, align: (n === 2 ? 2 : 4) * element.size };
}

function matrix(columns: 2 | 3 | 4, rows: 2 | 3 | 4, element: WgslScalar): WgslType {
  const column = vector(rows, element);
  const columnStride = roundUp(column.align, column.size);
  return { kind: 'matrix', columns, rows, element, columnStride, size: columns * columnStride, align: column.align };
}

/** A type expression's tokens as a tree: `array<vec4<f32>, 4>` → array[vec4[f32], 4]. */
/** A type as written: its name and template arguments; an expression argument keeps its tokens in `expr`. */
export interface TypeExpr {
  name: string;
  args: TypeExpr[];
  expr?: string[];
}

class Parser {
  i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly kernel: string,
    private readonly source: string,
  ) {}

  fail(message: string, at = this.i): never {
    const pos = this.tokens[Math.min(at, this.tokens.length - 1)]?.pos ?? 0;
    const line = this.source.slice(0, pos).split('\n').length;
    throw new Error(`kernel ${this.kernel}: ${message} (WGSL line ${line})`);
  }

  get done(): boolean {
    return this.i >= this.tokens.length;
  }
  peek(k = 0): string | undefined {
    return this.tokens[this.i + k]?.text;
  }
  next(): string {
    if (this.done) this.fail('unexpected end of the WGSL text');
    return this.tokens[this.i++].text;
  }
  expect(text: string): void {
    const got = this.next();
    if (got !== text) this.fail(`expected '${text}', got '${got}'`, this.i - 1);
  }
  ident(): string {
    const t = this.next();
    if (!/^[A-Za-z_]/.test(t)) this.fail(`expected a name, got '${t}'`, this.i - 1);
    return t;
  }

  /** `@name` or `@name(args)`; returns the name and the argument tokens. */
  attributes(): Map<string, string[]> {
    const attrs = new Map<string, string[]>();
    while (this.peek() === '@') {
      this.next();
      const name = this.ident();
      const args: string[] = [];
      if (this.peek() === '(') {
        this.next();
        let depth = 1;
        for (;;) {
          const t = this.next();
          if (t === '(') depth++;
          if (t === ')' && --depth === 0) break;
          args.push(t);
        }
      }
      attrs.set(name, args);
    }
    return attrs;
  }

  /** A type expression; template arguments may be types, identifiers or integer literals. */
  typeExpr(): TypeExpr {
    const name = this.next();
    const args: TypeExpr[] = [];
    if (this.peek() === '<') {
      this.next();
      for (;;) {
        const arg = this.typeExpr();
        // An expression argument (`array<f32, 2u * WG>`): named '<expr>', its tokens kept.
        let depth = 0;
        const first = arg.name;
        while (depth > 0 || (this.peek() !== ',' && this.peek() !== '>')) {
          const t = this.next();
          if (t === '(') depth++;
          else if (t === ')') depth--;
          arg.expr ??= [first];
          arg.expr.push(t);
          arg.name = '<expr>';
        }
        args.push(arg);
        const t = this.next();
        if (t === '>') break;
        if (t !== ',') this.fail(`expected ',' or '>' in the type arguments of ${name}, got '${t}'`, this.i - 1);
        if (this.peek() === '>') {
          this.next();
          break;
        }
      }
    }
    return { name, args };
  }

  /** Skips to just past the next `;` at bracket depth 0. */
  skipStatement(): void {
    let depth = 0;
    while (!this.done) {
      const t = this.next();
      if (t === '(' || t === '{' || t === '[') depth++;
      else if (t === ')' || t === '}' || t === ']') depth--;
      else if (t === ';' && depth === 0) return;
    }
  }

  /** Tokens between a `{` (current token) and its matching `}`, both consumed. */
  block(): Token[] {
    this.expect('{');
    const start = this.i;
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t === '{') depth++;
      else if (t === '}') depth--;
    }
    return this.tokens.slice(start, this.i - 1);
  }
}

function formatType(t: TypeExpr): string {
  return t.args.length ? `${t.name}<${t.args.map(formatType).join(', ')}>` : t.name;
}

function parseLiteralInt(text: string): number | null {
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)[iu]?$/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Reads `source` (one complete WGSL module, includes already prepended) and returns its
 * contract. `kernel` names the module in errors. Throws on text it cannot read: an unknown type
 * in a struct, a runtime-sized array inside a struct anywhere but last, a fixed array whose
 * length is not an integer literal, a uniform struct that breaks the 16-byte rules, a duplicate
 * struct, function or resource name, or two resources at one @binding used by one entry point.
 */
export function parseKernel(source: string, kernel: string): KernelContract {
  const tokens = tokenize(source);
  const p = new Parser(tokens, kernel, source);
  const structExprs = new Map<string, { fields: { name: string; attrs: Map<string, string[]>; type: TypeExpr }[]; at: number }>();
  const resources: { name: string; attrs: Map<string, string[]>; template: string[]; type: TypeExpr | null; at: number }[] = [];
  const functions = new Map<string, { body: Token[]; params: string[]; entry: boolean; at: number }>();
  const overrides = new Set<string>();
  const scalars = new Map<string, string[] | null>();
  const workgroupVars = new Map<string, TypeExpr>();

  while (!p.done) {
    const attrs = p.attributes();
    const at = p.i;
    const keyword = p.peek();
    if (keyword === undefined) break;
    if (keyword === 'struct') {
      p.next();
      const name = p.ident();
      if (structExprs.has(name)) p.fail(`struct ${name} is declared twice`);
      p.expect('{');
      const fields: { name: string; attrs: Map<string, string[]>; type: TypeExpr }[] = [];
      while (p.peek() !== '}') {
        const fieldAttrs = p.attributes();
        const fieldName = p.ident();
        p.expect(':');
        const type = p.typeExpr();
        fields.push({ name: fieldName, attrs: fieldAttrs, type });
        if (p.peek() === ',') p.next();
        else if (p.peek() !== '}') p.fail(`expected ',' or '}' after field ${name}.${fieldName}, got '${p.peek()}'`);
      }
      p.next();
      if (p.peek() === ';') p.next();
      structExprs.set(name, { fields, at });
    } else if (keyword === 'var') {
      p.next();
      const template: string[] = [];
      if (p.peek() === '<') {
        p.next();
        while (p.peek() !== '>') {
          const t = p.next();
          if (t !== ',') template.push(t);
        }
        p.next();
      }
      const name = p.ident();
      let type: TypeExpr | null = null;
      if (p.peek() === ':') {
        p.next();
        type = p.typeExpr();
      }
      p.skipStatement();
      if (attrs.has('binding') || attrs.has('group')) resources.push({ name, attrs, template, type, at });
      else if (template[0] === 'workgroup' && type) workgroupVars.set(name, type);
    } else if (keyword === 'fn') {
      p.next();
      const name = p.ident();
      p.expect('(');
      const params: string[] = [];
      let depth = 1;
      let expectName = true;
      while (depth > 0) {
        if (p.peek() === '@') {
          p.attributes();
          continue;
        }
        const t = p.next();
        if (t === '(' || t === '<') depth++;
        else if (t === ')' || t === '>') depth--;
        else if (t === ',' && depth === 1) expectName = true;
        else if (expectName && depth === 1 && /^[A-Za-z_]/.test(t)) {
          params.push(t);
          expectName = false;
        }
      }
      while (p.peek() !== '{') p.next();
      const body = p.block();
      if (functions.has(name)) p.fail(`function ${name} is declared twice`, at);
      functions.set(name, { body, params, entry: attrs.has('compute') || attrs.has('vertex') || attrs.has('fragment'), at });
    } else if ((keyword === 'const' || keyword === 'override') && /^[A-Za-z_]/.test(p.peek(1) ?? '')) {
      p.next();
      const name = p.ident();
      if (keyword === 'override') overrides.add(name);
      // The initialiser's tokens, for sizing workgroup arrays (workgroup-memory.ts).
      const start = p.i;
      p.skipStatement();
      const statement = tokens.slice(start, p.i - 1).map((t) => t.text);
      const eq = statement.indexOf('=');
      scalars.set(name, eq < 0 ? null : statement.slice(eq + 1));
    } else {
      // alias, enable, requires, diagnostic, const_assert, a stray ';'.
      p.skipStatement();
    }
  }

  // Struct layouts, resolved on demand (a struct may use one declared later).
  const structs = new Map<string, Extract<WgslType, { kind: 'struct' }>>();
  const resolving = new Set<string>();
  const resolve = (t: TypeExpr, where: string): WgslType => {
    const scalar = SCALARS[t.name];
    if (scalar) return scalar;
    let m = /^vec([234])([fiuh]?)$/.exec(t.name);
    if (m) {
      const element = m[2] ? SCALARS[SUFFIX[m[2]]] : t.args[0] && SCALARS[t.args[0].name];
      if (!element) throw new Error(`kernel ${kernel}: ${where} has an unknown vector type ${formatType(t)}`);
      return vector(Number(m[1]) as 2 | 3 | 4, element);
    }
    m = /^mat([234])x([234])([fh]?)$/.exec(t.name);
    if (m) {
      const element = m[3] ? SCALARS[SUFFIX[m[3]]] : t.args[0] && SCALARS[t.args[0].name];
      if (!element) throw new Error(`kernel ${kernel}: ${where} has an unknown matrix type ${formatType(t)}`);
      return matrix(Number(m[1]) as 2 | 3 | 4, Number(m[2]) as 2 | 3 | 4, element);
    }
    if (t.name === 'array') {
      const element = resolve(t.args[0], where);
      const stride = roundUp(element.align, element.size);
      if (t.args.length < 2) return { kind: 'array', element, length: null, stride, size: 0, align: element.align };
      const length = parseLiteralInt(t.args[1].name);
      if (length === null || length < 1) {
        // Sized by a constant or an override: fine for workgroup arrays, not for host-shared data.
        return { kind: 'opaque', text: formatType(t), size: 0, align: 0 };
      }
      return { kind: 'array', element, length, stride, size: length * stride, align: element.align };
    }
    if (t.name === 'atomic') return resolve(t.args[0], where);
    const decl = structExprs.get(t.name);
    if (!decl) return { kind: 'opaque', text: formatType(t), size: 0, align: 0 };
    const cached = structs.get(t.name);
    if (cached) return cached;
    if (resolving.has(t.name)) throw new Error(`kernel ${kernel}: struct ${t.name} contains itself`);
    resolving.add(t.name);
    const fields: StructField[] = [];
    let end = 0;
    let align = 1;
    decl.fields.forEach((f, k) => {
      const type = resolve(f.type, `field ${t.name}.${f.name}`);
      if (type.kind === 'opaque') {
        throw new Error(`kernel ${kernel}: field ${t.name}.${f.name} has type ${type.text}, which has no host-shareable layout here`);
      }
      if (type.kind === 'array' && type.length === null && k !== decl.fields.length - 1) {
        throw new Error(`kernel ${kernel}: field ${t.name}.${f.name} is a runtime-sized array but not the last field`);
      }
      const alignAttr = f.attrs.get('align');
      const sizeAttr = f.attrs.get('size');
      const fieldAlign = alignAttr ? parseLiteralInt(alignAttr[0]) : type.align;
      const fieldSize = sizeAttr ? parseLiteralInt(sizeAttr[0]) : type.size;
      if (fieldAlign === null || fieldSize === null) {
        throw new Error(`kernel ${kernel}: field ${t.name}.${f.name}: @align/@size must be integer literals`);
      }
      const offset = roundUp(fieldAlign, end);
      fields.push({ name: f.name, offset, type });
      end = offset + fieldSize;
      align = Math.max(align, fieldAlign);
    });
    const layout = { kind: 'struct' as const, name: t.name, fields, size: roundUp(align, end), align };
    resolving.delete(t.name);
    structs.set(t.name, layout);
    return layout;
  };
  for (const name of structExprs.keys()) resolve({ name, args: [] }, `struct ${name}`);

  const bindings = new Map<string, ResourceBinding>();
  for (const r of resources) {
    const group = parseLiteralInt(r.attrs.get('group')?.[0] ?? '');
    const binding = parseLiteralInt(r.attrs.get('binding')?.[0] ?? '');
    if (group === null || binding === null) p.fail(`resource ${r.name} needs integer literal @group and @binding`, r.at);
    if (bindings.has(r.name)) p.fail(`resource ${r.name} is declared twice`, r.at);
    const spaceName = r.template[0];
    const space = spaceName === 'uniform' || spaceName === 'storage' ? spaceName : 'other';
    const access = (r.template[1] ?? 'read') as ResourceBinding['access'];
    const type = r.type ? resolve(r.type, `resource ${r.name}`) : ({ kind: 'opaque', text: '?', size: 0, align: 0 } as const);
    if (space === 'uniform') checkUniformLayout(kernel, r.name, type);
    bindings.set(r.name, { name: r.name, group: group!, binding: binding!, space, access, type });
  }

  // Static use: the names an entry point's body and its callees mention, skipping member
  // accesses (after a '.') and names a parameter or an enclosing block's let/var/const shadows.
  // (A `for (var x ...)` declaration is scoped to the enclosing block here, slightly wider than
  // WGSL's scope; no kernel reuses a resource's name after such a loop.)
  const direct = new Map<string, Set<string>>();
  for (const [name, fn] of functions) {
    const used = new Set<string>();
    const scopes: Set<string>[] = [new Set(fn.params)];
    const shadowed = (n: string) => scopes.some((sc) => sc.has(n));
    fn.body.forEach((tok, k) => {
      const t = tok.text;
      if (t === '{') scopes.push(new Set());
      else if (t === '}') scopes.pop();
      const prev = fn.body[k - 1]?.text;
      if (prev === '.') return;
      if (prev === 'let' || prev === 'var' || prev === 'const' || (prev === '>' && isVarTemplateEnd(fn.body, k - 1))) {
        scopes[scopes.length - 1].add(t);
        return;
      }
      if ((bindings.has(t) || functions.has(t) || workgroupVars.has(t)) && !shadowed(t)) used.add(t);
    });
    direct.set(name, used);
  }
  const entryPoints = new Map<string, string[]>();
  const entryWorkgroupVars = new Map<string, string[]>();
  for (const [name, fn] of functions) {
    if (!fn.entry) continue;
    const seen = new Set<string>([name]);
    const stack = [name];
    const used = new Set<string>();
    const workgroup = new Set<string>();
    while (stack.length) {
      for (const ref of direct.get(stack.pop()!) ?? []) {
        if (bindings.has(ref)) used.add(ref);
        else if (workgroupVars.has(ref)) workgroup.add(ref);
        else if (!seen.has(ref)) {
          seen.add(ref);
          stack.push(ref);
        }
      }
    }
    const ordered = [...used].sort((a, b) => bindings.get(a)!.binding - bindings.get(b)!.binding);
    for (let k = 1; k < ordered.length; k++) {
      const [x, y] = [bindings.get(ordered[k - 1])!, bindings.get(ordered[k])!];
      if (x.group === y.group && x.binding === y.binding) {
        throw new Error(`kernel ${kernel}: entry point ${name} uses both ${x.name} and ${y.name} at @binding(${x.binding})`);
      }
    }
    entryPoints.set(name, ordered);
    entryWorkgroupVars.set(name, [...workgroup]);
  }
  return { kernel, bindings, structs, entryPoints, overrides, scalars, workgroupVars, entryWorkgroupVars };
}

/** Whether `body[k]` is the '>' closing a `var<...>` template. */
function isVarTemplateEnd(body: Token[], k: number): boolean {
  for (let j = k - 1; j >= 0 && j >= k - 6; j--) {
    if (body[j].text === '<') return body[j - 1]?.text === 'var';
  }
  return false;
}

/**
 * WGSL spec §14.4.4: in the uniform address space, arrays need a 16-byte-multiple stride and
 * struct/array members a 16-byte-aligned offset; a struct member is followed by at least
 * roundUp(16, its size) bytes.
 */
function checkUniformLayout(kernel: string, resource: string, type: WgslType, path = resource): void {
  if (type.kind === 'array') {
    if (type.stride % 16 !== 0) {
      throw new Error(`kernel ${kernel}: uniform ${path} is an array with a ${type.stride}-byte stride; uniform arrays need a multiple of 16 (use vec4 elements)`);
    }
    checkUniformLayout(kernel, resource, type.element, `${path}[]`);
  }
  if (type.kind !== 'struct') return;
  type.fields.forEach((f, k) => {
    const at = `${path}.${f.name}`;
    if ((f.type.kind === 'array' || f.type.kind === 'struct') && f.offset % 16 !== 0) {
      throw new Error(`kernel ${kernel}: uniform field ${at} is at offset ${f.offset}; arrays and structs in a uniform block need a multiple of 16`);
    }
    const following = type.fields[k + 1];
    if (f.type.kind === 'struct' && following && following.offset - f.offset < roundUp(16, f.type.size)) {
      throw new Error(`kernel ${kernel}: uniform field ${type.name}.${following.name} follows struct ${at} too closely (needs ${roundUp(16, f.type.size)} bytes)`);
    }
    checkUniformLayout(kernel, resource, f.type, at);
  });
}

/** A value for a uniform field: a number for scalars, numbers for vectors/matrices (column-major), a list for arrays, an object for structs. */
export type UniformValue = number | readonly number[] | readonly UniformValue[] | { readonly [field: string]: UniformValue };

/**
 * Packs `values` into the bytes of `type` (a struct), little-endian, at the offsets the layout
 * gives; padding is zero. Every field must be given except those whose name starts with `_`
 * (padding by convention, zero when absent). Throws, naming `where` (kernel, entry point and
 * resource) and the field path, on a missing or unknown field, a value of the wrong form, a
 * u32 outside [0, 2^32), an i32 outside [-2^31, 2^31), a non-integer integer or a non-finite f32.
 */
export function packUniform(where: string, type: WgslType, values: unknown, resource: string): Uint8Array {
  const bytes = new Uint8Array(roundUp(16, Math.max(type.size, 16)));
  const view = new DataView(bytes.buffer);
  // Nearly every dispatch passes a struct of scalars, all valid: packed without building the
  // closures, field-name set and field paths the checking path below needs for its messages
  // (about 6 µs per 16-field block under tsx, per dispatch). Anything else, or any bad value,
  // takes the checking path, which writes every field again and names the problem.
  if (type.kind === 'struct' && packScalarFields(view, type.fields, values)) return bytes;
  const write = (t: WgslType, v: unknown, offset: number, path: string): void => {
    const bad = (what: string): never => {
      throw new Error(`${where}: ${path} ${what}, got ${describe(v)}`);
    };
    switch (t.kind) {
      case 'scalar': {
        if (typeof v !== 'number') bad(`must be a number (${t.name})`);
        const n = v as number;
        if (t.name === 'f32') {
          if (!Number.isFinite(n)) bad('must be a finite f32');
          view.setFloat32(offset, n, true);
        } else if (t.name === 'u32' || t.name === 'bool') {
          if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) bad('must be an integer in [0, 2^32) (u32)');
          view.setUint32(offset, n, true);
        } else if (t.name === 'i32') {
          if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) bad('must be an integer in [-2^31, 2^31) (i32)');
          view.setInt32(offset, n, true);
        } else bad('is f16, which packUniform does not write');
        return;
      }
      case 'vector':
        if (!Array.isArray(v) || v.length !== t.n) bad(`must be a list of ${t.n} numbers`);
        (v as number[]).forEach((x, k) => write(t.element, x, offset + k * t.element.size, `${path}[${k}]`));
        return;
      case 'matrix': {
        if (!Array.isArray(v) || v.length !== t.columns * t.rows) bad(`must be a list of ${t.columns * t.rows} numbers, column-major`);
        (v as number[]).forEach((x, k) => {
          const [c, r] = [Math.floor(k / t.rows), k % t.rows];
          write(t.element, x, offset + c * t.columnStride + r * t.element.size, `${path}[${k}]`);
        });
        return;
      }
      case 'array':
        if (t.length === null) bad('is a runtime-sized array, which a uniform cannot hold');
        if (!Array.isArray(v) || v.length !== t.length) bad(`must be a list of ${t.length} elements`);
        (v as unknown[]).forEach((x, k) => write(t.element, x, offset + k * t.stride, `${path}[${k}]`));
        return;
      case 'struct': {
        if (!v || typeof v !== 'object' || Array.isArray(v)) bad(`must be an object with the fields of ${t.name}`);
        const given = v as Record<string, unknown>;
        const names = new Set(t.fields.map((f) => f.name));
        for (const key of Object.keys(given)) {
          if (!names.has(key)) {
            throw new Error(`${where}: ${path} has no field '${key}'; ${t.name} has ${t.fields.map((f) => f.name).join(', ')}`);
          }
        }
        for (const f of t.fields) {
          if (given[f.name] === undefined) {
            if (f.name.startsWith('_')) continue;
            throw new Error(`${where}: missing field ${path}.${f.name} (${typeName(f.type)} at offset ${f.offset} of ${t.name})`);
          }
          write(f.type, given[f.name], offset + f.offset, `${path}.${f.name}`);
        }
        return;
      }
      case 'opaque':
        bad(`has type ${t.text}, which cannot be written from the host`);
    }
  };
  write(type, values, 0, resource);
  return bytes;
}

/**
 * Writes `values` (an object with exactly the given fields) into `view` when every field of
 * `fields` is a scalar and every value is valid for it, as packUniform's checking path would;
 * returns false, having written some fields or none, at the first thing that path must judge.
 */
function packScalarFields(view: DataView, fields: readonly StructField[], values: unknown): boolean {
  if (!values || typeof values !== 'object' || Array.isArray(values)) return false;
  const given = values as Record<string, unknown>;
  let present = 0;
  for (const f of fields) {
    const v = given[f.name];
    if (v === undefined) {
      if (f.name.startsWith('_')) continue;
      return false;
    }
    present++;
    const t = f.type;
    if (t.kind !== 'scalar' || typeof v !== 'number') return false;
    if (t.name === 'f32') {
      if (!Number.isFinite(v)) return false;
      view.setFloat32(f.offset, v, true);
    } else if (t.name === 'u32' || t.name === 'bool') {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) return false;
      view.setUint32(f.offset, v, true);
    } else if (t.name === 'i32') {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) return false;
      view.setInt32(f.offset, v, true);
    } else return false;
  }
  // An unknown field (one the struct does not have) is the checking path's to name.
  let keys = 0;
  for (const key in given) if (Object.hasOwn(given, key)) keys++;
  return keys === present;
}

export function typeName(t: WgslType): string {
  switch (t.kind) {
    case 'scalar':
      return t.name;
    case 'vector':
      return `vec${t.n}<${t.element.name}>`;
    case 'matrix':
      return `mat${t.columns}x${t.rows}<${t.element.name}>`;
    case 'array':
      return t.length === null ? `array<${typeName(t.element)}>` : `array<${typeName(t.element)}, ${t.length}>`;
    case 'struct':
      return t.name;
    case 'opaque':
      return t.text;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return typeof v;
}
