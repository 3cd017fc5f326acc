#!/usr/bin/env python3
"""Writes Hugging Face reference fixtures for dysco's tokenizer (run on the GPU host, offline).

usage: tests/hf_tokenizer_fixtures.py --qwen3 DIR --llama DIR [--llama31-template FILE] --out OUTDIR
       tests/hf_tokenizer_fixtures.py --llama2 DIR --out OUTDIR     the Llama-2 fixture alone
       tests/hf_tokenizer_fixtures.py --corpus-only      per-category counts and sizes of the corpus;
                                                         needs neither transformers nor tokenizers
       tests/hf_tokenizer_fixtures.py --llama2-strings FILE   the Llama-2 string set as a JSON list
                                                         (for tests/tokenizers_js_fixture.mjs)
       tests/hf_tokenizer_fixtures.py --offsets --qwen3 DIR --llama DIR --out OUTDIR
                                                         the byte-level offset fixtures alone; needs
                                                         tokenizers or transformers (either one)

Each DIR holds tokenizer.json + tokenizer_config.json (loadable with
transformers.AutoTokenizer.from_pretrained(DIR)). Writes OUTDIR/tokenizer_qwen3.json and
OUTDIR/tokenizer_llama3.json, compact UTF-8 JSON, each:

  {"tokenizer": "qwen3"|"llama3", "transformers": version, "tokenizers": version,
   "strings": [{"text", "ids", "ids_special" (first 300 strings only), "decoded" (only when it
                differs from text), "decoded_skip" (only when it differs from decoded)}, ...],
   "string_categories": [category of strings[i], ...],
   "token_decodes": [{"ids", "text"} | {"ids", "skip_special_tokens": true, "text"}, ...],
   "chats": [{"name", "messages", "add_generation_prompt", "enable_thinking", "template",
              "text", "ids"}, ...],
   "warmup": [{"template", "enable_thinking", "with_prompt_len", "without_prompt_len", "auto"}, ...],
   "tokenizer_class": the class AutoTokenizer picked,
   "raw_tokenizers_mismatches": strings whose ids differ between AutoTokenizer and a plain
                                tokenizers.Tokenizer.from_file(DIR/tokenizer.json) (expected 0)}

What the fixtures pin down:
  strings        encoding without / with special tokens of >= 5,000 deterministic strings (the corpus
                 below: prose, code, numbers, every kind of whitespace, many scripts, emoji, combining
                 marks, NFC-sensitive text, odd code points, special-token text and near misses,
                 casing of contractions, very long words, empty and one-character strings), and the
                 round trip through decode (with and without skip_special_tokens).
  token_decodes  decoding single ids (ids 0..299 and random ones, added/special ones included) and
                 chunks of 1-3 ids cut from multilingual strings: byte sequences that are not valid
                 UTF-8 on their own, which HF replaces with U+FFFD; skip_special_tokens on id lists
                 holding special tokens.
  chats          apply_chat_template, rendered text and ids, for the tokenizer's own template (and the
                 Llama-3.1 template given with --llama31-template), with add_generation_prompt and
                 enable_thinking (true / false / not passed = null) varied.
  warmup         how many tokens add_generation_prompt adds to [{"role":"user","content":"Hi"}]
                 (expected: Qwen3 7 with thinking off, 3 with thinking on; Llama 4).

--llama2 DIR (a Llama-2-format tokenizer.json + tokenizer_config.json: meta-llama/Llama-2-7b-hf's, or
the lenml_llama2 files launch/fetch-tokenizers.sh fetches) writes OUTDIR/tokenizer_NAME.json, NAME
DIR's folder name, the same layout with offsets, for the SentencePiece-style path:

  {"tokenizer": NAME, "transformers", "tokenizers", "tokenizer_json_sha256",
   "strings": [{"text", "ids" and "offsets" (add_special_tokens=False), "ids_special" and
                "offsets_special" (=True, as HELMET calls it; first 300 strings only),
                "decoded" (only when it differs from text), "decoded_skip" (only when it differs
                from decoded), "decoded_special" (decode of ids_special)}, ...],
   offsets being the offset_mapping in code points, flattened: [start0, end0, start1, end1, ...]
   "token_decodes": as above, "autotokenizer_class",
   "autotokenizer_mismatches": strings whose ids_special or offset_mapping differ between
                               transformers.AutoTokenizer and the tokenizers library (expected 0)}

Its values come from tokenizers.Tokenizer.from_file(DIR/tokenizer.json), the file's own semantics,
which is what HELMET's transformers 4 ran (LlamaTokenizerFast loads that file as it is); transformers
5's AutoTokenizer may rebuild a Llama tokenizer from its vocabulary, so it is compared, not trusted.
Its strings are the corpus plus LLAMA2_EXTRA (long single words, byte-fallback characters, runs of
spaces, "<s>" inside text, HELMET's truncation marker).

--offsets (with --qwen3 DIR and/or --llama DIR, each holding a tokenizer.json) writes
OUTDIR/tokenizer_offsets_qwen3.json and OUTDIR/tokenizer_offsets_llama3.json (under 200 KB each)
for the byte-level offset_mapping (test_tokenizer_parity's offsets_hf group). Made on the GPU host,
from the repository root, with the folders launch/fetch-tokenizers.sh fills (DYSCO_TOKENIZERS:
~/.cache/dysco/tokenizers unless set otherwise):

  python3 tests/hf_tokenizer_fixtures.py --offsets --qwen3 ~/.cache/dysco/tokenizers/qwen3 \\
      --llama ~/.cache/dysco/tokenizers/llama3_1 --out tests/fixtures

The layout is the Llama-2 fixture's ("ids" and "offsets" with add_special_tokens=False for every
string, "ids_special" and "offsets_special" with True for the first OFFSETS_SPECIAL_FIRST,
"decoded" / "decoded_skip" when they differ, "tokenizer_json_sha256"), plus "library": which one
made the values. Its strings (offsets_strings) are OFFSETS_EXTRA (special tokens inside chat text,
NFC-changed text, CJK, emoji, combining marks), documents of "[k] Title\\nText" paragraphs joined
by "\\n\\n" (iter_document_paragraphs), and every OFFSETS_CORPUS_STEP-th string of the corpus up to
1,000 bytes. The values come from tokenizers.Tokenizer.from_file(DIR/tokenizer.json).encode(...)
.offsets when tokenizers imports (the offset_mapping transformers' fast tokenizers return), else
from transformers.AutoTokenizer(DIR)(text, return_offsets_mapping=True); with both, AutoTokenizer
is compared ("autotokenizer_mismatches", expected 0).

Seen with transformers 5.17.0 / tokenizers 0.23.2: AutoTokenizer loads Qwen3 as Qwen2Tokenizer and
Llama-3.1 as TokenizersBackend; both encode exactly like tokenizers.Tokenizer.from_file. Llama's
tokenizer_config says clean_up_tokenization_spaces=true, but transformers 5 ignores it for BPE
tokenizers (it logs a warning), so "decoded" is the plain byte-level decode for both.

The corpus (build_corpus) and the benchmark document (iter_document_paragraphs) depend on the
standard library only; tests/hf_tokenizer_bench.py imports them. transformers and tokenizers are
imported inside main() only.
"""
import argparse
import base64
import json
import os
import random
import sys

SEED = 20250611  # fixed: the corpus is the same on every run and for both tokenizers
N_STRINGS = 5400  # generated before de-duplication; at least 5,000 remain
IDS_SPECIAL_FIRST = 300  # "ids_special" for this many leading strings
SIZE_LIMIT = 4 * 1024 * 1024  # warn above this many bytes per fixture file

# ---------------------------------------------------------------------------------------------
# Word lists and pieces
# ---------------------------------------------------------------------------------------------

WORDS = """the of and to in is was that for it with as his on be at by had are but from or have an
they which one you were her all she there would their we him been has when who will more no if out so
said what up its about into than them can only other new some could time these two may then do first
any my now such like our over man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being under never day same
another know while last might us great old year off come since against go came right used take three
river mountain window kernel buffer token thread memory pointer lantern harbor velvet orbit quartz
whisper garden engine signal bridge marble circuit compiler cascade meadow ledger shadow vector
""".split()
NAMES = ["Alice", "Bob", "Carol", "Dave", "Eve", "Mallory", "O'Neil", "McDonald", "Zoë", "José",
         "Renée", "Björn", "Łukasz", "Nguyễn", "Søren", "François", "iPhone", "GitHub", "NASA", "C++"]
ACCENTED = ["café", "naïve", "résumé", "façade", "coöperate", "jalapeño", "über", "déjà", "vu",
            "smörgåsbord", "Ångström", "crème", "brûlée", "piñata", "fiancée", "Straße", "œuvre"]
CONTRACTIONS = ["don't", "I'll", "we've", "it's", "they're", "can't", "won't", "I'm", "you'd", "she'd",
                "he's", "let's", "that's", "wouldn't", "y'all", "o'clock", "I'LL", "WE'VE", "DON'T",
                "IT'S", "rock'n'roll", "'tis", "John's", "the dogs'", "'s", "we'd've", "isn't",
                "Alice's", "ma'am", "you're", "couldn't've"]
CASING = ["'S", "'LL", "Don'T", "DON'T", "I'M", "WE'RE", "They'Re", "it'D", "'Ll", "'lL", "'rE", "'VE",
          "'M", "'T", "'D", "Can'T", "SHE'LL", "You'Ve", "'s", "'ll", "'re", "'ve", "'m", "'t", "'d",
          "'ſ", "'ſt", "'K", "’s", "’LL", "don’t", "''", "'''", "'ll'", "'s's", "O'NEIL", "x'S"]
PUNCT_MID = [",", ",", ";", ":", " —", " –", "...", "…", " (", ")", " &", " /", " *", "\""]
PUNCT_END = [".", ".", ".", "!", "?", "?!", "...", "…", ".\"", "!)", "。", "!!!", "?\u00a0"]
QUOTES = [("\"", "\""), ("“", "”"), ("‘", "’"), ("«", "»"), ("'", "'"), ("„", "“"), ("「", "」")]

