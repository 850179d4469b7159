// A purpose-built reader for the YAML subset deploy/*.yaml is written in (block mappings and
// sequences, plain/quoted scalars, `{}`/`[]`, comments, `---` between documents), so the
// manifests are checked without a YAML dependency. Anything outside the subset throws: the test
// then says so instead of reading the manifest wrongly.

type Line = { indent: number; text: string; number: number };

export function parseYamlDocuments(source: string): unknown[] {
  const documents: Line[][] = [[]];
  source.split('\n').forEach((raw, index) => {
    if (/^---\s*$/.test(raw)) return void documents.push([]);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') return;
    if (raw.includes('\t')) throw new Error(`line ${index + 1}: tabs are not in the subset`);
    documents.at(-1)!.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: index + 1 });
  });
  return documents.filter((lines) => lines.length > 0).map((lines) => new Reader(lines).document());
}

class Reader {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  document(): unknown {
    const value = this.node(this.lines[0]!.indent);
    if (this.i < this.lines.length) throw new Error(`line ${this.lines[this.i]!.number}: unexpected indentation`);
    return value;
  }

  private node(indent: number): unknown {
    const line = this.lines[this.i]!;
    if (line.indent !== indent) throw new Error(`line ${line.number}: expected indentation ${indent}`);
    return isItem(line.text) ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    while (this.i < this.lines.length && this.lines[this.i]!.indent === indent && isItem(this.lines[this.i]!.text)) {
      const line = this.lines[this.i]!;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        items.push(this.nested(indent));
      } else if (keyOf(rest)) {
        // `- key: value` opens a mapping whose keys line up with `key`.
        const column = indent + (line.text.length - rest.length);
        this.lines[this.i] = { indent: column, text: rest, number: line.number };
        items.push(this.mapping(column));
      } else {
        this.i++;
        items.push(scalar(rest, line.number));
      }
    }
    return items;
  }

  private mapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    while (this.i < this.lines.length && this.lines[this.i]!.indent === indent && !isItem(this.lines[this.i]!.text)) {
      const line = this.lines[this.i]!;
      const key = keyOf(line.text);
      if (!key) throw new Error(`line ${line.number}: not a "key: value" line: ${line.text}`);
      if (key.name in map) throw new Error(`line ${line.number}: duplicate key ${key.name}`);
      this.i++;
      if (key.value !== '') map[key.name] = scalar(key.value, line.number);
      else {
        const next = this.lines[this.i];
        // A sequence may sit at the key's own indentation (`key:\n- a`).
        if (next && (next.indent > indent || (next.indent === indent && isItem(next.text)))) map[key.name] = this.node(next.indent);
        else map[key.name] = null;
      }
    }
    return map;
  }

  private nested(indent: number): unknown {
    const next = this.lines[this.i];
    return next && next.indent > indent ? this.node(next.indent) : null;
  }
}

function isItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function keyOf(text: string): { name: string; value: string } | undefined {
  const match = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"{[#-][^:]*?|-[^\s:][^:]*?):(?:\s+(.*))?$/.exec(text);
  if (!match) return undefined;
  const name = match[1]!;
  return { name: name.startsWith('"') || name.startsWith("'") ? (scalar(name, 0) as string) : name, value: match[2] ?? '' };
}

function scalar(text: string, line: number): unknown {
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${line}: unterminated quote`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) return JSON.parse(text);
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (/^[[{|>&*!%@`]/.test(text)) throw new Error(`line ${line}: "${text}" is outside the subset`);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === '~') return null;
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}

/** Drops `# comment` outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if ((c === "'" || c === '"') && (i === 0 || /[\s:[{,]/.test(line[i - 1]!))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}
