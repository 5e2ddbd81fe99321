#!/usr/bin/env node
/**
 * Rewrites imports of a package's root (`@tributary/contract`, `@tributary/runtime`,
 * `@tributary/warehouse`) into imports of its entry points (`@tributary/contract/spec`,
 * `@tributary/runtime/nats`, ...), so each file says which part of a package it uses
 * (ARCHITECTURE.md, layering). The entry points are those each package's `package.json` `exports`
 * opens; which names each one exports is asked of the TypeScript compiler.
 *
 *   node scripts/entry-imports.js [--check] [file or folder ...]   (default: the whole repository)
 *
 * `--check` changes nothing and exits 1 naming every file that still imports a package root.
 * Run Prettier on the files it lists afterwards. An import it cannot split (a namespace import)
 * is reported with its file and line, and the script exits 1.
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');
const PACKAGES = ['contract', 'runtime', 'warehouse'];
const SKIP = new Set(['node_modules', 'dist', 'static', '.git', 'coverage', 'results']);

/** `@tributary/<pkg>/<entry>` -> its source file, from the package's `exports`. */
function entryPoints() {
  const out = new Map();
  for (const pkg of PACKAGES) {
    const exportsMap = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', pkg, 'package.json'), 'utf8')).exports;
    for (const [sub, target] of Object.entries(exportsMap)) {
      if (sub === '.' || sub === './package.json') continue;
      const js = typeof target === 'string' ? target : target.default;
      const src = path.join(ROOT, 'packages', pkg, js.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
      out.set(`@tributary/${pkg}${sub.slice(1)}`, src);
    }
  }
  return out;
}

/** For each package, exported name -> the entry point exporting it. */
function nameIndex(entries) {
  const program = ts.createProgram([...entries.values()], { allowJs: false, noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const index = new Map(PACKAGES.map((p) => [`@tributary/${p}`, new Map()]));
  for (const [entry, file] of entries) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`${file}: not found (entry ${entry})`);
    const names = index.get(entry.split('/').slice(0, 2).join('/'));
    for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(sf))) {
      const had = names.get(sym.name);
      if (had && had !== entry) throw new Error(`${sym.name} is exported by both ${had} and ${entry}`);
      names.set(sym.name, entry);
    }
  }
  return index;
}

function sourceFiles(targets) {
  const out = [];
  const walk = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const n of fs.readdirSync(p)) if (!SKIP.has(n)) walk(path.join(p, n));
    } else if (/\.(ts|tsx|js|mjs|cjs)$/.test(p) && !p.endsWith('.d.ts')) out.push(p);
  };
  for (const t of targets) walk(path.resolve(t));
  return out;
}

function rewrite(file, text, index, problems) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edits = [];
  const where = (node) => `${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const entryOf = (root, name, node) => {
    const e = index.get(root).get(name);
    if (!e) problems.push(`${where(node)}: ${root} has no entry point exporting ${name}`);
    return e;
  };
  const visit = (node) => {
    const isImport = ts.isImportDeclaration(node);
    const isExport = ts.isExportDeclaration(node);
    if (
      (isImport || isExport) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      index.has(node.moduleSpecifier.text)
    ) {
      const root = node.moduleSpecifier.text;
      const clause = isImport ? node.importClause : node;
      const named = isImport ? clause?.namedBindings : node.exportClause;
      const splittable = isImport ? !!clause && !clause.name && !!named && ts.isNamedImports(named) : !!named && ts.isNamedExports(named);
      if (!splittable) {
        problems.push(`${where(node)}: cannot split \`${node.getText()}\` (only named imports and exports)`);
        return;
      }
      const typeOnly = isImport ? clause.isTypeOnly : node.isTypeOnly;
      const groups = new Map();
      for (const el of named.elements) {
        const e = entryOf(root, (el.propertyName ?? el.name).text, el);
        if (!e) return;
        if (!groups.has(e)) groups.set(e, []);
        groups.get(e).push(el.getText());
      }
      const kw = isImport ? (typeOnly ? 'import type' : 'import') : typeOnly ? 'export type' : 'export';
      const out = [...groups].map(([e, els]) => `${kw} { ${els.join(', ')} } from '${e}';`).join('\n');
      edits.push([node.getStart(), node.getEnd(), out]);
      return;
    }
    // `import('@tributary/contract').Pipeline` in a type position.
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const root = node.argument.literal.text;
      if (index.has(root)) {
        const q = node.qualifier;
        const first = q && (ts.isIdentifier(q) ? q.text : undefined);
        const e = first && entryOf(root, first, node);
        if (e) edits.push([node.argument.literal.getStart(), node.argument.literal.getEnd(), `'${e}'`]);
        else if (!first) problems.push(`${where(node)}: cannot split \`${node.getText()}\``);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let out = text;
  for (const [start, end, repl] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + repl + out.slice(end);
  return out;
}

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const targets = args.filter((a) => a !== '--check');
  const files = sourceFiles(targets.length > 0 ? targets : ['packages', 'apps', 'services', 'tools', 'bench', 'tests', 'infra', 'scripts']);
  const roots = new RegExp(`['"]@tributary/(${PACKAGES.join('|')})['"]`);
  const candidates = files.filter((f) => roots.test(fs.readFileSync(f, 'utf8')));
  const importers = candidates;
  const index = nameIndex(entryPoints());
  const problems = [];
  let changed = 0;
  for (const f of importers) {
    const text = fs.readFileSync(f, 'utf8');
    const next = rewrite(f, text, index, problems);
    if (next !== text) {
      if (!check) fs.writeFileSync(f, next);
      console.log(path.relative(ROOT, f));
      changed++;
    }
  }
  for (const p of problems) console.error(p);
  process.exit(problems.length > 0 || (check && changed > 0) ? 1 : 0);
}

main();