# Whitespace of every kind the pre-tokenizer regexes care about (\s, \r, \n and the rest).
WHITESPACE = [" ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u2028", "\u2029",
              "\u3000", "\u200b", "\u1680", "\u2000", "\u2003", "\u2009", "\u202f", "\u205f",
              "\x1c", "\x1d", "\x1e", "\x1f", "\ufeff", "\u180e"]

CHINESE = ["你好", "世界", "今天天气很好", "我们一起去吃饭吧", "人工智能", "机器学习", "中华人民共和国",
           "编程语言", "谢谢你的帮助", "这是一个测试", "北京", "上海", "长城", "汉字", "龍", "鬱", "𠀀",
           "𪚥", "繁體中文", "简体中文", "的", "了", "是"]
JAPANESE = ["こんにちは", "ありがとうございます", "カタカナ", "ひらがな", "日本語", "東京", "すし",
            "ラーメン", "コンピューター", "ｶﾀｶﾅ", "ｱｲｳｴｵ", "おはよう", "今日は雨です", "ヴ", "ゔ", "ー"]
KOREAN = ["안녕하세요", "감사합니다", "한국어", "서울", "컴퓨터", "사랑해요", "대한민국", "ㄱㄴㄷ", "ㅏㅑㅓ",
          "똠방각하", "훈민정음"]
FULLWIDTH = ["ＡＢＣ", "ａｂｃ", "１２３", "！", "？", "（括弧）", "，", "。", "：", "；", "＠", "＃", "＄",
             "％", "＆", "［］", "｛｝", "～", "￥", "￡", "　"]
CJK_PUNCT = ["、", "。", "「", "」", "『", "』", "【", "】", "《", "》", "〈", "〉", "・", "…", "—", "〜"]
ARABIC = ["مرحبا", "بالعالم", "السلام عليكم", "شكرا", "اللغة العربية", "كتاب", "مُحَمَّد", "بِسْمِ ٱللَّهِ",
          "١٢٣٤٥", "٣٫١٤", "؟", "،", "ـــ", "لا"]
HEBREW = ["שלום", "עולם", "תודה רבה", "עברית", "ירושלים", "בְּרֵאשִׁית", "אבגד", "שָׁלוֹם", "״", "׳"]
DEVANAGARI = ["नमस्ते", "दुनिया", "हिन्दी", "भारत", "धन्यवाद", "क्षत्रिय", "श्री", "ज्ञान", "१२३", "।", "॥",
              "क़", "ज़"]
THAI = ["สวัสดีครับ", "ภาษาไทย", "ขอบคุณ", "กรุงเทพมหานคร", "ประเทศไทย", "๑๒๓", "น้ำ", "ก็", "ฯ"]
OTHER_SCRIPTS = ["தமிழ்", "বাংলা", "ગુજરાતી", "ಕನ್ನಡ", "മലയാളം", "తెలుగు", "ລາວ", "ខ្មែរ", "မြန်မာ",
                 "ქართული", "Հայերեն", "አማርኛ", "ᐃᓄᒃᑎᑐᑦ", "ᚠᚢᚦ", "𐌰𐌱𐌲"]
CYRILLIC = ["Привет", "мир", "Здравствуйте", "спасибо", "Москва", "ЁЖИК", "ёжик", "Україна", "їжак",
            "Ґанок", "Српски", "Беларусь", "щи", "Аррlе", "ПРИВЕТ"]
GREEK = ["Γειά σου", "Κόσμε", "ελληνικά", "Αθήνα", "ΑΒΓΔ", "αβγδ", "ΐ", "ΰ", "ς", "Σίσυφος", "ὅτι",
         "ᾧ", "Ω", "μ", "ΌΣΟ"]

EMOJI_SIMPLE = ["😀", "😂", "🙂", "🚀", "🌍", "🔥", "✨", "👍", "🎉", "🐍", "🦀", "💡", "⚡", "☕", "🍣",
                "🤖", "🥲", "🫠", "🧑", "👀"]
EMOJI_SEQ = [
    "👨\u200d👩\u200d👧\u200d👦",  # family (ZWJ)
    "👩\u200d❤\ufe0f\u200d💋\u200d👨",  # kiss
    "🧑\u200d💻", "👩🏽\u200d💻", "👨🏿\u200d🚀", "🏳\ufe0f\u200d🌈", "🏴\u200d☠\ufe0f",
    "❤\ufe0f", "❤", "☺\ufe0e", "☺\ufe0f",
    "🇺🇸", "🇯🇵", "🇩🇪", "🇫🇷", "🇧🇷", "🇺🇳", "🇦", "🇺🇸🇯🇵🇩🇪",  # flags and a lone indicator
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland (tag sequence)
    "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "🏻",  # skin tones, and a lone modifier
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\ufe0f\u20e3", "0\u20e3", "🔟",  # keycaps
    "🫱🏼\u200d🫲🏿", "🧔\u200d♂\ufe0f", "🤷\u200d♀️",
]

SPECIAL_TEXT = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>",
                "</tool_call>", "<tool_response>", "</tool_response>", "<|eot_id|>",
                "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|reserved_special_token_5|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_250|>", "<|finetune_right_pad_id|>", "<|python_tag|>",
                "<|eom_id|>", "<|vision_start|>", "<|fim_prefix|>", "<|file_sep|>", "<|box_start|>"]
SPECIAL_NEAR = ["<|im_start|", "<|eot_id|>>", "<<|eot_id|>", "<|EOT_ID|>", "<|im_start |>",
                "< |im_end|>", "<|im_end|", "|im_end|>", "<think >", "<THINK>", "</ think>",
                "<|reserved_special_token_999|>", "<|reserved_special_token_|>", "<||>", "<|>",
                "<|im_start|><", "<|endoftext", "endoftext|>", "<|begin_of_text|", "<think/>",
                "<|start_header_id|>>", "<tool_call", "<|eot_id|><|eot_id|>", "<|im_end|>\n<|im_start|>",
                "<｜im_end｜>", "<|im_\u200bend|>"]

NFC_SAMPLES = ["A\u030a", "\u00c5", "\u212b", "\ufb01", "\ufb02", "e\u0301", "\u00e9", "\u2126", "\u212a",
               "\u1e9b\u0323", "\u0387", "\u037e", "\u0340", "\u0341", "\u0343", "\u0344", "\u0374",
               "\u2000", "\u2001", "q\u0307\u0323", "q\u0323\u0307", "e\u0301\u0323", "\u0958",
               "\u0915\u093c", "\uf900", "\uf9d0", "\ufa10", "\u2f00", "\u00bd", "\u2460", "\u00b2",
               "o\u0308\u0304", "\u022b", "\u1e0d\u0307", "d\u0307\u0323", "\u0061\u0328\u0301",
               "\u03a9", "\u1f80", "\u03b1\u0313\u0300\u0345", "\u30ac", "\u30ab\u3099", "\u304c",
               "\u304b\u3099", "\uff76\uff9e", "\u0e4d\u0e32", "\u0e33", "\u00c7", "C\u0327"]

# Latin words for the Latin-script zalgo and combining-mark strings.
COMBINING_BASES = ["zalgo", "he comes", "text", "Ω", "a", "e", "i", "o", "u", "n", "ß", "1", " ", "я"]


def _chars(rng, lo, hi, n):
    """n random code points from [lo, hi] (never surrogates)."""
    out = []
    for _ in range(n):
        c = rng.randint(lo, hi)
        if 0xD800 <= c <= 0xDFFF:
            c = 0xFFFD
        out.append(chr(c))
    return "".join(out)


def _word(rng):
    r = rng.random()
    if r < 0.78:
        return rng.choice(WORDS)
    if r < 0.88:
        return rng.choice(NAMES)
    if r < 0.95:
        return rng.choice(ACCENTED)
    return rng.choice(CONTRACTIONS)


def _sentence(rng):
    n = rng.randint(3, 16)
    parts = []
    for i in range(n):
        w = _word(rng)
        if rng.random() < 0.12:
            w = rng.choice(CONTRACTIONS)
        if i == 0:
            w = w[:1].upper() + w[1:]
        parts.append(w)
        if i < n - 1 and rng.random() < 0.1:
            parts[-1] += rng.choice(PUNCT_MID)
    s = " ".join(parts)
    if rng.random() < 0.15:
        q = rng.choice(QUOTES)
        s = q[0] + s + q[1]
    if rng.random() < 0.1:
        s += " " + str(rng.randint(0, 10 ** rng.randint(1, 6)))
    return s + rng.choice(PUNCT_END)


# ---------------------------------------------------------------------------------------------
# Category generators: each takes a random.Random and returns one string
# ---------------------------------------------------------------------------------------------

def gen_prose(rng):
    """English sentences with contractions, quotes and punctuation; 1-5 sentences, maybe paragraphs."""
    out = []
    for _ in range(rng.randint(1, 5)):
        if out:
            out.append(rng.choice([" ", " ", " ", "  ", "\n", "\n\n", "\r\n"]))
        out.append(_sentence(rng))
    s = "".join(out)
    if rng.random() < 0.1:
        s = " " + s
    return s


def _ident(rng):
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    return rng.choice([a, a + "_" + b, a + b.capitalize(), a.upper(), "_" + a, a + str(rng.randint(0, 99))])


def _json_value(rng, depth):
    r = rng.random()
    if depth < 3 and r < 0.25:
        return {_ident(rng): _json_value(rng, depth + 1) for _ in range(rng.randint(1, 4))}
    if depth < 3 and r < 0.4:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if r < 0.55:
        return rng.randint(-10 ** 6, 10 ** 9)
    if r < 0.65:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    if r < 0.72:
        return rng.choice([True, False, None])
    if r < 0.85:
        return " ".join(_word(rng) for _ in range(rng.randint(1, 5)))
    return rng.choice(CHINESE + CYRILLIC + EMOJI_SIMPLE + ["tab\there", "line\nbreak", "quote\"d", "back\\slash"])


