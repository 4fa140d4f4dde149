// Bundles the console into src/conveyor/ui/static/: assets/app-HASH.js and
// assets/app-HASH.css, the entry, and assets/chunk-HASH.js, the code it shares with the
// pages it imports when first shown (the graph pages with dagre), all named by their
// content so the server lets browsers keep them; then index.html naming the entry and,
// to fetch them beside it, the chunks it imports at once (never those of the pages shown
// later), written last: its presence means a complete build.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "conveyor", "ui", "static");

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
const entry = join(here, "src", "main.jsx");
const result = await build({
  entryPoints: { app: entry },
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  outdir: join(out, "assets"),
  metafile: true,
  absWorkingDir: here,
  logLevel: "warning",
});
const outputs = Object.entries(result.metafile.outputs);
const [script, { cssBundle, imports }] = outputs.find(
  ([, output]) => output.entryPoint === relative(here, entry),
);
const preloads = imports
  .filter((imported) => imported.kind === "import-statement")
  .map((imported) => `\n    <link rel="modulepreload" href="/ui/assets/${basename(imported.path)}">`);
const page = (await readFile(join(here, "src", "index.html"), "utf8"))
  .replace("{{app.js}}", `/ui/assets/${basename(script)}`)
  .replace("{{app.css}}", `/ui/assets/${basename(cssBundle)}`)
  .replace("{{preloads}}", preloads.join(""));
await writeFile(join(out, "index.html"), page);
const names = outputs.map(([path]) => basename(path));
console.log(`console built into ${out}: ${names.join(", ")}, index.html`);
