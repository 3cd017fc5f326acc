// Writes a Llama-2-format fixture of ids and decodes made with tokenizers.js
// (@huggingface/tokenizers, the tokenizer part of transformers.js), a local stand-in for the
// Python `tokenizers` library on machines that cannot install it. It gives no offsets, and it is
// not Hugging Face's Rust code: tests name its fixtures as tokenizers.js ones, never as HF's.
// No token decodes either: its ByteFallback decodes a run of byte tokens that is not UTF-8 with
// TextDecoder (one U+FFFD per maximal invalid subpart), where HF's gives one U+FFFD per byte;
// whole strings decode to valid text, so the string decodes do not meet that difference.
//
// usage (an ES module finds packages from its own folder, so it runs from a copy beside them):
//   python3 tests/hf_tokenizer_fixtures.py --llama2-strings /tmp/strings.json
//   mkdir -p /tmp/tjs && (cd /tmp/tjs && npm install --ignore-scripts @huggingface/tokenizers@0.2.0)
//   cp tests/tokenizers_js_fixture.mjs /tmp/tjs/ && node /tmp/tjs/tokenizers_js_fixture.mjs \
//     ~/.cache/dysco/tokenizers/lenml_llama2 /tmp/strings.json tests/fixtures/tokenizer_lenml_llama2_tokenizersjs.json
import { Tokenizer } from "@huggingface/tokenizers";
import { createHash } from "crypto";
import fs from "fs";

const [dir, stringsPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node tests/tokenizers_js_fixture.mjs TOKENIZER_DIR STRINGS.json OUT.json");
  process.exit(2);
}
const tokenizerJson = fs.readFileSync(`${dir}/tokenizer.json`);
const tok = new Tokenizer(JSON.parse(tokenizerJson), JSON.parse(fs.readFileSync(`${dir}/tokenizer_config.json`)));
const IDS_SPECIAL_FIRST = 300;  // as tests/hf_tokenizer_fixtures.py: add_special_tokens=True for these
const strings = JSON.parse(fs.readFileSync(stringsPath, "utf8")).map((text, i) => {
  const ids = tok.encode(text, { add_special_tokens: false }).ids;
  const entry = { text, ids };
  if (i < IDS_SPECIAL_FIRST) entry.ids_special = tok.encode(text).ids;
  const decode = (list, options) => (list.length ? tok.decode(list, options) : "");  // it refuses []
  const decoded = decode(ids);
  if (decoded !== text) entry.decoded = decoded;
  const skipped = decode(ids, { skip_special_tokens: true });
  if (skipped !== decoded) entry.decoded_skip = skipped;
  return entry;
});
// The package exports no package.json: it lies one folder above its dist/ entry point.
const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.resolve("@huggingface/tokenizers"))));
fs.writeFileSync(outPath, JSON.stringify({
  tokenizer: dir.split("/").filter(Boolean).pop(),
  oracle: `tokenizers.js (${pkg.name} ${pkg.version}), not the Python tokenizers library`,
  tokenizer_json_sha256: createHash("sha256").update(tokenizerJson).digest("hex"),
  strings,
}));
console.log(`${outPath}: ${strings.length} strings`);