def gen_code(rng):
    """C, Python or JSON, indented with spaces, tabs or both; sometimes CRLF or trailing blanks."""
    ind = rng.choice(["    ", "  ", "\t", "\t", " \t", "        "])
    f, a, b, v = _ident(rng), _ident(rng), _ident(rng), _ident(rng)
    kind = rng.randint(0, 6)
    if kind == 0:
        lines = [f"static int {f}(const char *{a}, size_t n) {{",
                 f"{ind}int {v} = 0;  /* count {rng.choice(WORDS)}s */",
                 f"{ind}for (size_t i = 0; i < n; ++i) {{",
                 f"{ind}{ind}if ({a}[i] == '\\n' || {a}[i] == '\\t') {v}++;",
                 f"{ind}{ind}else if ({a}[i] >= 0x80) {{ {v} += 2; }}",
                 f"{ind}}}",
                 f"{ind}return {v} > {rng.randint(0, 4096)} ? -1 : {v};",
                 "}"]
    elif kind == 1:
        lines = ["#include <stdio.h>", "#include <stdint.h>", "",
                 "int main(int argc, char **argv) {",
                 f"{ind}uint64_t {a} = 0x{rng.getrandbits(64):016x}ULL;",
                 f"{ind}printf(\"%s: %llu\\n\", argv[0], (unsigned long long){a});",
                 f"{ind}// {' '.join(_word(rng) for _ in range(rng.randint(2, 8)))}",
                 f"{ind}return argc > 1 ? {rng.randint(1, 255)} : 0;", "}"]
    elif kind == 2:
        lines = [f"def {f}({a}, {b}=None):",
                 f"{ind}\"\"\"Return the {rng.choice(WORDS)} of {a}.\"\"\"",
                 f"{ind}if {b} is None:",
                 f"{ind}{ind}{b} = []",
                 f"{ind}for x in {a}:",
                 f"{ind}{ind}{b}.append(x ** {rng.randint(2, 9)})  # {rng.choice(CONTRACTIONS)}",
                 f"{ind}return {b}", ""]
    elif kind == 3:
        cls = f[:1].upper() + f[1:]
        lines = [f"class {cls}:",
                 f"{ind}def __init__(self, {a}: int = {rng.randint(0, 99)}) -> None:",
                 f"{ind}{ind}self.{a} = {a}",
                 f"{ind}{ind}self._cache: dict[str, list[int]] = {{}}",
                 "",
                 f"{ind}@property",
                 f"{ind}def {b}(self):",
                 f"{ind}{ind}return f\"{{self.{a}!r}} -> {rng.choice(CHINESE)}\"", ""]
    elif kind == 4:
        obj = {_ident(rng): _json_value(rng, 0) for _ in range(rng.randint(1, 5))}
        return json.dumps(obj, indent=rng.choice([None, 2, 4, "\t"]), ensure_ascii=rng.random() < 0.5)
    elif kind == 5:
        lines = [f"for {a} in range({rng.randint(1, 100)}):",
                 f"{ind}if {a} % 3 == 0 and {a} % 5 == 0:",
                 f"{ind}{ind}print('FizzBuzz')",
                 f"{ind}elif {a} % 3 == 0:",
                 f"{ind}{ind}print(\"Fizz\", end='\\t')",
                 f"{ind}else:",
                 f"{ind}{ind}print({a}, {b}[{a}:{a}+2], sep=', ')"]
    else:
        lines = [f"    {{\"{a}\": [{', '.join(str(rng.randint(-99, 999)) for _ in range(rng.randint(1, 6)))}],",
                 f"\t\"{b}\": {{\"{v}\": null, \"ok\": true}}}},",
                 f"x = {{'{a}': {rng.random():.17g}, **{b}}}", f"    \t  return {a};"]
    start = rng.randint(0, max(0, len(lines) - 2))
    lines = lines[start:start + rng.randint(2, len(lines))]
    if rng.random() < 0.2:
        lines = [ln + rng.choice([" ", "  ", "\t", " \t "]) for ln in lines]
    return rng.choice(["\n", "\n", "\n", "\r\n"]).join(lines)


def _digits(rng, n):
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1)) if n > 1 else str(rng.randint(0, 9))


def _number(rng):
    n = rng.randint(1, 60)
    d = _digits(rng, n)
    r = rng.randint(0, 17)
    if r == 0:
        return d
    if r == 1:  # thousands separators
        s = d
        groups = []
        while len(s) > 3:
            groups.insert(0, s[-3:])
            s = s[:-3]
        groups.insert(0, s)
        return rng.choice([",", ".", " ", "\u202f", "_", "'"]).join(groups)
    if r == 2:
        return rng.choice(["", "-", "+", "−", "±"]) + d + "." + _digits(rng, rng.randint(1, 20))
    if r == 3:
        return rng.choice(["-", "+"]) + d
    if r == 4:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 12)}e}"
    if r == 5:
        return rng.choice(["$", "€", "£", "¥", "₹", "USD "]) + d[:12] + rng.choice(["", ".99", ",00"])
    if r == 6:
        return f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    if r == 7:
        return f"+{rng.randint(1, 99)} ({rng.randint(100, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if r == 8:
        return "0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(rng.randint(1, 32)))
    if r == 9:
        return "v" + ".".join(str(rng.randint(0, 200)) for _ in range(rng.randint(2, 4)))
    if r == 10:
        return rng.choice(WORDS) + d[:rng.randint(1, 10)] + rng.choice(WORDS)
    if r == 11:  # fullwidth, Arabic-Indic, Devanagari, Thai digits
        table = rng.choice([0xFF10, 0x0660, 0x06F0, 0x0966, 0x0E50, 0x1D7CE])
        return "".join(chr(table + int(c)) for c in d[:20])
    if r == 12:
        return d[:rng.randint(1, 8)] + rng.choice(["%", "°C", "km", " kg", "ms", "²", "³", "½", "th", "st"])
    if r == 13:
        return f"{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
    if r == 14:
        return f"{d[:6]}-{_digits(rng, rng.randint(1, 6))}"
    if r == 15:
        return f"{rng.randint(-99, 99)}/{rng.randint(1, 99)}"
    if r == 16:
        return d + " " + _digits(rng, rng.randint(1, 60))
    return "".join(rng.choice("0123456789") for _ in range(n))  # leading zeros allowed


def gen_numbers(rng):
    """Digit runs of 1..60 digits, separators, decimals, signs, exponents, other digit scripts."""
    parts = [_number(rng) for _ in range(rng.randint(1, 5))]
    seps = [" ", ", ", " and ", "\n", "; ", "", " - ", "x", "*"]
    out = parts[0]
    for p in parts[1:]:
        out += rng.choice(seps) + p
    if rng.random() < 0.3:
        out = rng.choice(["Total: ", "pi = ", "ID ", "#", "№"]) + out
    return out


def _ws_run(rng, max_len=6):
    return "".join(rng.choice(WHITESPACE) for _ in range(rng.randint(1, max_len)))


