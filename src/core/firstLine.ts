/** The first line of a command's output, for one-line messages. */
export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
