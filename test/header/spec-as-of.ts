// A copy of the spec as it would have been written at an older release: the spec language and the spec
// modules copied, then every declaration dated later than the release removed from the source (exported
// items whose options say `since: 'X'`, members `{ value, since: 'X' }` and `bit(n, { since: 'X' })`,
// fields `addedIn('X', ...)`). Used to check that header-check suggestions bring such a spec up to a newer
// header.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Node, Project, SyntaxKind, type ObjectLiteralExpression } from 'ts-morph';
import { REPO_ROOT } from '../../generator/ir/load.js';
import { compareReleases } from '../../spec/dsl/release.js';

/** The `since` string property of an object literal, if any. */
function sinceOf(o: ObjectLiteralExpression): string | undefined {
  const p = o.getProperty('since');
  const init = p && Node.isPropertyAssignment(p) ? p.getInitializer() : undefined;
  return init && Node.isStringLiteral(init) ? init.getLiteralValue() : undefined;
}

/** Copy spec/dsl and spec/vfio to `dest` and drop what arrived after `release`; returns the entry module. */
export async function specCopyAsOf(dest: string, release: string): Promise<string> {
  mkdirSync(dest, { recursive: true });
  cpSync(join(REPO_ROOT, 'spec'), dest, { recursive: true });
  // outside the repository the copy needs its own "type": "module", as the project's package.json says
  writeFileSync(join(dest, 'package.json'), '{ "type": "module" }\n');
  const later = (r: string | undefined) => r !== undefined && compareReleases(r, release) > 0;
  const project = new Project({ skipAddingFilesFromTsConfig: true });
  for (const sf of project.addSourceFilesAtPaths(join(dest, 'vfio', '*.ts'))) {
    // whole exported items
    for (const st of sf.getVariableStatements()) {
      const call = st.getDeclarations()[0]?.getInitializer();
      if (!call || !Node.isCallExpression(call)) continue;
      const opts = call.getArguments().filter(Node.isObjectLiteralExpression).at(-1);
      if (opts && later(sinceOf(opts))) st.remove();
    }
    // members and fields, innermost first so removals never touch a removed node
    const doomed: Node[] = [];
    for (const pa of sf.getDescendantsOfKind(SyntaxKind.PropertyAssignment)) {
      const init = pa.getInitializer();
      if (init && Node.isObjectLiteralExpression(init) && init.getProperty('value') && later(sinceOf(init)))
        doomed.push(pa);
      else if (init && Node.isCallExpression(init)) {
        const callee = init.getExpression().getText();
        const args = init.getArguments();
        if (callee === 'addedIn' && Node.isStringLiteral(args[0]!) && later(args[0].getLiteralValue())) doomed.push(pa);
        const bitOpts = args[1];
        if (callee === 'bit' && bitOpts && Node.isObjectLiteralExpression(bitOpts) && later(sinceOf(bitOpts)))
          doomed.push(pa);
      }
    }
    for (const n of doomed.reverse()) if (!n.wasForgotten()) (n as unknown as { remove(): void }).remove();
  }
  await project.save();
  return join(dest, 'vfio', 'index.ts');
}