def gen_whitespace(rng):
    """Runs of spaces/tabs/newlines of every kind before, between and after words; blanks only."""
    r = rng.randint(0, 7)
    if r == 0:  # whitespace only
        return _ws_run(rng, 12)
    if r == 1:  # 1-40 spaces before words and at the end
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
        return "".join(" " * rng.randint(1, 40) + w for w in words) + " " * rng.randint(0, 40)
    if r == 2:  # newline runs of every kind
        nl = ["\n", "\r\n", "\r", "\n\n", "\r\r\n", "\n\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
        return "".join(rng.choice(WORDS + [""]) + "".join(rng.choice(nl) for _ in range(rng.randint(1, 4)))
                       for _ in range(rng.randint(1, 5)))
    if r == 3:  # indentation and trailing blanks on lines
        return "\n".join(rng.choice(["", " ", "  ", "\t", "    ", " \t", "\t "]) * rng.randint(0, 4)
                         + rng.choice(WORDS) + rng.choice(["", " ", "  ", "\t", " \u3000"])
                         for _ in range(rng.randint(1, 6)))
    if r == 4:  # exotic blanks between words
        out = rng.choice(WORDS)
        for _ in range(rng.randint(1, 6)):
            out += _ws_run(rng, 3) + rng.choice(WORDS + CHINESE + CYRILLIC + ["123", "!", "."])
        return out
    if r == 5:  # spaces before punctuation and numbers, newlines around them
        return "".join(rng.choice([" ", "  ", "   ", "\n", " \n", "\n ", "\t"]) + rng.choice(
            [".", ",", "!", "?", "1", "22", "(", ")", "-", "—", rng.choice(WORDS)]) for _ in range(rng.randint(2, 10)))
    if r == 6:  # a long blank run of one kind, inside text or at its end
        c = rng.choice(WHITESPACE)
        run = c * rng.randint(1, 40)
        return rng.choice([run + rng.choice(WORDS), rng.choice(WORDS) + run, rng.choice(WORDS) + run + rng.choice(WORDS)])
    return _ws_run(rng, 3) + gen_prose(rng) + _ws_run(rng, 3)


def gen_cjk(rng):
    """Chinese, Japanese kana/kanji, Korean hangul, fullwidth forms, CJK punctuation; random code points."""
    r = rng.randint(0, 5)
    pools = [CHINESE, JAPANESE, KOREAN]
    if r <= 2:
        pool = pools[r]
        out = "".join(rng.choice(pool) + (rng.choice(CJK_PUNCT) if rng.random() < 0.3 else "")
                      for _ in range(rng.randint(1, 8)))
    elif r == 3:
        out = "".join(rng.choice(FULLWIDTH + CJK_PUNCT + CHINESE) for _ in range(rng.randint(1, 10)))
    elif r == 4:  # random code points: CJK unified, Ext A, Ext B (4-byte UTF-8), kana, hangul
        lo, hi = rng.choice([(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x3041, 0x3096),
                             (0x30A1, 0x30FA), (0xAC00, 0xD7A3), (0x3131, 0x318E), (0xFF01, 0xFF5E)])
        out = _chars(rng, lo, hi, rng.randint(1, 20))
    else:  # mixed with ASCII
        out = " ".join(rng.choice([rng.choice(WORDS), rng.choice(CHINESE), rng.choice(JAPANESE),
                                   rng.choice(KOREAN), _number(rng)]) for _ in range(rng.randint(2, 8)))
    return out


def gen_rtl(rng):
    """Arabic and Hebrew (with diacritics), mixed with LTR words, digits and direction marks."""
    pool = rng.choice([ARABIC, HEBREW, ARABIC + HEBREW])
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.7:
            parts.append(rng.choice(pool))
        elif r < 0.8:
            parts.append(rng.choice(WORDS))
        elif r < 0.9:
            parts.append(_number(rng)[:12])
        else:
            parts.append(rng.choice(["\u200f", "\u200e", "\u202b", "\u202c", "\u2067", "\u2069", "(", ")", "!", "."]))
    out = rng.choice([" ", " ", "", "\n", "، "]).join(parts)
    if rng.random() < 0.2:
        out += _chars(rng, *rng.choice([(0x0600, 0x06FF), (0x0590, 0x05FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFC)]),
                      rng.randint(1, 8))
    return out


def gen_indic_thai(rng):
    """Devanagari, Thai and other Brahmic/South-East Asian scripts (virama, vowel signs, no spaces)."""
    r = rng.random()
    if r < 0.4:
        pool = DEVANAGARI
    elif r < 0.75:
        pool = THAI
    else:
        pool = OTHER_SCRIPTS + DEVANAGARI + THAI
    sep = "" if pool is THAI and rng.random() < 0.6 else rng.choice([" ", " ", "\n", "। "])
    out = sep.join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
    if rng.random() < 0.25:
        out += " " + _chars(rng, *rng.choice([(0x0900, 0x097F), (0x0E01, 0x0E5B), (0x0B80, 0x0BFF)]), rng.randint(1, 10))
    if rng.random() < 0.2:
        out = rng.choice(WORDS) + " " + out
    return out


def gen_cyrillic_greek(rng):
    """Russian, Ukrainian, Serbian, Greek (tonos, polytonic, final sigma), case variants, homoglyphs."""
    pool = rng.choice([CYRILLIC, GREEK, CYRILLIC + GREEK])
    words = [rng.choice(pool) for _ in range(rng.randint(1, 10))]
    if rng.random() < 0.3:
        words = [w.upper() if rng.random() < 0.5 else w.lower() for w in words]
    out = " ".join(words)
    if rng.random() < 0.3:
        out += rng.choice(PUNCT_END)
    if rng.random() < 0.15:
        out += " " + _chars(rng, *rng.choice([(0x0400, 0x04FF), (0x0370, 0x03FF), (0x1F00, 0x1FFF)]), rng.randint(1, 8))
    return out


def gen_emoji(rng):
    """Emoji alone and in text: ZWJ sequences, flags, tag sequences, skin tones, keycaps, VS15/VS16."""
    r = rng.randint(0, 4)
    if r == 0:
        return rng.choice(EMOJI_SEQ)
    if r == 1:
        return "".join(rng.choice(EMOJI_SEQ + EMOJI_SIMPLE) for _ in range(rng.randint(2, 8)))
    if r == 2:
        return " ".join(rng.choice([rng.choice(WORDS), rng.choice(EMOJI_SEQ), rng.choice(EMOJI_SIMPLE)])
                        for _ in range(rng.randint(2, 10)))
    if r == 3:  # random code points from the emoji blocks, maybe with modifiers and ZWJ
        out = ""
        for _ in range(rng.randint(1, 6)):
            out += _chars(rng, *rng.choice([(0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF),
                                            (0x1F900, 0x1F9FF), (0x2600, 0x27BF), (0x1FA70, 0x1FAFF)]), 1)
            out += rng.choice(["", "", "\u200d", "\ufe0f", chr(rng.randint(0x1F3FB, 0x1F3FF))])
        return out
    return gen_prose(rng) + " " + rng.choice(EMOJI_SEQ + EMOJI_SIMPLE) * rng.randint(1, 3)


def _marks(rng, n):
    return _chars(rng, 0x0300, 0x036F, n)


def gen_combining(rng):
    """Decomposed accents, stacked diacritics, zalgo text, marks on digits/blanks, orphan marks."""
    r = rng.randint(0, 5)
    if r == 0:
        return " ".join(rng.choice(["e\u0301", "a\u0300", "n\u0303", "o\u0308", "c\u0327", "u\u0308\u0301",
                                    "A\u030a", "i\u0302", "s\u030c", "z\u0307"]) + rng.choice(WORDS)
                        for _ in range(rng.randint(1, 5)))
    if r == 1:  # stacked diacritics
        return "".join(rng.choice("aeiouxyz") + _marks(rng, rng.randint(2, 8)) for _ in range(rng.randint(1, 6)))
    if r == 2:  # zalgo-like
        base = rng.choice(COMBINING_BASES)
        return "".join(c + _marks(rng, rng.randint(3, 15)) for c in base)
    if r == 3:  # orphan marks at the start, after blanks, after digits and punctuation
        return rng.choice(["\u0301", "\u0308", "\u20dd", "\u0489"]) + rng.choice(WORDS) + " \u0301" + \
            rng.choice(["1\u0301", ".\u0300", "-\u0336-\u0336", "\t\u0302", "\n\u0303"])
    if r == 4:  # other combining blocks: extended, supplement, for symbols, half marks
        return rng.choice(WORDS) + "".join(
            rng.choice("aeo") + _chars(rng, *rng.choice([(0x1AB0, 0x1AC0), (0x1DC0, 0x1DFF), (0x20D0, 0x20F0),
                                                         (0xFE20, 0xFE2F)]), rng.randint(1, 4))
            for _ in range(rng.randint(1, 4)))
    return "Vie\u0302\u0323t Nam, Tie\u0302\u0301ng Vie\u0302\u0323t vs Việt Nam, Tiếng Việt " + rng.choice(WORDS)


def _jamo_syllable(rng):
    s = chr(rng.randint(0x1100, 0x1112)) + chr(rng.randint(0x1161, 0x1175))
    if rng.random() < 0.5:
        s += chr(rng.randint(0x11A8, 0x11C2))
    return s


def gen_nfc(rng):
    """Text that NFC changes (or almost does): decomposed Hangul jamo, A+ring vs Å vs Å (angstrom),
    ligatures, singletons (ohm, kelvin, en quad), reordering of marks, composition exclusions."""
    r = rng.randint(0, 4)
    if r == 0:
        return "".join(_jamo_syllable(rng) for _ in range(rng.randint(1, 6))) + rng.choice(["", " ", " 한국어"])
    if r == 1:
        return " ".join(rng.choice(NFC_SAMPLES) for _ in range(rng.randint(1, 6)))
    if r == 2:
        return rng.choice(WORDS) + rng.choice(NFC_SAMPLES) + rng.choice(WORDS) + " " + rng.choice(NFC_SAMPLES)
    if r == 3:  # the same word in several normal forms side by side
        return rng.choice(["A\u030angstro\u0308m \u212bngstr\u00f6m \u00c5ngstr\u00f6m",
                           "\ufb01le \ufb02ow \ufb00 \ufb03 \ufb04 file flow",
                           "\u1100\u1161\u11a8 \uac01 \u1112\u1161\u11ab\u1100\u1173\u11af \ud55c\uae00",
                           "\u2126 \u03a9 \u212a K \u2000 \u2001 end",
                           "\u0958\u0959 \u0915\u093c\u0916\u093c \uf900\uf901",
                           "cafe\u0301 caf\u00e9 CAFE\u0301 CAF\u00c9"])
    return "".join(rng.choice(NFC_SAMPLES) for _ in range(rng.randint(2, 10)))


def gen_bytes(rng):
    """Odd code points: U+FFFD, Latin-1 range, C0/C1 controls, DEL, BOM, noncharacters, private use,
    text that spells bytes ("\\xff\\xfe"), mojibake."""
    r = rng.randint(0, 7)
    if r == 0:
        return _chars(rng, 0x80, 0xFF, rng.randint(1, 12))
    if r == 1:  # control characters U+0001..U+001F and DEL, between words
        return "".join(rng.choice(WORDS + [""]) + chr(rng.choice(list(range(1, 32)) + [0x7F]))
                       for _ in range(rng.randint(1, 6)))
    if r == 2:
        return rng.choice(["\\xff\\xfe", "\\x00\\x80", "b'\\xc3\\xa9'", "\\u00e9", "%C3%A9", "\\377\\376",
                           "0xFFFE", "&#xFFFD;", "&eacute;"]) + " " + rng.choice(WORDS)
    if r == 3:  # lone high-bit characters in ASCII text
        w = rng.choice(WORDS)
        i = rng.randint(0, len(w))
        return w[:i] + chr(rng.randint(0x80, 0x7FF)) + w[i:] + " " + rng.choice(WORDS)
    if r == 4:
        return rng.choice(["\ufffd", "\ufffd\ufffd", "a\ufffdb", "\ufeffBOM at start", "mid\ufeffdle",
                           "\ufffe\uffff", "\ue000\uf8ff", "\U000f0000\U0010fffd", "\U0010ffff", "\U0001d11e",
                           "\u00ad", "soft\u00adhyphen", "\u2060\u2061\u2062\u2063", "\U000e0001", "\x7f\x7f"])
    if r == 5:  # mojibake: UTF-8 bytes read as Latin-1 / cp1252
        s = rng.choice(ACCENTED + CHINESE + EMOJI_SIMPLE + CYRILLIC)
        return s.encode("utf-8").decode("latin-1") + " (" + s + ")"
    if r == 6:  # C1 controls and U+0085 near words
        return rng.choice(WORDS) + _chars(rng, 0x80, 0x9F, rng.randint(1, 4)) + rng.choice(WORDS)
    return "".join(chr(rng.randint(1, 0xFF)) for _ in range(rng.randint(1, 20)))


def gen_special(rng):
    """Special-token text (Qwen3 and Llama-3) and near misses, alone, adjacent, inside words, spaced."""
    pieces = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        if r < 0.45:
            pieces.append(rng.choice(SPECIAL_TEXT))
        elif r < 0.75:
            pieces.append(rng.choice(SPECIAL_NEAR))
        else:
            pieces.append(rng.choice(WORDS + ["user", "assistant", "system", "\n", " ", "Hello world"]))
    seps = ["", "", " ", "\n", "  ", "\t"]
    out = pieces[0]
    for p in pieces[1:]:
        out += rng.choice(seps) + p
    if rng.random() < 0.2:
        out = rng.choice(["", " ", "\n"]) + out + rng.choice(["", " ", "\n", "\n\n"])
    return out


def gen_casing(rng):
    """Contractions in odd casing (the (?i:'s|'t|...) branch), apostrophe variants, case mixtures."""
    out = []
    for _ in range(rng.randint(1, 6)):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.5:
            out.append(w + rng.choice(CASING))
        elif r < 0.65:
            out.append(rng.choice(CASING))
        elif r < 0.8:
            out.append(w.upper())
        elif r < 0.9:
            out.append("".join(c.upper() if rng.random() < 0.5 else c for c in w))
        else:
            out.append(rng.choice(["İstanbul", "ıi", "ǅ", "ß", "ẞ", "ﬀ", "ŉ", "ΐ"]))
    return " ".join(out) + rng.choice(["", ".", "!", "'", "'s", " '"])


def gen_long(rng):
    """Very long words: one letter repeated 300-3000 times, a 2000-character base64 blob, long hex,
    URLs, identifiers, repeated CJK/emoji, long blank and digit runs."""
    r = rng.randint(0, 9)
    if r <= 2:
        return rng.choice("aAxZeq") * rng.randint(300, 3000)
    if r == 3:
        blob = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(1500))).decode("ascii")
        return blob if rng.random() < 0.7 else "\n".join(blob[i:i + 76] for i in range(0, len(blob), 76))
    if r == 4:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(300, 1500)))
    if r == 5:
        return "https://example.com/" + "/".join(_ident(rng) for _ in range(rng.randint(20, 80))) + "?q=" + \
            "&".join(f"{_ident(rng)}={rng.randint(0, 10 ** 6)}" for _ in range(rng.randint(5, 30)))
    if r == 6:
        return "".join(w.capitalize() for w in (rng.choice(WORDS) for _ in range(rng.randint(60, 200))))
    if r == 7:
        return rng.choice(["的", "한", "ー", "😀", "é", "e\u0301", "ab", "\u00a0", "-", "=", "#"]) * rng.randint(300, 1200)
    if r == 8:
        return rng.choice([" ", "\n", "\t", " \n"]) * rng.randint(300, 1500) + rng.choice(["", "x"])
    return _digits(rng, rng.randint(100, 600))


