/**
 * Every package a workspace's runtime code imports is one of that workspace's own `dependencies`.
 * In a checkout npm hoists everything to the root `node_modules`, so an undeclared import works in
 * development and tests, and fails only in a service image, which installs the service's
 * production dependencies alone (an ingest-api image once crashed at start on `pg-copy-streams`).
 * Type-only imports are erased by the compiler and need no runtime dependency; the monitor's
 * `web/src` is bundled at build time and is not checked here.
 */
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT, sourceFiles } from './import-graph';

const BUILTINS = new Set(builtinModules);

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or undefined for a relative or builtin one. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return BUILTINS.has(name) ? undefined : name;
}

/** Module specifiers the compiled JavaScript still loads: value imports, re-exports, require() and import(). */
function runtimeImports(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause !== undefined &&
          !clause.name &&
          clause.namedBindings !== undefined &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
        out.push((node.arguments[0] as ts.StringLiteral).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

/** The workspace folder (`services/loader`) a file belongs to. */
function workspaceOf(file: string): string {
  return path.relative(ROOT, file).split(path.sep).slice(0, 2).join('/');
}

describe('declared dependencies', () => {
  it('every package imported at run time is in the importing workspace’s dependencies', () => {
    const missing: string[] = [];
    const deps = new Map<string, Set<string>>();
    for (const file of sourceFiles()) {
      if (file.includes(`${path.sep}web${path.sep}src${path.sep}`)) continue;
      const ws = workspaceOf(file);
      if (!deps.has(ws)) {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, ws, 'package.json'), 'utf8')) as {
          name: string;
          dependencies?: Record<string, string>;
        };
        deps.set(ws, new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {})]));
      }
      for (const spec of runtimeImports(file)) {
        const name = packageOf(spec);
        if (name && !deps.get(ws)!.has(name))
          missing.push(`${path.relative(ROOT, file)} imports ${spec}: add "${name}" to ${ws}/package.json dependencies`);
      }
    }
    expect(missing).toEqual([]);
  });
});
