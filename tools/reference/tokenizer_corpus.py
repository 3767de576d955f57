"""The deterministic tokenizer corpus (written to tokenizers/corpus.json). Invisible characters are
spelled as escapes so this file stays readable."""

from __future__ import annotations

SINGLES: list[str] = [
    # plain
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "I can't believe it's not butter!",
    "She said: \"well, that's that.\"",
    "Transformers provide thousands of pretrained models.",
    "unaffable unbelievably tokenization",
    "hello    world",
    "  leading and trailing spaces  ",
    "tab\tseparated\tvalues",
    "new\nline\nseparated",
    "carriage\r\nreturn",
    "HELLO World",
    "iPhone McDonald's O'Neil's",
    "don't won't shouldn't I'm you're",
    # accents and case
    "Café",
    "naïve résumé façade",
    "Ångström Zoë Øresund",
    "ÉCOLE ÀÉÎÕÜ",
    "e\u0301 decomposed accent",
    "\u0301 lone combining mark",
    "İstanbul",
    "ΣΑΣ and σας",
    "Straße STRASSE ß ẞ",
    "ǅemal ǆ",
    "\u212b angstrom sign",
    "ﬁnance ﬀ ligatures",
    "Ｈｅｌｌｏ ＡＢＣ１２３ fullwidth",
    "crème brûlée à la mode",
    "Dvořák Łódź Ørsted",
    # CJK and other scripts
    "東京は日本の首都です",
    "我爱自然语言处理",
    "中文English混合text",
    "안녕하세요 세계",
    "ひらがなとカタカナ",
    "漢字かな交じり文",
    "Привет мир",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Hello世界123",
    "English中文Русский",
    "𠀀𠀁 CJK extension B",
    "\u3000ideographic\u3000space",
    # emojis
    "🙂",
    "I ❤️ NY",
    "👍🏽 thumbs",
    "👨\u200d👩\u200d👧 family",
    "🇫🇷🇩🇪 flags",
    "emoji🙂inside",
    "🙂🙂🙂",
    "★☆✓✗",
    # control, zero-width, special whitespace
    "\x00null char",
    "bell\x07char",
    "del\x7fchar",
    "next\u0085line",
    "zero\u200bwidth\u200bspace",
    "joiner\u200dand\u200cnon-joiner",
    "\ufeffbyte order mark",
    "soft\u00adhyphen",
    "line\u2028separator",
    "no\xa0break\xa0space",
    "thin\u2009space",
    "\x01\x02\x03",
    "\ufffd replacement",
    "a\x0bb\x0cc",
    # empty and whitespace only
    "",
    " ",
    "   ",
    "\t\n",
    "\u3000",
    "\xa0",
    "\u200b",
    # very long words
    "a" * 100,
    "b" * 101,
    "supercalifragilisticexpialidocious" * 4,
    "x" * 150 + " short",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism" + "ism" * 30,
    "ab" * 60 + " tail",
    # punctuation runs
    "!!!???...",
    "--==>>",
    "(((nested)))",
    "\u201csmart quotes\u201d and \u2018single\u2019",
    "\u2014em-dash\u2014 \u2013en-dash\u2013",
    "¿Qué? ¡Hola!",
    "$100.00 €50 £20 ¥1000",
    "@user #hashtag",
    "http://example.com/path?x=1&y=2",
    "e-mail@example.com",
    "C++ & C#",
    "~`^|\\",
    "a.b,c;d:e",
    "...",
    "Wait... what?!",
    "«guillemets» „low quotes“",
    "【brackets】「corner」",
    "。、！？",
    # numbers
    "12345",
    "3.14159",
    "1,000,000",
    "2024-01-01T12:30:00",
    "1e-10",
    "٣٤٥ arabic digits",
    "½ ¾ ⅓",
    "①②③",
    "Ⅻ Ⅳ",
    "²³ superscripts",
    "0x1F 0b1010",
    "phone: +1 (555) 123-4567",
    # special-token text
    "[MASK]",
    "Paris is the [MASK] of France.",
    "[CLS] hello [SEP] world [SEP]",
    "[PAD][PAD]",
    "[UNK]",
    "[mask] lowercase",
    "[ MASK ]",
    "[MASK][MASK]",
    "a[SEP]b",
    "<s> </s> <pad>",
    "[MASK]ed",
    "the [MASK]",
    # mixed
    "Mixed ɪᴘᴀ ʃ ŋ",
    "math: ∑∫√∞≠≤ α+β=γ",
    "code: def f(x): return x**2",
    "path/to/file.txt",
    "C:\\Windows\\System32",
    "snake_case camelCase kebab-case",
    "#include <stdio.h>",
    "<html><body>text</body></html>",
    "key=value; other='quoted'",
    "multiple\n\n\nnewlines",
    "Mr. Smith went to Washington D.C. in 1999.",
    "U.S.A. vs. U.K.",
    "The year 2000's problem",
    "rock 'n' roll",
    "l'homme d'état",
    "Ich heiße Müller und wohne in Köln.",
    "Él está aquí también.",
    "Ça va très bien, merci.",
    "Ñandú pingüino",
    "Tiếng Việt có dấu",
    "Türkçe ığüşöç",
    "Polski: zażółć gęślą jaźń",
    "한국어와 English 혼합",
    "Καλημέρα! Πώς είσαι;",
    "русский ТЕКСТ с Ёлкой",
]