TINY_POOL_RANGES = [(0x20, 0x7E), (0x01, 0x1F), (0x7F, 0xFF), (0x100, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF),
                    (0x0590, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x2000, 0x206F), (0x3000, 0x30FF),
                    (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xE0FF), (0xFF00, 0xFFFD), (0x1F300, 0x1FAFF),
                    (0x20000, 0x2A6DF), (0x0300, 0x036F)]


def gen_tiny(rng):
    """Single characters (one code point) from many blocks, and a few one-grapheme sequences."""
    if rng.random() < 0.06:
        return rng.choice(["🇺🇸", "e\u0301", "\r\n", "👍🏽", "1\ufe0f\u20e3", "\u1100\u1161", "  ", "'s", "<|"])
    return _chars(rng, *rng.choice(TINY_POOL_RANGES), 1)


# Generators the "mixed" category draws from (everything but the length extremes).
MIXABLE = [gen_prose, gen_code, gen_numbers, gen_whitespace, gen_cjk, gen_rtl, gen_indic_thai,
           gen_cyrillic_greek, gen_emoji, gen_combining, gen_nfc, gen_bytes, gen_special, gen_casing]


def gen_mixed(rng):
    """2-4 pieces of other categories in one string (mixed scripts, code in prose, ...)."""
    pieces = [rng.choice(MIXABLE)(rng) for _ in range(rng.randint(2, 4))]
    out = pieces[0]
    for p in pieces[1:]:
        out += rng.choice(["", " ", " ", "\n", "\n\n", "\t", " — ", ", ", "：", "。"]) + p
    return out


CATEGORIES = [
    ("prose", gen_prose), ("code", gen_code), ("numbers", gen_numbers), ("whitespace", gen_whitespace),
    ("cjk", gen_cjk), ("rtl", gen_rtl), ("indic_thai", gen_indic_thai), ("cyrillic_greek", gen_cyrillic_greek),
    ("emoji", gen_emoji), ("combining", gen_combining), ("nfc", gen_nfc), ("bytes", gen_bytes),
    ("special", gen_special), ("casing", gen_casing), ("mixed", gen_mixed), ("long", gen_long),
    ("tiny", gen_tiny),
]
# Categories whose strings feed the chunked decodes (token_decodes part b).
MULTILINGUAL = ("cjk", "rtl", "indic_thai", "cyrillic_greek", "emoji", "combining", "nfc", "mixed")


# Strings that matter for Llama-2's Prepend/Replace normalizer, byte fallback and offsets; HELMET's
# InfiniteBench loader measures its truncation marker (the second string) with the tokenizer.
LLAMA2_EXTRA = [
    "Hello world", " ... [the rest of the text is omitted]", "", " ", "  ", "     ", "   leading", "trailing   ",
    " both ", "\n", "\n\n", "a\nb", " \n ", "line one\n\nline two\n", "\r\n", "\t\ttabs\t", "<s>", "<s>Hello",
    "Hello<s>", "Hello <s> world", " <s> ", "<s><s>", "a<s>b</s>c<unk>d", "</s>", "<unk>", "<s", "s>", "<S>",
    "< s>", "é", "e\u0301", "ÿþ", "你好，世界", "日本語のテキスト", "한국어 텍스트", "🚀🌍👍🏽", "👨\u200d👩\u200d👧",
    "\u0001\u0002\u007f", "\ue000\U0010fffd", "\ufffd", "\u00a0nbsp\u00a0", "\u2581", "\u2581Hello", "\u2581 \u2581",
    "x" * 5000, "ab" * 3000, "a" * 20000, "的" * 3000, "😀" * 1000, "0123456789" * 500,
    "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(4000)),  # rare CJK: byte fallback in a long word
    "https://example.com/" + "/".join(f"seg{i}" for i in range(400)),
]


def llama2_strings():
    """The Llama-2 fixture's strings: LLAMA2_EXTRA, then the corpus (duplicates left out)."""
    seen, out = set(), []
    for s in LLAMA2_EXTRA + [s for _, s in build_corpus()]:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def build_corpus(n=N_STRINGS, seed=SEED):
    """Returns [(category, text), ...]: about n distinct strings, the same n/len(CATEGORIES) share per
    category, shuffled deterministically. The empty string is always included (category tiny)."""
    rng = random.Random(seed)
    per_cat = n // len(CATEGORIES)
    seen = {""}
    out = [("tiny", "")]
    for name, gen in CATEGORIES:
        got = 1 if name == "tiny" else 0
        tries = 0
        while got < per_cat and tries < per_cat * 20:
            tries += 1
            s = gen(rng)
            if s in seen:
                continue
            seen.add(s)
            out.append((name, s))
            got += 1
    rng.shuffle(out)
    return out


def corpus_stats(corpus):
    """{category: [count, utf8 bytes]} in CATEGORIES order."""
    stats = {name: [0, 0] for name, _ in CATEGORIES}
    for cat, s in corpus:
        stats[cat][0] += 1
        stats[cat][1] += len(s.encode("utf-8"))
    return stats


def print_corpus_stats(corpus, file=sys.stderr):
    stats = corpus_stats(corpus)
    for name, (count, size) in stats.items():
        print(f"  {name:15s} {count:5d} strings {size:9d} bytes", file=file)
    print(f"  {'total':15s} {len(corpus):5d} strings {sum(v[1] for v in stats.values()):9d} bytes "
          f"({sum(len(s) for _, s in corpus)} code points)", file=file)


# Benchmark document: prose-heavy, with code and multilingual paragraphs (see hf_tokenizer_bench.py).
# No special-token text and no control characters in it: "--no-special" must not matter for them.
DOC_MIXABLE = [gen_prose, gen_code, gen_numbers, gen_cjk, gen_rtl, gen_indic_thai, gen_cyrillic_greek,
               gen_emoji, gen_combining, gen_nfc]


def gen_doc_mixed(rng):
    return " ".join(rng.choice(DOC_MIXABLE)(rng) for _ in range(rng.randint(2, 4)))


DOC_MIX = [(gen_prose, 10), (gen_code, 5), (gen_numbers, 1), (gen_cjk, 1), (gen_rtl, 1), (gen_indic_thai, 1),
           (gen_cyrillic_greek, 1), (gen_emoji, 1), (gen_doc_mixed, 1)]


def iter_document_paragraphs(seed=SEED):
    """Endless deterministic stream of paragraphs (English prose, code, multilingual text)."""
    rng = random.Random(seed ^ 0xD0C)
    gens = [g for g, w in DOC_MIX for _ in range(w)]
    while True:
        g = rng.choice(gens)
        if g is gen_prose:
            yield " ".join(gen_prose(rng).split("\n"))  # one paragraph of several sentences
        else:
            yield g(rng)


