import { Node, Project, SyntaxKind, type SourceFile } from 'ts-morph';

/** Doc text of one exported declaration and of the properties inside its builder call. */
export interface DeclDocs {
  doc: string;
  /** Docs of object-literal properties (struct fields, enum members), keyed by property name. */
  props: Record<string, string>;
  line: number;
}

/** Text of a `/** … *\/` comment without its markers and leading stars. */
function cleanJsDoc(raw: string): string {
  return raw
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trimEnd())
    .join('\n')
    .trim();
}

function leadingJsDoc(node: Node): string {
  const docs = node
    .getLeadingCommentRanges()
    .map((c) => c.getText())
    .filter((t) => t.startsWith('/**'));
  return docs.length ? cleanJsDoc(docs[docs.length - 1]!) : '';
}

/**
 * Read the doc comments of every exported `const` in the spec files. ts-morph parses only;
 * the type checker is never touched (it would cost seconds).
 */
export function readDocs(files: string[]): Map<string, Map<string, DeclDocs>> {
  const project = new Project({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { strict: true },
  });
  const out = new Map<string, Map<string, DeclDocs>>();
  for (const file of files) {
    const sf: SourceFile = project.addSourceFileAtPath(file);
    const perFile = new Map<string, DeclDocs>();
    for (const vs of sf.getVariableStatements()) {
      if (!vs.isExported()) continue;
      const doc =
        vs
          .getJsDocs()
          .map((d) => cleanJsDoc(d.getText()))
          .pop() ?? '';
      for (const decl of vs.getDeclarations()) {
        const props: Record<string, string> = {};
        decl.getInitializer()?.forEachDescendant((n) => {
          if (n.getKind() === SyntaxKind.PropertyAssignment && Node.isPropertyAssignment(n)) {
            const d = leadingJsDoc(n);
            if (d && !(n.getName() in props)) props[n.getName()] = d;
          }
        });
        perFile.set(decl.getName(), { doc, props, line: decl.getStartLineNumber() });
      }
    }
    out.set(file, perFile);
  }
  return out;
}
