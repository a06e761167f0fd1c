import fs from 'node:fs';
import path from 'node:path';

/**
 * The project's root: the first folder up from `from` holding a package.json. The same whether
 * the code runs from src/ (ts-node) or from its compiled copy in dist/src/.
 */
export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json in any folder above ${from}`);
  }
}