# Byte-level offset fixtures (--offsets): the strings the brief of dysco's offsets asks for first.
OFFSETS_SPECIAL_FIRST = 60
OFFSETS_CORPUS_STEP = 50  # every 50th corpus string: about 100 of them
OFFSETS_SIZE_LIMIT = 200 * 1024
OFFSETS_EXTRA = [
    "Hello world!", "", " ", "a", "  leading and trailing spaces   ", "line one\nline two\r\nline three\n\n\nend",
    "\n\n\n", "tabs\tand\x0bvertical\x0cfeeds", "don't I'LL we've 'tis rock'n'roll", "1234567890 3.14159 -42 1e10",
    "def f(x):\n    return x ** 2  # square\n", "你好，世界！今天天气很好。", "こんにちは、カタカナ、ひらがな。",
    "안녕하세요 대한민국", "Привет, мир! Ёжик", "مرحبا بالعالم مُحَمَّد", "नमस्ते दुनिया हिन्दी क्षत्रिय",
    "café naïve résumé Zoë Björn Łukasz Nguyễn", "😀😂🙂 🚀🌍🔥 ✨👍",
    "👨\u200d👩\u200d👧\u200d👦 family, 👩🏽\u200d💻 coder, 🇺🇸🇯🇵 flags, 1\ufe0f\u20e3 keycap",
    "x\u0301 q\u0323\u0307 z\u0335\u0336 a\u20dd", "\u00a0\u2028\u2029\u3000\u200b\ufeff\x85 odd spaces",
    # NFC changes these (Qwen3): composed, reordered, excluded and singleton characters
    "cafe\u0301 ok", "\u212b", "A\u030a x", "q\u0307\u0323", "e\u0301\u0323", "\u0958", "\u1100\u1161\u11a8 \u1100\u1161",
    "e\u0301 A\u030a \u212b \u2126 \u0958 \u0915\u093c q\u0307\u0323 \u1e9b\u0323 \u03b1\u0313\u0300\u0345 \u304b\u3099",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b"
    "\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334",
    # special tokens inside the text
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n你好 😀 cafe\u0301<|im_end|>\n",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ncafé<|eot_id|>",
    "<|eot_id|>>  <<|eot_id|> <|EOT_ID|> <|im_start| <|im_end|><|im_end|>", "text<|endoftext|>more text<|endoftext|>",
]


def offsets_documents(seed=SEED, n_docs=4, paragraphs=6):
    """Retrieval-style documents: "[k] Title\nText" paragraphs joined by "\n\n", then a question."""
    rng = random.Random(seed ^ 0x0FF5)
    stream = iter_document_paragraphs(seed ^ 0x0FF5)
    docs = []
    for d in range(n_docs):
        parts = []
        for k in range(1, paragraphs + 1):
            title = " ".join(rng.choice(WORDS + NAMES + CHINESE).capitalize() for _ in range(rng.randint(1, 4)))
            parts.append(f"[{k}] {title}\n{next(stream)[:400]}")
        docs.append("\n\n".join(parts) + f"\n\nQuestion: which passage mentions {rng.choice(WORDS)}?\nAnswer:")
    return docs


def offsets_strings():
    """The offset fixtures' strings: OFFSETS_EXTRA, the documents, a sample of the corpus (no duplicates)."""
    # Corpus strings over 1,000 bytes (long runs of one letter, base64 blobs) are left out: thousands
    # of tokens each, and the ids fixture covers them.
    corpus = [s for _, s in build_corpus()][::OFFSETS_CORPUS_STEP]
    seen, out = set(), []
    for s in OFFSETS_EXTRA + offsets_documents() + [s for s in corpus if len(s.encode("utf-8")) <= 1000]:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


class OffsetSource:
    """Ids, offsets and decodes from the tokenizers library (preferred) or transformers, whichever imports."""

    def __init__(self, folder):
        self.raw = self.auto = None
        self.versions = {}
        try:
            import tokenizers
            self.raw = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            self.versions["tokenizers"] = tokenizers.__version__
        except ImportError:
            pass
        try:
            import transformers
        except ImportError:
            transformers = None
        if transformers is not None:
            try:
                self.auto = transformers.AutoTokenizer.from_pretrained(folder)
                self.versions["transformers"] = transformers.__version__
            except Exception as exc:  # e.g. no tokenizer_config.json: the tokenizers values stand alone
                if self.raw is None:
                    raise
                print(f"WARNING: AutoTokenizer cannot load {folder} ({type(exc).__name__}: {exc}); "
                      "not compared", file=sys.stderr)
        if self.raw is None and self.auto is None:
            raise SystemExit("--offsets needs the tokenizers or the transformers package")
        self.library = "tokenizers" if self.raw is not None else "transformers"

    def encode(self, s, special):
        if self.raw is not None:
            e = self.raw.encode(s, add_special_tokens=special)
            return e.ids, [tuple(o) for o in e.offsets]
        return self.encode_auto(s, special)

    def encode_auto(self, s, special):
        a = self.auto(s, add_special_tokens=special, return_offsets_mapping=True)
        return ids_of(a["input_ids"]), [tuple(int(x) for x in o) for o in a["offset_mapping"]]

    def decode(self, ids, skip):
        return (self.raw or self.auto).decode(ids, skip_special_tokens=skip)


def build_offsets_fixture(name, folder):
    import hashlib
    with open(os.path.join(folder, "tokenizer.json"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    src = OffsetSource(folder)
    entries, mismatches = [], 0
    for i, s in enumerate(offsets_strings()):
        ids, offsets = src.encode(s, False)
        e = {"text": s, "ids": ids, "offsets": [x for o in offsets for x in o]}
        if i < OFFSETS_SPECIAL_FIRST:
            ids_special, offsets_special = src.encode(s, True)
            e["ids_special"] = ids_special
            e["offsets_special"] = [x for o in offsets_special for x in o]
        dec = src.decode(ids, False)
        if dec != s:
            e["decoded"] = dec
        dec_skip = src.decode(ids, True)
        if dec_skip != dec:
            e["decoded_skip"] = dec_skip
        if src.raw is not None and src.auto is not None:
            for special in (False, True):
                if src.encode_auto(s, special) != src.encode(s, special):
                    mismatches += 1
                    if mismatches <= 5:
                        print(f"WARNING: {name}: AutoTokenizer and tokenizers differ on string {i} "
                              f"(add_special_tokens={special}): {s[:60]!r}", file=sys.stderr)
        entries.append(e)
    return {
        "tokenizer": name,
        "library": src.library,
        "tokenizers": src.versions.get("tokenizers"),
        "transformers": src.versions.get("transformers"),
        "tokenizer_json_sha256": sha,
        "autotokenizer_mismatches": mismatches if src.raw is not None and src.auto is not None else None,
        "strings": entries,
    }


def write_offsets_fixtures(args):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.makedirs(args.out, exist_ok=True)
    for name, folder in (("qwen3", args.qwen3), ("llama3", args.llama)):
        if not folder:
            continue
        doc = build_offsets_fixture(name, folder)
        path = os.path.join(args.out, f"tokenizer_offsets_{name}.json")
        size = write_fixture(path, doc)
        if size > OFFSETS_SIZE_LIMIT:
            print(f"WARNING: {path} is {size} bytes, over {OFFSETS_SIZE_LIMIT}", file=sys.stderr)
        print(f"{path}: {len(doc['strings'])} strings ({doc['library']}), "
              f"{sum(len(e['ids']) for e in doc['strings'])} ids, "
              f"{doc['autotokenizer_mismatches']} AutoTokenizer mismatches, {size} bytes")
    return 0


# ---------------------------------------------------------------------------------------------
# Fixtures (transformers needed from here on)
# ---------------------------------------------------------------------------------------------

def ids_of(result):
    """Token ids from what apply_chat_template(tokenize=True) or a tokenizer call returned: a list, a
    dict/BatchEncoding (input_ids taken), a tensor/array, or a batch of one (flattened)."""
    if hasattr(result, "keys") and "input_ids" in result.keys():
        result = result["input_ids"]
    if hasattr(result, "tolist"):
        result = result.tolist()
    result = list(result)
    if len(result) == 1 and isinstance(result[0], (list, tuple)):
        result = list(result[0])
    if any(isinstance(x, (list, tuple)) for x in result):
        raise ValueError(f"expected one sequence of ids, got a batch of {len(result)}")
    return [int(x) for x in result]


def encode(tok, s, special):
    return ids_of(tok(s, add_special_tokens=special)["input_ids"])


def make_strings(tok, raw, corpus):
    """The "strings" section, and how many strings the plain tokenizers library encodes differently."""
    entries, mismatches = [], 0
    for i, (_, s) in enumerate(corpus):
        ids = encode(tok, s, False)
        e = {"text": s, "ids": ids}
        if i < IDS_SPECIAL_FIRST:
            e["ids_special"] = encode(tok, s, True)
        dec = tok.decode(ids)
        if dec != s:
            e["decoded"] = dec
        dec_skip = tok.decode(ids, skip_special_tokens=True)
        if dec_skip != dec:
            e["decoded_skip"] = dec_skip
        if raw is not None and raw.encode(s, add_special_tokens=False).ids != ids:
            mismatches += 1
            if mismatches <= 5:
                print(f"WARNING: AutoTokenizer and tokenizers.Tokenizer differ on string {i}: {s[:60]!r}",
                      file=sys.stderr)
        entries.append(e)
    return entries, mismatches


def special_id_lists(tok, name):
    """A few id lists that hold special/added tokens, for skip_special_tokens decodes."""
    if name == "qwen3":
        texts = ["<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
                 "<|im_start|>assistant\n<think>\nhmm\n</think>\n\nYes.<|im_end|><|endoftext|>",
                 "<tool_call>\n{\"name\": \"f\"}\n</tool_call><|im_end|>",
                 "<|vision_start|><|image_pad|><|vision_end|>caption<|fim_prefix|>x<|fim_suffix|>"]
    elif name == "llama2":
        texts = ["<s>Hi there</s>", "<s> [INST] Hello [/INST] Yes.</s><s>", "a<unk>b <s> c</s>", "<s><s> .,!? don't"]
    else:
        texts = ["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
                 "<|start_header_id|>assistant<|end_header_id|>\n\nYes.<|eot_id|><|end_of_text|>",
                 "a<|reserved_special_token_5|>b<|reserved_special_token_250|> c",
                 "<|begin_of_text|><|begin_of_text|> .,!? don't"]
    lists = [encode(tok, t, False) for t in texts]
    specials = sorted(set(int(i) for i in getattr(tok, "all_special_ids", [])))
    added = sorted(int(i) for i in getattr(tok, "added_tokens_decoder", {}).keys())
    lists.append(specials + encode(tok, " hello world", False) + specials[:2])
    lists.append(added[:40] + encode(tok, "ok", False))
    return lists


def make_token_decodes(tok, name, corpus, seed):
    rng = random.Random(seed ^ 0x70C)
    vocab = len(tok)
    out = []
    # (a) single ids: 0..299, 300 random ones over the whole vocabulary, every added token (<= 60).
    singles = list(range(min(vocab, 300)))
    singles += [rng.randrange(vocab) for _ in range(300)]
    added = sorted(int(i) for i in getattr(tok, "added_tokens_decoder", {}).keys())
    singles += added if len(added) <= 60 else added[:30] + rng.sample(added[30:], 30)
    for i in singles:
        out.append({"ids": [i], "text": tok.decode([i])})
    # (b) 100 multilingual/emoji strings cut into chunks of 1-3 ids, each chunk decoded alone.
    candidates = [s for cat, s in corpus if cat in MULTILINGUAL and s]
    picked = 0
    for s in rng.sample(candidates, len(candidates)):
        ids = encode(tok, s, False)
        if not 2 <= len(ids) <= 150:
            continue
        pos = 0
        while pos < len(ids):
            chunk = ids[pos:pos + rng.randint(1, 3)]
            out.append({"ids": chunk, "text": tok.decode(chunk)})
            pos += len(chunk)
        picked += 1
        if picked == 100:
            break
    # (c) id lists with special tokens, decoded with and without skip_special_tokens.
    for ids in special_id_lists(tok, name):
        out.append({"ids": ids, "text": tok.decode(ids)})
        out.append({"ids": ids, "skip_special_tokens": True, "text": tok.decode(ids, skip_special_tokens=True)})
    return out


def qwen_conversations():
    """(name, messages) pairs for the Qwen3 template."""
    think1 = "<think>\nThe user greets me. I should answer politely.\n</think>\n\nHello! How can I help?"
    think2 = "<think>\n\nTwo plus two is four.\n\n</think>\n\n\nIt is 4."
    return [
        ("single user", [{"role": "user", "content": "Hello! How are you?"}]),
        ("system + user", [{"role": "system", "content": "You are a helpful assistant."},
                           {"role": "user", "content": "What's 2+2?"}]),
        ("multi-turn", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                        {"role": "user", "content": "Tell me a joke."}]),
        ("think before last query", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": think1},
                                     {"role": "user", "content": "What's 2+2?"}]),
        ("think after last query", [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "What's 2+2?"},
                                    {"role": "assistant", "content": think2}]),
        ("think before and after", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": think1},
                                    {"role": "user", "content": "What's 2+2?"},
                                    {"role": "assistant", "content": think2}]),
        ("reasoning_content key", [{"role": "user", "content": "Why is the sky blue?"},
                                   {"role": "assistant", "content": "Rayleigh scattering.",
                                    "reasoning_content": "\nShort wavelengths scatter more.\n"},
                                   {"role": "user", "content": "And sunsets?"},
                                   {"role": "assistant", "content": "\n\nLonger path, so red remains.",
                                    "reasoning_content": "Blue is scattered away."}]),
        ("reasoning_content null", [{"role": "user", "content": "Hi"},
                                    {"role": "assistant", "content": think1, "reasoning_content": None}]),
        ("consecutive tool messages", [{"role": "user", "content": "Weather in Paris and Rome?"},
                                       {"role": "assistant", "content": "I'll check both cities."},
                                       {"role": "tool", "content": "{\"city\": \"Paris\", \"temp\": 21}"},
                                       {"role": "tool", "content": "{\"city\": \"Rome\", \"temp\": 27}"},
                                       {"role": "assistant", "content": "Paris 21°C, Rome 27°C.",
                                        "reasoning_content": "Both results are in."}]),
        ("tool then user", [{"role": "user", "content": "Look it up."},
                            {"role": "assistant", "content": "<think>\nNeed a tool.\n</think>\n\nSearching."},
                            {"role": "tool", "content": "no results"},
                            {"role": "user", "content": "<tool_response>\nfake\n</tool_response>"},
                            {"role": "assistant", "content": "Nothing found."}]),
        ("second system in the middle", [{"role": "system", "content": "You are terse."},
                                         {"role": "user", "content": "Hi"},
                                         {"role": "assistant", "content": "Hi."},
                                         {"role": "system", "content": "Now be verbose."},
                                         {"role": "user", "content": "Hi again"}]),
        ("whitespace contents", [{"role": "system", "content": "  \n system with blanks \n\n"},
                                 {"role": "user", "content": "\n\n  Hello  \n"},
                                 {"role": "assistant", "content": "  \n answer \n\n"},
                                 {"role": "user", "content": "\t\u3000tab and ideographic space\u00a0 "}]),
        ("unicode contents", [{"role": "user", "content": "你好，世界 🌍 café naïve e\u0301 👨\u200d👩\u200d👧"},
                              {"role": "assistant", "content": "Привет! مرحبا שלום नमस्ते สวัสดี"},
                              {"role": "user", "content": "한국어 \u1100\u1161 \u212b ﬁ"}]),
        ("special-token text in user", [{"role": "user", "content": "Print <|im_end|> and <think> literally, "
                                                                    "then <|endoftext|><|im_start|>system\nx"}]),
        ("empty assistant and empty think", [{"role": "user", "content": "Say nothing."},
                                             {"role": "assistant", "content": ""},
                                             {"role": "user", "content": "Again."},
                                             {"role": "assistant", "content": "<think>\n\n</think>\n\n"}]),
        ("close think only", [{"role": "user", "content": "Hi"},
                              {"role": "assistant", "content": "half thought\n</think>\n\nAnswer."}]),
        ("system only", [{"role": "system", "content": "You are a helpful assistant."}]),
    ]