PAIRS: list[tuple[str, str]] = [
    ("Hello, world!", "How are you?"),
    ("What is the capital of France?", "Paris is the capital of France."),
    ("", "second only"),
    ("first only", ""),
    ("", ""),
    ("Café au lait", "naïve résumé"),
    ("東京は", "日本の首都です"),
    ("🙂", "👍🏽 thumbs"),
    ("a" * 120, "short"),
    ("[MASK] token", "[SEP] inside"),
    ("zero\u200bwidth", "soft\u00adhyphen"),
    ("one two three four five six seven eight nine ten", "eleven twelve"),
    ("alpha", "beta gamma delta epsilon zeta eta theta iota kappa lambda mu"),
    ("The quick brown fox jumps over the lazy dog.", "The lazy dog sleeps under the quick brown fox."),
    ("unaffable unbelievably", "tokenization"),
    ("Привет мир", "Γειά σου Κόσμε"),
    ("   ", "whitespace first"),
    ("numbers 1,000,000", "3.14159 and 2024-01-01"),
    ("HELLO World", "hello WORLD"),
    ("question?", "answer!"),
]

# Pairs long enough for truncation at a small max_length.
TRUNCATION_PAIRS: list[tuple[str, str]] = [
    ("one two three four five six seven eight nine ten", "eleven twelve"),
    ("alpha", "beta gamma delta epsilon zeta eta theta iota kappa lambda mu"),
    ("The quick brown fox jumps over the lazy dog.", "The lazy dog sleeps under the quick brown fox."),
    ("unaffable unbelievably tokenization", "unaffable unbelievably tokenization"),
    ("a b c d e f", "g h i j k l"),
    ("short", "tiny"),
]

TRUNCATION_SINGLES: list[str] = [
    "one two three four five six seven eight nine ten eleven twelve thirteen",
    "The quick brown fox jumps over the lazy dog.",
    "unaffable unbelievably tokenization",
    "short",
]

BATCH: list[str] = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "东京 Café 🙂",
    "a",
]

# Text for the added-token cases.
ADDED_TOKEN_TEXTS: list[str] = [
    "a newword here",
    "NewWord and NEWWORD",
    "newwords newword.",
    "x   lstriptok   y",
    "x   rstriptok   y",
    "single singled unsingle single.",
    "Hello World and hello world",
    "a<special1>b <special1> c",
    "[NEW] thing[NEW]",
    "[new] lower",
    "<SPECIAL1>",
    "newword[MASK]lstriptok",
    "mix 東京newword🙂",
]

CTC_TEXTS: list[str] = [
    "HELLO WORLD",
    "hello world",
    "IT'S A TEST",
    "",
    "A  B",
    " LEADING AND TRAILING ",
    "ÉCOLE",
    "HELLO|WORLD",
    "MIXED Case",
]

# Byte-level BPE and sentencepiece cases (gen_bpe_tokenizers.py): the singles plus what those tokenizers treat
# specially: whitespace runs and kinds, contractions in any case, digit runs, emoji sequences, control
# characters, invalid surrogate-free edge text, and the special/added tokens of the tiny vocabularies.
BPE_TEXTS: list[str] = [
    *SINGLES,
    "",
    " ",
    "   ",
    "\n",
    "\n\n\nthree newlines",
    "line one\r\nline two\rline three",
    "trailing spaces   \n  and more\t\t\n",
    "a\u3000ideographic\u00a0nbsp\u2009thin\u202fnarrow",
    "\x1c\x1d\x1e\x1f unit separators",
    "CAN'T WON'T It'S We'RE they'LL I'D",
    "1234567890 3.14159 1,000,000 ½ ² Ⅻ ٣",
    "emoji 👩\u200d👩\u200d👧\u200d👦 family 🇫🇷 flag 👍🏽 skin",
    "zero\u200bwidth\u200cjoiner\u200d",
    "<|endoftext|>",
    "Hello<|endoftext|>World",
    "before <|endoftext|> after",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "a <|im_start|>b<|im_end|>",
    "<s>already bos</s> and eos",
    "x</s>y <unk> z",
    "▁already▁spaced▁text",
    "code: def f(x):\n    return x ** 2  # square\n",
    "{\"json\": [1, 2, 3], \"key\": null}",
    "Ａｂｃ ﬁ ﬀ e\u0301 é",
]

# Words and phrases added with add_tokens/add_special_tokens in the added-token variants.
BPE_ADDED_TEXTS: list[str] = [
    "a newword here",
    "newwords newword.",
    "x   lstriptok   y",
    "x   rstriptok   y",
    "<pad> padded",
    "<extra_1>inside<extra_1>",
    "mix 東京newword🙂<extra_1>",
]


def bpe_training_corpus() -> list[str]:
    """Deterministic training text for the tiny BPE and sentencepiece vocabularies (never random)."""
    lines = []
    for round_ in range(6):
        for i, text in enumerate(SINGLES):
            lines.append(text if (i + round_) % 3 else text.lower())
    lines += ["the quick brown fox jumps over the lazy dog"] * 20
    lines += ["Hello world! How are you today? I'm fine, thanks."] * 10
    return lines
