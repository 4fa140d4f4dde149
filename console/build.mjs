// Bundles the console into src/conveyor/ui/static/: assets/app-HASH.js and
// assets/app-HASH.css (named by their content, so the server lets browsers keep them),
// then index.html naming them, written last: its presence means a complete build.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "conveyor", "ui", "static");

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, "src", "main.jsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: join(out, "assets"),
  metafile: true,
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const named = (extension) => outputs.find((name) => name.endsWith(extension));
const page = (await readFile(join(here, "src", "index.html"), "utf8"))
  .replace("{{app.js}}", `/ui/assets/${named(".js")}`)
  .replace("{{app.css}}", `/ui/assets/${named(".css")}`);
await writeFile(join(out, "index.html"), page);
console.log(`console built into ${out}: ${outputs.join(", ")}, index.html`);