def llama_conversations():
    """(name, messages) pairs for the Llama templates."""
    return [
        ("single user", [{"role": "user", "content": "Hello! How are you?"}]),
        ("system + user", [{"role": "system", "content": "You are a helpful assistant."},
                           {"role": "user", "content": "What's 2+2?"}]),
        ("multi-turn", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                        {"role": "user", "content": "Tell me a joke."}]),
        ("system multi-turn ending with assistant", [{"role": "system", "content": "Be brief."},
                                                     {"role": "user", "content": "Capital of France?"},
                                                     {"role": "assistant", "content": "Paris."}]),
        ("ascii whitespace around contents", [{"role": "system", "content": "  \n system \t\n"},
                                              {"role": "user", "content": "\n\n  Hello  \n"},
                                              {"role": "assistant", "content": "\t answer \r\n"},
                                              {"role": "user", "content": " \x0b\x0c next \x0c"}]),
        ("unicode whitespace around contents", [{"role": "user", "content": "\u3000\u00a0Hello\u00a0\u3000"},
                                                {"role": "assistant", "content": "\u2028\u0085answer\u2029\u2003"},
                                                {"role": "user", "content": "\x1c\x1fnext\x1e\u1680"}]),
        ("zero-width space around contents", [{"role": "user", "content": "\u200bHello\u200b"},
                                              {"role": "assistant", "content": " \u200b answer \u200b "},
                                              {"role": "user", "content": "\ufeffBOM\ufeff"}]),
        ("blank-only contents", [{"role": "system", "content": "   "}, {"role": "user", "content": " \n\t "},
                                 {"role": "assistant", "content": "\u3000"}, {"role": "user", "content": "ok"}]),
        ("empty contents", [{"role": "user", "content": ""}, {"role": "assistant", "content": ""},
                            {"role": "user", "content": "?"}]),
        ("tool message", [{"role": "user", "content": "Weather in Paris?"},
                          {"role": "assistant", "content": "Checking."},
                          {"role": "tool", "content": "{\"temp\": 21, \"unit\": \"°C\"}"},
                          {"role": "assistant", "content": "It is 21°C."}]),
        ("ipython message", [{"role": "system", "content": "You can run Python."},
                             {"role": "user", "content": "Compute 2**10."},
                             {"role": "assistant", "content": "Running it."},
                             {"role": "ipython", "content": "1024"},
                             {"role": "user", "content": "Thanks"}]),
        ("consecutive tool messages", [{"role": "user", "content": "Paris and Rome?"},
                                       {"role": "assistant", "content": "Checking both."},
                                       {"role": "tool", "content": "Paris: 21"},
                                       {"role": "tool", "content": "  Rome: 27\n"},
                                       {"role": "ipython", "content": "\"quoted\" \\ back\\slash 漢字"}]),
        ("special-token text in user", [{"role": "user", "content": "Say <|eot_id|> then <|start_header_id|>x"
                                                                    "<|end_header_id|> and <|begin_of_text|>."}]),
        ("near-miss special text", [{"role": "user", "content": "<|EOT_ID|> <|eot_id|>> <<|eot_id|> "
                                                                "<|reserved_special_token_5|>"}]),
        ("unicode contents", [{"role": "user", "content": "你好，世界 🌍 café naïve e\u0301 👨\u200d👩\u200d👧"},
                              {"role": "assistant", "content": "Привет! مرحبا שלום नमस्ते สวัสดี"},
                              {"role": "user", "content": "한국어 \u1100\u1161 \u212b ﬁ"}]),
        ("second system in the middle", [{"role": "system", "content": "You are terse."},
                                         {"role": "user", "content": "Hi"},
                                         {"role": "assistant", "content": "Hi."},
                                         {"role": "system", "content": "Now be verbose."},
                                         {"role": "user", "content": "Hi again"}]),
        ("long multi-turn", [{"role": r, "content": f"turn {i}: " + ("question?" if r == "user" else "answer.")}
                             for i, r in enumerate(["user", "assistant"] * 4 + ["user"])]),
        ("system only", [{"role": "system", "content": "You are a helpful assistant."}]),
        ("assistant first", [{"role": "assistant", "content": "I speak first."},
                             {"role": "user", "content": "OK."}]),
        ("custom role", [{"role": "user", "content": "Narrate."}, {"role": "narrator", "content": "Once upon a time"}]),
        ("internal newlines", [{"role": "user", "content": "line one\n\nline two\r\nline three\n"},
                               {"role": "assistant", "content": "a\n\n\nb"}]),
        ("code content", [{"role": "user", "content": "```c\nint main(void) {\n\treturn 0;\n}\n```\n"},
                          {"role": "assistant", "content": "    def f(x):\n        return x  \n"}]),
        ("numbers and punctuation", [{"role": "user", "content": "1234567890123 , . ! ? don't I'LL 3.14159"}]),
        ("user content ending with blank lines", [{"role": "user", "content": "Question?\n\n\n"},
                                                  {"role": "assistant", "content": "\n\nAnswer."},
                                                  {"role": "user", "content": "   "}]),
    ]


def render_chat(tok, messages, add_generation_prompt, enable_thinking):
    """(text, ids) from apply_chat_template; enable_thinking None means the kwarg is not passed."""
    kw = {"add_generation_prompt": add_generation_prompt}
    if enable_thinking is not None:
        kw["enable_thinking"] = enable_thinking
    text = tok.apply_chat_template(messages, tokenize=False, **kw)
    ids = ids_of(tok.apply_chat_template(messages, tokenize=True, **kw))
    return text, ids


def make_chats(tok, name, llama31_template):
    """The "chats" section: every conversation with every add_generation_prompt / enable_thinking."""
    out = []
    if name == "qwen3":
        variants = [("default", None, qwen_conversations(), [True, False, None])]
    else:
        variants = [("default", None, llama_conversations(), [None])]
        if llama31_template is not None:
            variants.append(("llama31", llama31_template, llama_conversations(), [None]))
    original = tok.chat_template
    for template_name, template_text, convs, thinking in variants:
        tok.chat_template = template_text if template_text is not None else original
        for conv_name, messages in convs:
            for agp in (True, False):
                for et in thinking:
                    try:
                        text, ids = render_chat(tok, messages, agp, et)
                    except Exception as exc:  # a template may reject a conversation: record nothing
                        print(f"WARNING: {name} {template_name} '{conv_name}' agp={agp} thinking={et}: "
                              f"{type(exc).__name__}: {exc}", file=sys.stderr)
                        continue
                    if encode(tok, text, False) != ids:
                        print(f"WARNING: {name} {template_name} '{conv_name}': tokenize=True ids differ from "
                              "tokenizing the rendered text", file=sys.stderr)
                    out.append({"name": conv_name, "messages": messages, "add_generation_prompt": agp,
                                "enable_thinking": et, "template": template_name, "text": text, "ids": ids})
    tok.chat_template = original
    return out


WARMUP_EXPECTED = {("qwen3", False): 7, ("qwen3", True): 3, ("llama3", None): 4}


def make_warmup(tok, name, llama31_template):
    """Tokens that add_generation_prompt adds to a one-message conversation."""
    msgs = [{"role": "user", "content": "Hi"}]
    if name == "qwen3":
        cases = [("default", None, False), ("default", None, True)]
    else:
        cases = [("default", None, None)]
        if llama31_template is not None:
            cases.append(("llama31", llama31_template, None))
    original = tok.chat_template
    out = []
    for template_name, template_text, et in cases:
        tok.chat_template = template_text if template_text is not None else original
        n1 = len(render_chat(tok, msgs, True, et)[1])
        n2 = len(render_chat(tok, msgs, False, et)[1])
        out.append({"template": template_name, "enable_thinking": et, "with_prompt_len": n1,
                    "without_prompt_len": n2, "auto": n1 - n2})
        want = WARMUP_EXPECTED[(name, et)]
        if n1 - n2 != want:
            print(f"WARNING: warmup {name} {template_name} enable_thinking={et}: add_generation_prompt adds "
                  f"{n1 - n2} tokens, expected {want}", file=sys.stderr)
    tok.chat_template = original
    return out


def write_fixture(path, doc):
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    size = os.path.getsize(path)
    if size > SIZE_LIMIT:
        print(f"WARNING: {path} is {size} bytes, over {SIZE_LIMIT}", file=sys.stderr)
    return size


def build_fixture(name, folder, corpus, llama31_template, transformers, tokenizers):
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    raw_path = os.path.join(folder, "tokenizer.json")
    raw = tokenizers.Tokenizer.from_file(raw_path) if os.path.exists(raw_path) else None
    strings, mismatches = make_strings(tok, raw, corpus)
    if mismatches:
        print(f"WARNING: {name}: {mismatches} strings encode differently in AutoTokenizer and tokenizers",
              file=sys.stderr)
    return {
        "tokenizer": name,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "tokenizer_class": type(tok).__name__,
        "raw_tokenizers_mismatches": mismatches,
        "strings": strings,
        "string_categories": [cat for cat, _ in corpus],
        "token_decodes": make_token_decodes(tok, name, corpus, SEED),
        "chats": make_chats(tok, name, llama31_template),
        "warmup": make_warmup(tok, name, llama31_template),
    }


class RawTokenizer:
    """tokenizers.Tokenizer with the few transformers calls make_token_decodes makes."""

    def __init__(self, raw):
        self.raw, self.added_tokens_decoder = raw, raw.get_added_tokens_decoder()
        self.all_special_ids = sorted(i for i, t in self.added_tokens_decoder.items() if t.special)

    def __len__(self):
        return self.raw.get_vocab_size(with_added_tokens=True)

    def __call__(self, s, add_special_tokens=True):
        return {"input_ids": self.raw.encode(s, add_special_tokens=add_special_tokens).ids}

    def decode(self, ids, skip_special_tokens=False):
        return self.raw.decode(ids, skip_special_tokens=skip_special_tokens)


def build_llama2_fixture(folder, transformers, tokenizers):
    import hashlib
    path = os.path.join(folder, "tokenizer.json")
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    raw = tokenizers.Tokenizer.from_file(path)
    auto = transformers.AutoTokenizer.from_pretrained(folder)
    entries, mismatches = [], 0
    for i, s in enumerate(llama2_strings()):
        plain, special = raw.encode(s, add_special_tokens=False), raw.encode(s)
        e = {"text": s, "ids": plain.ids, "offsets": [x for o in plain.offsets for x in o]}
        if i < IDS_SPECIAL_FIRST:
            e["ids_special"] = special.ids
            e["offsets_special"] = [x for o in special.offsets for x in o]
            e["decoded_special"] = raw.decode(special.ids)
        dec = raw.decode(plain.ids)
        if dec != s:
            e["decoded"] = dec
        dec_skip = raw.decode(plain.ids, skip_special_tokens=True)
        if dec_skip != dec:
            e["decoded_skip"] = dec_skip
        a = auto(s, return_offsets_mapping=True)
        if ids_of(a["input_ids"]) != special.ids or [tuple(o) for o in a["offset_mapping"]] != [tuple(o) for o in special.offsets]:
            mismatches += 1
            if mismatches <= 5:
                print(f"WARNING: llama2: AutoTokenizer and tokenizers differ on string {i}: {s[:60]!r}", file=sys.stderr)
        entries.append(e)
    return {
        "tokenizer": os.path.basename(os.path.normpath(folder)),
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "tokenizer_json_sha256": sha,
        "autotokenizer_class": type(auto).__name__,
        "autotokenizer_mismatches": mismatches,
        "strings": entries,
        "token_decodes": make_token_decodes(RawTokenizer(raw), "llama2", build_corpus(), SEED),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qwen3", help="folder with the Qwen3 tokenizer.json + tokenizer_config.json")
    ap.add_argument("--llama", help="folder with the Llama-3.1 tokenizer.json + tokenizer_config.json")
    ap.add_argument("--llama31-template", help="a Llama-3.1 chat template (Jinja) to render the Llama chats with too")
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--llama2", help="folder with Llama-2-7b's tokenizer.json + tokenizer_config.json")
    ap.add_argument("--corpus-only", action="store_true", help="print the corpus statistics and exit")
    ap.add_argument("--llama2-strings", help="write the Llama-2 string set to this file (JSON) and exit")
    ap.add_argument("--offsets", action="store_true",
                    help="write only tokenizer_offsets_{qwen3,llama3}.json (needs tokenizers or transformers)")
    ap.add_argument("--offsets-strings", help="write the offset fixtures' string set to this file (JSON) and exit")
    args = ap.parse_args()
    if args.offsets_strings:
        with open(args.offsets_strings, "w", encoding="utf-8") as f:
            json.dump(offsets_strings(), f, ensure_ascii=False)
        return 0
    if args.offsets:
        if not (args.out and (args.qwen3 or args.llama)):
            ap.error("--offsets needs --out and --qwen3 and/or --llama")
        return write_offsets_fixtures(args)
    if args.llama2_strings:
        with open(args.llama2_strings, "w", encoding="utf-8") as f:
            json.dump(llama2_strings(), f, ensure_ascii=False)
        return 0

    corpus = build_corpus()
    print("corpus categories:", file=sys.stderr)
    print_corpus_stats(corpus)
    if args.corpus_only:
        return 0
    if not (args.out and (args.llama2 or (args.qwen3 and args.llama))):
        ap.error("--out and either --qwen3 and --llama, or --llama2, are required")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import tokenizers
    import transformers

    llama31 = None
    if args.llama31_template:
        with open(args.llama31_template, encoding="utf-8") as f:
            llama31 = f.read()
    os.makedirs(args.out, exist_ok=True)
    if args.llama2:
        doc = build_llama2_fixture(args.llama2, transformers, tokenizers)
        path = os.path.join(args.out, f"tokenizer_{doc['tokenizer']}.json")
        size = write_fixture(path, doc)
        print(f"{path}: {len(doc['strings'])} strings, {len(doc['token_decodes'])} token_decodes, "
              f"{doc['autotokenizer_mismatches']} AutoTokenizer mismatches ({doc['autotokenizer_class']}), "
              f"{size} bytes ({size / 2 ** 20:.2f} MiB)")
    for name, folder in (("qwen3", args.qwen3), ("llama3", args.llama)):
        if not folder:
            continue
        doc = build_fixture(name, folder, corpus, llama31, transformers, tokenizers)
        path = os.path.join(args.out, f"tokenizer_{name}.json")
        size = write_fixture(path, doc)
        strings = doc["strings"]
        print(f"{path}: {len(strings)} strings ({sum('ids_special' in e for e in strings)} with ids_special, "
              f"{sum('decoded' in e for e in strings)} with decoded, "
              f"{sum('decoded_skip' in e for e in strings)} with decoded_skip, "
              f"{sum(len(e['ids']) for e in strings)} ids), {len(doc['token_decodes'])} token_decodes, "
              f"{len(doc['chats'])} chats, warmup {[w['auto'] for w in doc['warmup']]}, "
              f"{doc['raw_tokenizers_mismatches']} raw mismatches, {size} bytes ({size / 2 ** 20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
